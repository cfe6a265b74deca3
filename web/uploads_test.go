package web_test

import (
	"archive/zip"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"hash/crc32"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/items/qti"
	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// Hostile uploads: what a browser would run if the server ever served them
// back as they came, each labelled as the image or file the route wants.
const (
	hostileHTML = "<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
	hostileSVG  = `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(document.cookie)</script></svg>`
)

// pixelFloodPNG is a decompression bomb: a PNG of a few kilobytes whose
// header declares side × side pixels (50,000² would decode to 10 GB), with
// enough compressed zero rows behind it to look real.
func pixelFloodPNG(t *testing.T, side uint32) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(kind string, data []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(data)))
		out.Write(n[:])
		crc := crc32.NewIEEE()
		crc.Write([]byte(kind))
		crc.Write(data)
		out.WriteString(kind)
		out.Write(data)
		binary.BigEndian.PutUint32(n[:], crc.Sum32())
		out.Write(n[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], side)
	binary.BigEndian.PutUint32(ihdr[4:], side)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	var idat bytes.Buffer
	zw := zlib.NewWriter(&idat)
	row := make([]byte, 1+3*int(side))
	for range 64 {
		if _, err := zw.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// pixelFloodJPEG is a real JPEG whose frame header is rewritten to claim
// side × side pixels.
func pixelFloodJPEG(t *testing.T, side uint16) []byte {
	t.Helper()
	jpg := bytes.Clone(captureImage(t, "jpeg"))
	at := bytes.Index(jpg, []byte{0xff, 0xc0}) // start of frame, baseline
	if at < 0 {
		t.Fatal("the test JPEG has no SOF0 marker")
	}
	binary.BigEndian.PutUint16(jpg[at+5:], side)
	binary.BigEndian.PutUint16(jpg[at+7:], side)
	return jpg
}

// truncatedJPEG cuts jpg halfway through its scan: its header is whole,
// so only decoding the pixels finds the cut.
func truncatedJPEG(t *testing.T, jpg []byte) []byte {
	t.Helper()
	sos := bytes.Index(jpg, []byte{0xff, 0xda}) // start of scan
	if sos < 0 {
		t.Fatal("the test JPEG has no SOS marker")
	}
	return jpg[:sos+(len(jpg)-sos)/2]
}

// uploadCase is one upload and the answer it must get.
type uploadCase struct {
	name        string
	contentType string
	body        []byte
	status      int
	code, field string
	says        string // a part of the error's message, when it must locate the fault
}

// imageCases are the cases every image route must answer alike; valid
// (of type validType) comes last, as the one accepted.
func imageCases(t *testing.T, valid []byte, validType string) []uploadCase {
	jpg, pngImg := captureImage(t, "jpeg"), captureImage(t, "png")
	bad := func(name, ct string, body []byte) uploadCase {
		return uploadCase{name, ct, body, http.StatusUnprocessableEntity, "invalid", "image", ""}
	}
	return []uploadCase{
		{"over the bound", "image/jpeg", append(bytes.Clone(jpg), make([]byte, proctor.MaxImageBytes)...),
			http.StatusRequestEntityTooLarge, "request_entity_too_large", "image", "2 MiB"},
		bad("HTML sent as a JPEG", "image/jpeg", []byte(hostileHTML)),
		bad("SVG sent as a JPEG", "image/jpeg", []byte(hostileSVG)),
		bad("SVG sent as SVG", "image/svg+xml", []byte(hostileSVG)),
		bad("HTML behind a JPEG's first bytes", "image/jpeg", append([]byte{0xff, 0xd8, 0xff, 0xe0}, hostileHTML...)),
		bad("pixel flood PNG, 50,000 × 50,000", "image/png", pixelFloodPNG(t, 50_000)),
		bad("pixel flood JPEG, 50,000 × 50,000", "image/jpeg", pixelFloodJPEG(t, 50_000)),
		bad("truncated JPEG", "image/jpeg", truncatedJPEG(t, jpg)),
		bad("truncated PNG", "image/png", pngImg[:len(pngImg)*2/3]),
		bad("empty", "image/jpeg", nil),
		{"valid " + validType, validType, valid, http.StatusCreated, "", "", ""},
	}
}

// countRows counts the rows of table.
func countRows(t *testing.T, f *webtest.Fixture, table string) int64 {
	t.Helper()
	var n int64
	if err := f.DB.WithContext(context.Background()).Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// checkUploads sends each case with send and checks the answer; every
// refused upload must leave table as it was, the accepted one add a row.
func checkUploads(t *testing.T, f *webtest.Fixture, table string, cases []uploadCase, send func(c uploadCase) *http.Request) *webtest.Response {
	t.Helper()
	var accepted *webtest.Response
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := countRows(t, f, table)
			resp := apiCall(t, f, send(c))
			if c.code == "" {
				wantAPIStatus(t, resp, c.status)
				accepted = resp
			} else {
				wantAPIError(t, resp, c.status, c.code, c.field)
			}
			if !bytes.Contains(resp.Body, []byte(c.says)) {
				t.Errorf("the answer does not say %q: %s", c.says, resp.Body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("answered as %q, want JSON", ct)
			}
			want := before
			if c.code == "" {
				want++
			}
			if after := countRows(t, f, table); after != want {
				t.Errorf("%s: %d rows after, want %d", table, after, want)
			}
		})
	}
	return accepted
}

