package qti

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

// Import reads a zip IMS content package of QTI 2.1 or 3.0 items: the
// manifest, then every resource of type imsqti_item_xmlv2p1 (or v2p2) or
// imsqti_item_xmlv3p0, in manifest order. The version is read per
// resource, from its type, and must agree with the item's namespace.
// Other resources (tests, media, shared content) are allowed but not
// imported. Each item's content must pass items.Content.Validate.
//
// Import is all or nothing: on any fault it returns no items and an
// *Error locating the first one ("items/0003.xml:12: choiceInteraction
// has no simpleChoice"). Faults include a zip that is not one or is over
// the limits (MaxPackageBytes in all, MaxFileBytes per XML file,
// MaxFiles entries, MaxItems items; sizes are checked against the bytes
// actually decompressed, not the sizes the zip declares), an entry or
// href that could escape the package (absolute, "..", a backslash, a
// URL), a file the manifest does not declare, an unsupported interaction
// or construct, and content Validate rejects.
func Import(r io.ReaderAt, size int64) ([]Item, error) {
	if size > MaxPackageBytes {
		return nil, &Error{Msg: fmt.Sprintf("the package is %d bytes; the limit is %d", size, MaxPackageBytes)}
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &Error{Msg: "not a zip file: " + err.Error()}
	}
	if len(zr.File) > MaxFiles {
		return nil, &Error{Msg: fmt.Sprintf("the package holds %d files; the limit is %d", len(zr.File), MaxFiles)}
	}
	p := &pkg{files: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") && f.UncompressedSize64 == 0 {
			continue // a directory
		}
		if err := checkPath(f.Name); err != nil {
			return nil, &Error{File: f.Name, Msg: err.Error()}
		}
		name := path.Clean(f.Name) // "./a.xml" is the a.xml an href names
		if p.files[name] != nil {
			return nil, &Error{File: f.Name, Msg: "the package holds two files of this name"}
		}
		p.files[name] = f
	}
	return p.read()
}

// pkg is a package being read.
type pkg struct {
	files        map[string]*zip.File
	decompressed int64 // bytes decompressed so far
}

// checkPath rejects zip entry names and hrefs that could name a file
// outside the package.
func checkPath(name string) error {
	switch {
	case name == "":
		return errors.New("empty path")
	case strings.ContainsRune(name, '\\'):
		return errors.New("path holds a backslash")
	case strings.HasPrefix(name, "/"):
		return errors.New("path is absolute")
	case len(name) > 1 && name[1] == ':':
		return errors.New("path names a drive")
	case strings.ContainsRune(name, 0):
		return errors.New("path holds a NUL character")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return errors.New(`path climbs out of the package ("..")`)
		}
	}
	return nil
}

// load decompresses one file, within the limits.
func (p *pkg) load(name string) ([]byte, error) {
	f := p.files[name]
	if f == nil {
		return nil, &Error{File: name, Msg: "the package has no such file"}
	}
	if f.UncompressedSize64 > MaxFileBytes {
		return nil, &Error{File: name, Msg: fmt.Sprintf("file is %d bytes; the limit is %d", f.UncompressedSize64, MaxFileBytes)}
	}
	rc, err := f.Open()
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	defer rc.Close()
	// The header's size is not trusted: read at most one byte more than
	// allowed and count what actually came out.
	data, err := io.ReadAll(io.LimitReader(rc, MaxFileBytes+1))
	p.decompressed += int64(len(data))
	switch {
	case len(data) > MaxFileBytes:
		return nil, &Error{File: name, Msg: fmt.Sprintf("file decompresses to more than %d bytes", MaxFileBytes)}
	case p.decompressed > MaxPackageBytes:
		return nil, &Error{File: name, Msg: fmt.Sprintf("the package decompresses to more than %d bytes", MaxPackageBytes)}
	case err != nil:
		return nil, &Error{File: name, Msg: err.Error()}
	}
	return data, nil
}

// resource is an item resource of the manifest.
type resource struct {
	line    int
	version Version
	href    string
	ext     *node // the Touchstone extension, nil when absent
}

