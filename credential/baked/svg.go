package baked

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

const (
	// obNamespace is the XML namespace of the Open Badges 3.0 baking element.
	obNamespace = "https://purl.imsglobal.org/ob/v3p0"
	svgNS       = "http://www.w3.org/2000/svg"
)

// utf8BOM may open an XML document; encoding/xml does not skip it.
var utf8BOM = []byte("\xef\xbb\xbf")

// BakeSVG returns a copy of svg carrying credential in an
// <openbadges:credential> element placed directly after the opening <svg>
// tag, whose xmlns:openbadges attribute it sets to the Open Badges 3.0
// namespace. A JSON credential goes in the element's body as CDATA (split
// where it contains "]]>", and with carriage returns as character references
// so that XML line-end normalization cannot change them); a compact JWS goes
// in the element's verify attribute. Credential elements already present are
// removed. credential is a JSON object or a compact JWS; surrounding
// whitespace is dropped. The rest of the document is kept byte for byte.
//
// BakeSVG fails with ErrFormat if svg is not XML with an <svg> root element,
// ErrMalformed if the XML is not well-formed or its root binds the
// openbadges prefix to another namespace (as an Open Badges 2.0 image does),
// ErrCredential for a bad credential and ErrTooLarge beyond MaxImageBytes.
func BakeSVG(svg, credential []byte) ([]byte, error) {
	if len(svg) > MaxImageBytes {
		return nil, ErrTooLarge
	}
	cred, kind, err := checkCredential(credential)
	if err != nil {
		return nil, err
	}
	s, err := scanSVG(svg, false)
	if err != nil {
		return nil, err
	}
	if s.prefixNS != "" && s.prefixNS != obNamespace {
		return nil, fmt.Errorf("%w: svg: the root element binds the openbadges prefix to %q, not %q", ErrMalformed, s.prefixNS, obNamespace)
	}

	var elem bytes.Buffer
	switch kind {
	case kindJWS:
		// The JWS alphabet (base64url and '.') needs no escaping in an
		// attribute value.
		elem.WriteString(`<openbadges:credential verify="`)
		elem.Write(cred)
		elem.WriteString(`"></openbadges:credential>`)
	case kindJSON:
		elem.WriteString(`<openbadges:credential>`)
		if err := writeCDATA(&elem, cred); err != nil {
			return nil, err
		}
		elem.WriteString(`</openbadges:credential>`)
	}

	// The root start tag, without its closing ">" or "/>", gets the
	// namespace declaration; the credential element follows it.
	open := svg[:s.tagEnd-1]
	if s.selfClosing {
		open = svg[:s.tagEnd-2]
	}
	var out bytes.Buffer
	out.Grow(len(svg) + elem.Len() + 64)
	out.Write(open)
	if s.prefixNS == "" {
		out.WriteString(` xmlns:openbadges="` + obNamespace + `"`)
	}
	out.WriteByte('>')
	out.Write(elem.Bytes())
	if s.selfClosing {
		out.WriteString("</svg>")
	}
	at := s.tagEnd
	for _, r := range s.credentials {
		out.Write(svg[at:r[0]])
		at = r[1]
	}
	out.Write(svg[at:])
	if out.Len() > MaxImageBytes {
		return nil, ErrTooLarge
	}
	return out.Bytes(), nil
}

// ExtractSVG returns the credential in the first <openbadges:credential>
// element (Open Badges 3.0 namespace) of svg: the value of its verify
// attribute if it has one, else its text (CDATA or character data), without
// surrounding whitespace. As the specification allows, the document after
// that element is not read.
//
// It fails with ErrFormat if svg is not XML with an <svg> root element,
// ErrMalformed if the XML up to the credential is not well-formed or the
// element is empty, ErrNotBaked if there is no such element and ErrTooLarge
// beyond MaxImageBytes.
func ExtractSVG(svg []byte) ([]byte, error) {
	if len(svg) > MaxImageBytes {
		return nil, ErrTooLarge
	}
	s, err := scanSVG(svg, true)
	if err != nil {
		return nil, err
	}
	if len(s.credentials) == 0 {
		return nil, ErrNotBaked
	}
	c := s.verify
	if len(c) == 0 {
		c = s.text
	}
	c = bytes.TrimSpace(c)
	if len(c) == 0 {
		return nil, fmt.Errorf("%w: svg: empty openbadges:credential element", ErrMalformed)
	}
	return c, nil
}