// checkServedImage fetches an accepted image and checks how it is served:
// its own raster type, never sniffed, shown inline, never HTML or SVG.
func checkServedImage(t *testing.T, f *webtest.Fixture, token, id, wantType string, want []byte) {
	t.Helper()
	resp := apiCall(t, f, apiReq("GET", "/api/v1/snapshots/"+id, token, nil))
	wantAPIStatus(t, resp, http.StatusOK)
	h := resp.Header
	if got := h.Get("Content-Type"); got != wantType {
		t.Errorf("snapshot %s served as %q, want %q", id, got, wantType)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("snapshot %s: X-Content-Type-Options %q, want nosniff", id, got)
	}
	if got := h.Get("Content-Disposition"); got != "inline" {
		t.Errorf("snapshot %s: Content-Disposition %q, want inline", id, got)
	}
	if !bytes.Equal(resp.Body, want) {
		t.Errorf("snapshot %s: served %d bytes, not the %d uploaded", id, len(resp.Body), len(want))
	}
}

// TestUploads sends every route that takes a file the same hostile set —
// over its bound, HTML or SVG dressed as what the route wants, pixel
// floods, truncated images, archives that climb out or explode, CSV that
// is not UTF-8 or too long — and one valid file. Each refusal names the
// field and stores nothing; what is stored is served back with a fixed
// safe type, nosniff, and as a download where it is one.
func TestUploads(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		cand, cand2 := f.Token(t, f.Users.Candidate), f.Token(t, f.Users.Candidate2)
		proctorToken := f.Token(t, f.Users.Proctor)
		jpg, pngImg := captureImage(t, "jpeg"), captureImage(t, "png")

		// A passed attempt's credential, to download; Candidate's attempt
		// takes snapshots; then the exam asks for a check-in, which
		// Candidate2 opens.
		passer := f.NewUser(t, "", "Paz Passer", auth.Candidate)
		credID := *apiPass(t, f, passer).CredentialID
		if _, err := f.Assess.SetProctoring(ctx, f.Users.Manager.ID, f.Exam.ID, assess.ProctoringPolicy{SnapshotSeconds: 30}); err != nil {
			t.Fatal(err)
		}
		attempt := apiStart(t, f, cand)
		checkinPolicy(t, f, assess.AdmitByProctor)
		resp := apiCall(t, f, apiReq("POST", "/api/v1/exams/"+f.Exam.ID+"/checkins", cand2, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		checkinID := checkinDecode(t, resp).ID

		t.Run("POST /api/v1/attempts/:id/snapshots", func(t *testing.T) {
			ok := checkUploads(t, f, "proctor_snapshots", imageCases(t, jpg, "image/jpeg"), func(c uploadCase) *http.Request {
				return captureUpload(attempt.ID, "faces=1", cand, c.contentType, c.body)
			})
			if ok == nil {
				t.Fatal("no snapshot was accepted")
			}
			var snap captureReceipt
			ok.JSON(t, &snap)
			checkServedImage(t, f, proctorToken, snap.ID, "image/jpeg", jpg)
		})

		t.Run("POST /api/v1/checkins/:id/photos", func(t *testing.T) {
			target := "/api/v1/checkins/" + checkinID + "/photos?kind=id_photo"
			ok := checkUploads(t, f, "proctor_snapshots", imageCases(t, pngImg, "image/png"), func(c uploadCase) *http.Request {
				return checkinRaw("POST", target, cand2, c.contentType, c.body)
			})
			if ok == nil {
				t.Fatal("no photo was accepted")
			}
			var photo struct{ ID string }
			ok.JSON(t, &photo)
			checkServedImage(t, f, cand2, photo.ID, "image/png", pngImg)
			checkServedImage(t, f, proctorToken, photo.ID, "image/png", pngImg)
		})

		author := f.Token(t, f.Users.Author)
		importCases := bankCases(t, f)
		t.Run("POST /api/v1/items/import", func(t *testing.T) {
			checkUploads(t, f, "items", importCases, func(c uploadCase) *http.Request {
				return rawReq("POST", "/api/v1/items/import?program="+f.Program.ID, author, c.contentType, c.body)
			})
		})

		t.Run("POST /authoring/items/import", func(t *testing.T) {
			sess := f.Session(t, f.Users.Author)
			for _, c := range importCases {
				t.Run(c.name, func(t *testing.T) {
					name := "bank.csv"
					if c.contentType == "application/zip" {
						name = "items.zip"
					}
					var body bytes.Buffer
					w := multipart.NewWriter(&body)
					_ = w.WriteField("program_id", f.Program.ID)
					fw, err := w.CreateFormFile("file", name)
					if err != nil {
						t.Fatal(err)
					}
					_, _ = fw.Write(c.body)
					_ = w.Close()
					req := webtest.NewRequest("POST", "/authoring/items/import", body.Bytes())
					req.Header.Set("Content-Type", w.FormDataContentType())
					req.Header.Set("Accept", "text/html")
					before := countRows(t, f, "items")
					resp := f.Do(t, webtest.WithCookie(req, sess, true))
					want := c.status
					if c.code == "" {
						want = http.StatusSeeOther // to the drafts
					}
					if resp.StatusCode != want {
						t.Errorf("status %d, want %d: %.300s", resp.StatusCode, want, resp.Body)
					}
					if c.code != "" {
						if after := countRows(t, f, "items"); after != before {
							t.Errorf("items: %d after a refused import, want %d", after, before)
						}
						if bytes.Contains(resp.Body, []byte("<script>alert")) {
							t.Errorf("the page echoes the upload's markup unescaped")
						}
					}
				})
			}
		})

		t.Run("POST /api/v1/verify", func(t *testing.T) {
			for _, c := range []uploadCase{
				{"over the bound", "image/png", make([]byte, credential.MaxVerifyBytes+1), http.StatusRequestEntityTooLarge, "request_entity_too_large", "file", ""},
				{"HTML sent as a badge", "image/png", []byte(hostileHTML), http.StatusOK, "", "", ""},
				{"SVG with a script", "image/svg+xml", []byte(hostileSVG), http.StatusOK, "", "", ""},
				{"pixel flood PNG", "image/png", pixelFloodPNG(t, 50_000), http.StatusOK, "", "", ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					r := webtest.NewRequest("POST", "/api/v1/verify", c.body)
					r.Header.Set("Content-Type", c.contentType)
					start := time.Now()
					resp := apiCall(t, f, r)
					if c.code != "" {
						wantAPIError(t, resp, c.status, c.code, c.field)
						return
					}
					wantAPIStatus(t, resp, c.status)
					if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("answered as %q, want JSON", ct)
					}
					var v struct {
						Valid bool `json:"valid"`
					}
					resp.JSON(t, &v)
					if v.Valid {
						t.Errorf("verified a hostile upload: %s", resp.Body)
					}
					if d := time.Since(start); d > 5*time.Second {
						t.Errorf("took %v: the image was decoded", d)
					}
				})
			}
		})

		t.Run("POST /verify", func(t *testing.T) {
			var body bytes.Buffer
			w := multipart.NewWriter(&body)
			fw, _ := w.CreateFormFile("file", "badge.jpg")
			_, _ = fw.Write([]byte(hostileHTML))
			_ = w.Close()
			req := webtest.NewRequest("POST", "/verify", body.Bytes())
			req.Header.Set("Content-Type", w.FormDataContentType())
			req.Header.Set("Accept", "text/html")
			req.AddCookie(&http.Cookie{Name: "ts_csrf", Value: "upload-csrf"})
			req.Header.Set("X-CSRF-Token", "upload-csrf")
			resp := f.Do(t, req)
			if resp.StatusCode >= 500 || bytes.Contains(resp.Body, []byte("<script>alert")) {
				t.Errorf("status %d; the page must report the upload, never echo its markup: %.300s", resp.StatusCode, resp.Body)
			}
		})

		t.Run("served back", func(t *testing.T) {
			checkDownloads(t, f, passer, credID)
		})
	})
}