func (p *pkg) read() ([]Item, error) {
	data, err := p.load(manifestName)
	if err != nil {
		return nil, err
	}
	m, err := parseXML(manifestName, data)
	if err != nil {
		return nil, err
	}
	if m.name != "manifest" {
		return nil, &Error{File: manifestName, Line: m.line, Msg: fmt.Sprintf("root element is %s, not manifest", m.name)}
	}
	declared := map[string]bool{manifestName: true}
	var res []resource
	for _, rs := range m.elems("resources") {
		for _, r := range rs.elems("resource") {
			fail := func(format string, args ...any) error {
				return &Error{File: manifestName, Line: r.line, Msg: fmt.Sprintf(format, args...)}
			}
			if r.attrs["http://www.w3.org/XML/1998/namespace base"] != "" {
				return nil, fail("xml:base is not supported")
			}
			hrefs := []string{}
			if h, ok := r.attrs["href"]; ok {
				hrefs = append(hrefs, h)
			}
			for _, f := range r.elems("file") {
				hrefs = append(hrefs, f.attrs["href"])
			}
			for i, h := range hrefs {
				name, err := hrefPath(h)
				if err != nil {
					return nil, fail("href %q: %v", h, err)
				}
				hrefs[i] = name
				declared[name] = true
			}
			typ := r.attrs["type"]
			var v Version
			switch strings.ToLower(typ) {
			case typeItem21, typeItem22:
				v = QTI21
			case typeItem30:
				v = QTI30
			default:
				if strings.HasPrefix(strings.ToLower(typ), "imsqti_item_") {
					return nil, fail("resource type %s is not supported (QTI 2.1 and 3.0 items are)", typ)
				}
				continue // tests, media, shared content: declared, not imported
			}
			if _, ok := r.attrs["href"]; !ok {
				return nil, fail("item resource has no href")
			}
			var ext *node
			if md := r.elem("metadata"); md != nil {
				for _, k := range md.elems("item") {
					if k.space == NSTouchstone {
						ext = k
					}
				}
			}
			res = append(res, resource{line: r.line, version: v, href: hrefs[0], ext: ext})
		}
	}
	names := make([]string, 0, len(p.files))
	for name := range p.files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !declared[name] {
			return nil, &Error{File: name, Msg: "file is not declared in " + manifestName}
		}
	}
	if len(res) == 0 {
		return nil, &Error{File: manifestName, Line: m.line, Msg: "the package declares no QTI 2.1 or 3.0 item"}
	}
	if len(res) > MaxItems {
		return nil, &Error{File: manifestName, Msg: fmt.Sprintf("the package declares %d items; the limit is %d", len(res), MaxItems)}
	}
	out := make([]Item, 0, len(res))
	seen := make(map[string]string, len(res))
	for _, r := range res {
		data, err := p.load(r.href)
		if err != nil {
			return nil, err
		}
		root, err := parseXML(r.href, data)
		if err != nil {
			return nil, err
		}
		x, err := readExtension(r.ext)
		if err != nil {
			return nil, err
		}
		it, err := readItem(r.href, r.version, root, x)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[it.Identifier]; dup {
			return nil, &Error{File: r.href, Line: root.line, Msg: fmt.Sprintf("identifier %q is also the identifier of %s", it.Identifier, prev)}
		}
		seen[it.Identifier] = r.href
		out = append(out, it)
	}
	return out, nil
}

// hrefPath turns an href of the manifest into the name of a zip entry.
func hrefPath(h string) (string, error) {
	u, err := url.Parse(h)
	if err != nil {
		return "", err
	}
	if u.Scheme != "" || u.Host != "" {
		return "", errors.New("an href must name a file in the package, not a URL")
	}
	name := u.Path
	if err := checkPath(name); err != nil {
		return "", err
	}
	return path.Clean(name), nil
}

// extData is the Touchstone extension of a resource, read.
type extData struct {
	line                                     int
	identifier, kind, scoring, status        string
	version                                  int
	points                                   float64
	author, domain, stem, exhibit, rationale string
	options, targets                         map[string]string
	skills, references, enemies              []string
	irt                                      *psychometrics.Item3PL
	stats                                    *Statistics
}

// readExtension reads the Touchstone extension n (nil gives nil).
func readExtension(n *node) (*extData, error) {
	if n == nil {
		return nil, nil
	}
	fail := func(line int, format string, args ...any) error {
		return &Error{File: manifestName, Line: line, Msg: "Touchstone extension: " + fmt.Sprintf(format, args...)}
	}
	x := &extData{line: n.line, options: map[string]string{}, targets: map[string]string{},
		identifier: n.attrs["identifier"], kind: n.attrs["kind"], scoring: n.attrs["scoring"], status: n.attrs["status"]}
	if x.identifier == "" {
		return nil, fail(n.line, "identifier is required")
	}
	var err error
	num := func(k *node, attr string) float64 {
		s := k.attrs[attr]
		f, e := strconv.ParseFloat(s, 64)
		if e != nil && err == nil {
			err = fail(k.line, "%s %q is not a number", attr, s)
		}
		return f
	}
	if s, ok := n.attrs["version"]; ok {
		if x.version, err = strconv.Atoi(s); err != nil || x.version < 0 {
			return nil, fail(n.line, "version %q is not a whole number ≥ 0", s)
		}
	}
	if _, ok := n.attrs["points"]; ok {
		x.points = num(n, "points")
	}
	for _, k := range n.elems("") {
		if k.space != NSTouchstone {
			continue
		}
		t := k.textContent()
		switch k.name {
		case "author":
			x.author = t
		case "domain":
			x.domain = t
		case "stem":
			x.stem = t
		case "exhibit":
			x.exhibit = t
		case "rationale":
			x.rationale = t
		case "option", "target":
			m := x.options
			if k.name == "target" {
				m = x.targets
			}
			id := k.attrs["id"]
			if _, dup := m[id]; dup || id == "" {
				return nil, fail(k.line, "%s needs a unique id", k.name)
			}
			m[id] = t
		case "skill":
			x.skills = append(x.skills, t)
		case "reference":
			x.references = append(x.references, t)
		case "enemy":
			x.enemies = append(x.enemies, t)
		case "irt":
			x.irt = &psychometrics.Item3PL{A: num(k, "a"), B: num(k, "b"), C: num(k, "c")}
		case "statistics":
			s := &Statistics{PValue: num(k, "p-value"), PointBiserial: num(k, "point-biserial")}
			if s.N, err = strconv.Atoi(k.attrs["n"]); err != nil || s.N < 0 {
				return nil, fail(k.line, "n %q is not a whole number ≥ 0", k.attrs["n"])
			}
			x.stats = s
		default:
			return nil, fail(k.line, "unknown element %s", k.name)
		}
	}
	if err != nil {
		return nil, err
	}
	return x, nil
}