// svgScan is what scanSVG learns about a document.
type svgScan struct {
	tagEnd      int      // offset just past the root start tag
	selfClosing bool     // the root start tag ends with "/>"
	prefixNS    string   // the namespace the root binds to the openbadges prefix, if any
	credentials [][2]int // byte ranges of credential elements, in document order

	// The first credential element's verify attribute and direct text.
	verify []byte
	text   []byte
}

// scanSVG parses svg with encoding/xml (which never fetches external
// entities), checks that the root element is <svg> and finds the credential
// elements. With first it stops after the first one; otherwise it reads the
// whole document, so that a bake never rewrites broken XML.
func scanSVG(svg []byte, first bool) (svgScan, error) {
	var s svgScan
	base := 0
	if bytes.HasPrefix(svg, utf8BOM) {
		base = len(utf8BOM)
	}
	d := xml.NewDecoder(bytes.NewReader(svg[base:]))
	d.Strict = true
	var (
		depth     int
		rootSeen  bool
		rootDone  bool
		credDepth = -1 // depth of the first credential element's content, while inside it
		credStart int
	)
	for {
		offset := base + int(d.InputOffset())
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if !rootSeen {
				return s, ErrFormat
			}
			return s, nil
		}
		if err != nil {
			if !rootSeen {
				return s, fmt.Errorf("%w: %v", ErrFormat, err)
			}
			return s, fmt.Errorf("%w: svg: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case depth == 0 && rootDone:
				return s, fmt.Errorf("%w: svg: element <%s> after the root element", ErrMalformed, t.Name.Local)
			case depth == 0:
				if t.Name.Local != "svg" || (t.Name.Space != svgNS && t.Name.Space != "") {
					return s, ErrFormat
				}
				rootSeen = true
				s.tagEnd = base + int(d.InputOffset())
				s.selfClosing = bytes.HasSuffix(svg[:s.tagEnd], []byte("/>"))
				for _, a := range t.Attr {
					if a.Name.Space == "xmlns" && a.Name.Local == "openbadges" {
						s.prefixNS = a.Value
					}
				}
			case t.Name.Space == obNamespace && t.Name.Local == "credential" && credDepth < 0:
				credStart = offset
				credDepth = depth + 1
				if len(s.credentials) == 0 {
					for _, a := range t.Attr {
						if a.Name.Space == "" && a.Name.Local == "verify" {
							s.verify = []byte(a.Value)
						}
					}
				}
			}
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				rootDone = true
			}
			if depth+1 == credDepth {
				s.credentials = append(s.credentials, [2]int{credStart, base + int(d.InputOffset())})
				credDepth = -1
				if first {
					return s, nil
				}
			}
		case xml.CharData:
			if credDepth >= 0 && depth == credDepth && len(s.credentials) == 0 {
				s.text = append(s.text, t...)
			}
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return s, fmt.Errorf("%w: svg: text outside the root element", ErrMalformed)
			}
		}
	}
}

// writeCDATA writes text as CDATA sections. "]]>" cannot appear inside one,
// so it is split across two; a carriage return is written as the character
// reference &#13; between sections, because an XML parser turns a literal
// CR or CRLF into LF.
func writeCDATA(w *bytes.Buffer, text []byte) error {
	for i, r := range string(text) {
		if !isXMLChar(r) {
			return fmt.Errorf("%w: character %U at byte %d cannot appear in XML", ErrCredential, r, i)
		}
	}
	w.WriteString("<![CDATA[")
	for i := 0; i < len(text); i++ {
		switch {
		case text[i] == '\r':
			w.WriteString("]]>&#13;<![CDATA[")
		case bytes.HasPrefix(text[i:], []byte("]]>")):
			w.WriteString("]]]]><![CDATA[")
			w.WriteByte('>')
			i += 2
		default:
			w.WriteByte(text[i])
		}
	}
	w.WriteString("]]>")
	return nil
}

// isXMLChar reports whether r may appear in an XML 1.0 document (production
// [2] Char).
func isXMLChar(r rune) bool {
	switch {
	case r == 0x9 || r == 0xA || r == 0xD:
		return true
	case 0x20 <= r && r <= 0xD7FF, 0xE000 <= r && r <= 0xFFFD, 0x10000 <= r && r <= 0x10FFFF:
		return true
	}
	return false
}

// looksLikeXML reports whether b starts, after an optional byte order mark
// and white space, with '<'.
func looksLikeXML(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, utf8BOM), " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}