// bankCases are the import routes' cases: the bound, disguised files,
// archives that climb out or explode, CSV that is not UTF-8 or too long,
// and a valid bank.
func bankCases(t *testing.T, f *webtest.Fixture) []uploadCase {
	t.Helper()
	const header = "identifier,domain,stem,option_a,option_b,key\n"
	var long strings.Builder
	long.WriteString(header)
	for i := range qti.MaxItems + 1 {
		long.WriteString("q" + strconv.Itoa(i) + ",D1,Which?,Yes,No,A\n")
	}
	bomb := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "imsmanifest.xml", Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(bytes.Repeat([]byte(" "), qti.MaxFileBytes+1))
		_ = zw.Close()
		return buf.Bytes()
	}()
	slip := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, name := range []string{"imsmanifest.xml", "../../etc/cron.d/evil"} {
			w, err := zw.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write([]byte("* * * * * root true"))
		}
		_ = zw.Close()
		return buf.Bytes()
	}()
	export := apiCall(t, f, apiReq("GET", "/api/v1/items/export?format=qti30&exam="+f.Exam.ID, f.Token(t, f.Users.Author), nil))
	wantAPIStatus(t, export, http.StatusOK)
	bad := func(name, ct string, body []byte, says string) uploadCase {
		return uploadCase{name, ct, body, http.StatusUnprocessableEntity, "invalid_package", "file", says}
	}
	return []uploadCase{
		{"over the bound", "text/csv", append([]byte(header), make([]byte, 20<<20)...), http.StatusRequestEntityTooLarge, "request_entity_too_large", "file", "20 MiB"},
		bad("HTML sent as a package", "application/zip", []byte(hostileHTML), ""),
		bad("SVG sent as a bank", "text/csv", []byte(hostileSVG), "line 1"),
		bad("zip slip", "application/zip", slip, "climbs out"),
		bad("decompression bomb", "application/zip", bomb, "imsmanifest.xml"),
		bad("truncated package", "application/zip", export.Body[:len(export.Body)/2], ""),
		bad("CSV not in UTF-8", "text/csv", []byte(header+"q1,D1,Qu\xe9 es?,S\xed,No,A\n"), "line 2"),
		bad("CSV with a row too wide", "text/csv", []byte(header+"q1,D1,Which?,Yes,No,A,extra\n"), "line 2"),
		bad("CSV over the item bound", "text/csv", []byte(long.String()), "line "+strconv.Itoa(qti.MaxItems+2)),
		{"valid CSV bank", "text/csv", []byte(header + "q1,D1,Which?,Yes,No,A\n"), http.StatusCreated, "", "", ""},
	}
}

