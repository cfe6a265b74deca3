package web

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/items/qti"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// Item bank import and export: QTI 3.0 and 2.1 content packages, and CSV
// banks of choice items. An import is all or nothing, and its items arrive
// as drafts that go through review like any other.

// maxImportBytes bounds an uploaded package or CSV file. Other requests
// keep the 1 MiB limit of every JSON body (see bodyLimit).
const maxImportBytes = 20 << 20

// upload is a file sent for import: the raw body of an API call, or the
// "file" field of a page's multipart form.
type upload struct {
	name string
	data []byte
}

// readUpload returns the uploaded file of c.
func readUpload(c *fiber.Ctx) (upload, error) {
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEMultipartForm) {
		fh, err := c.FormFile("file")
		if err != nil {
			return upload{}, &badRequest{field: "file", message: "choose a QTI package (.zip) or a CSV file"}
		}
		if fh.Size > maxImportBytes {
			return upload{}, &tooLarge{field: "file", limit: maxImportBytes}
		}
		f, err := fh.Open()
		if err != nil {
			return upload{}, err
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxImportBytes+1))
		if err != nil {
			return upload{}, err
		}
		return upload{name: fh.Filename, data: data}, nil
	}
	if len(c.Body()) == 0 {
		return upload{}, &badRequest{field: "body", message: "send the QTI package or the CSV file as the body"}
	}
	return upload{data: c.Body()}, nil
}

// isZip reports whether data starts like a zip archive.
func isZip(data []byte) bool { return bytes.HasPrefix(data, []byte("PK\x03\x04")) }

// parseImport reads a QTI package or a CSV bank into store imports.
// format is "qti", "csv" or "" (told apart by the zip signature).
func parseImport(format string, data []byte) ([]items.Imported, error) {
	if format == "" {
		format = "csv"
		if isZip(data) {
			format = "qti"
		}
	}
	var list []qti.Item
	var err error
	switch format {
	case "qti":
		list, err = qti.Import(bytes.NewReader(data), int64(len(data)))
	case "csv":
		list, err = qti.ImportCSV(bytes.NewReader(data))
	default:
		return nil, &badRequest{field: "format", message: "must be qti or csv"}
	}
	if err != nil {
		return nil, err
	}
	out := make([]items.Imported, len(list))
	for i, it := range list {
		out[i] = items.Imported{Key: it.Identifier, Content: it.Content, Enemies: it.Enemies}
		if it.IRT != nil {
			model := "3PL"
			if it.IRT.C == 0 {
				model = "2PL"
			}
			p := items.Params{Model: model, A: it.IRT.A, B: it.IRT.B, C: it.IRT.C}
			if it.Statistics != nil {
				p.N = it.Statistics.N
			}
			out[i].Params = &p
		}
	}
	return out, nil
}

// importItems parses an upload and adds its items to the program.
func (s *Server) importItems(c *fiber.Ctx, programID, format string, up upload) ([]items.Item, error) {
	if programID == "" {
		return nil, &badRequest{field: "program", message: "name the program the items belong to"}
	}
	if format == "" {
		switch n := strings.ToLower(up.name); {
		case strings.HasSuffix(n, ".zip"):
			format = "qti"
		case strings.HasSuffix(n, ".csv"):
			format = "csv"
		}
	}
	list, err := parseImport(format, up.data)
	if err != nil {
		return nil, err
	}
	return s.cfg.Items.Import(c.UserContext(), currentUser(c).ID, programID, list)
}

func (s *Server) apiImportItems(c *fiber.Ctx) error {
	up, err := readUpload(c)
	if err != nil {
		return err
	}
	imported, err := s.importItems(c, c.Query("program"), c.Query("format"), up)
	if err != nil {
		return err
	}
	list := make([]fiber.Map, len(imported))
	for i, it := range imported {
		list[i] = itemJSON(it)
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"imported": len(list), "items": list})
}

// postImportItems is the bank page's import form; errors are shown on the
// page, with the file and line at fault.
func (s *Server) postImportItems(c *fiber.Ctx) error {
	up, err := readUpload(c)
	if err == nil {
		var imported []items.Item
		imported, err = s.importItems(c, c.FormValue("program_id"), "", up)
		if err == nil {
			return c.Redirect("/authoring/items?status=draft&imported="+strconv.Itoa(len(imported)), fiber.StatusSeeOther)
		}
	}
	status, body := classify(err)
	if status >= 500 {
		return err
	}
	msg := body.Message
	if body.Field != "" && body.Code != "invalid_package" {
		msg = body.Field + ": " + msg
	}
	c.Status(status)
	return s.renderBank(c, "Nothing was imported. "+msg)
}

// exportFormats maps the export's format parameter to a QTI version.
var exportFormats = map[string]qti.Version{"qti30": qti.QTI30, "qti3": qti.QTI30, "qti21": qti.QTI21}

// apiExportItems answers the items the list filters select, at their
// working versions with their metadata, as a QTI content package.
func (s *Server) apiExportItems(c *fiber.Ctx) error {
	ctx := c.UserContext()
	version, ok := exportFormats[c.Query("format", "qti30")]
	if !ok {
		return &badRequest{field: "format", message: "must be qti30 or qti21"}
	}
	f, err := s.itemFilter(c)
	if err != nil {
		return err
	}
	f.Offset, f.Limit = 0, items.MaxLimit
	var all []items.Item
	for {
		page, err := s.cfg.Items.List(ctx, f)
		if err != nil {
			return err
		}
		all = append(all, page.Items...)
		f.Offset += len(page.Items)
		if len(page.Items) == 0 || f.Offset >= page.Total {
			break
		}
		if len(all) > items.MaxImport {
			return &badRequest{field: "filter", message: fmt.Sprintf("selects more than %d items; narrow it", items.MaxImport)}
		}
	}
	if len(all) == 0 {
		return &badRequest{field: "filter", message: "selects no item"}
	}
	ids := make([]string, len(all))
	for i, it := range all {
		ids[i] = it.ID
	}
	enemies, err := s.cfg.Items.Enemies(ctx, ids)
	if err != nil {
		return err
	}
	names := s.names(ctx)
	list := make([]qti.Item, len(all))
	for i, it := range all {
		author, err := names.of(it.AuthorID)
		if err != nil {
			return err
		}
		list[i] = qti.Item{Identifier: it.ID, Title: plainExcerpt(it.Stem, 60), Content: it.Content,
			Status: it.Status, Version: it.Version, Author: author, Enemies: enemies[it.ID]}
		if p := it.Params; p != nil {
			list[i].IRT = &psychometrics.Item3PL{A: p.A, B: p.B, C: p.C}
		}
	}
	var buf bytes.Buffer
	if err := qti.Export(&buf, version, list); err != nil {
		return err
	}
	name := "touchstone-items-qti" + strings.ReplaceAll(string(version), ".", "") + ".zip"
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Send(buf.Bytes())
}