// checkDownloads fetches what the server gives back of stored or exported
// data and checks that each has a fixed type that is not HTML (nor SVG
// made of user bytes), nosniff, and, where it is a file to save, an
// attachment disposition.
func checkDownloads(t *testing.T, f *webtest.Fixture, passer webtest.User, credID string) {
	t.Helper()
	author, psych, proctorToken := f.Token(t, f.Users.Author), f.Token(t, f.Users.Psychometrician), f.Token(t, f.Users.Proctor)
	for _, d := range []struct {
		path, token, wantType, wantDisposition string
	}{
		{"/api/v1/items/export?format=qti30&exam=" + f.Exam.ID, author, "application/zip", "attachment"},
		{"/proctor/exams/" + f.Exam.ID + "/forensics.csv", proctorToken, "text/csv; charset=utf-8", "attachment"},
		{"/psychometrics/exams/" + f.Exam.ID + "/responses.csv", psych, "text/csv; charset=utf-8", "attachment"},
		{"/psychometrics/exams/" + f.Exam.ID + "/items.csv", psych, "text/csv; charset=utf-8", "attachment"},
		{"/credentials/" + credID + "/credential.json", f.Token(t, passer), "application/vc+ld+json", "attachment"},
	} {
		resp := f.Do(t, apiReq("GET", d.path, d.token, nil))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200: %.200s", d.path, resp.StatusCode, resp.Body)
			continue
		}
		h := resp.Header
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, d.wantType) || strings.Contains(ct, "html") || strings.Contains(ct, "svg") {
			t.Errorf("GET %s: Content-Type %q, want %q", d.path, ct, d.wantType)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", d.path, got)
		}
		if got := h.Get("Content-Disposition"); !strings.HasPrefix(got, d.wantDisposition) {
			t.Errorf("GET %s: Content-Disposition %q, want %s", d.path, got, d.wantDisposition)
		}
	}
}
