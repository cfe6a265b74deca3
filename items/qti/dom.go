package qti

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"unicode"
)

// node is one element (name != "") or run of character data (name == "")
// of a parsed XML file. QTI 3.0 names are brought to their QTI 2.1 form
// (qti-choice-interaction → choiceInteraction, response-identifier →
// responseIdentifier) so one interpreter reads both versions.
type node struct {
	space string // namespace URI
	name  string // local name, normalised
	attrs map[string]string
	kids  []*node
	text  string // character data (name == "")
	line  int
}

// maxDepth bounds element nesting, so a hostile file cannot make the
// (recursive) interpreters use unbounded stack.
const maxDepth = 64

// parseXML reads one XML file into a tree. file names the file in
// errors. Only the XML 1.0 UTF-8 (or US-ASCII) encodings are accepted.
func parseXML(file string, data []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "us-ascii", "ascii":
			return input, nil
		}
		return nil, errors.New("encoding " + charset + " is not supported; use UTF-8")
	}
	var root *node
	var stack []*node
	for {
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &Error{File: file, Line: se.Line, Msg: se.Msg}
			}
			return nil, &Error{File: file, Line: line, Msg: err.Error()}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, &Error{File: file, Line: line, Msg: "elements nest too deeply"}
			}
			if root != nil && len(stack) == 0 {
				return nil, &Error{File: file, Line: line, Msg: "more than one root element"}
			}
			n := newNode(t, line)
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				if k := len(p.kids); k > 0 && p.kids[k-1].name == "" {
					p.kids[k-1].text += string(t)
				} else {
					p.kids = append(p.kids, &node{text: string(t), line: line})
				}
			}
		case xml.Directive:
			// A DOCTYPE could declare entities; encoding/xml never expands
			// them, but nothing in a QTI package needs one.
			return nil, &Error{File: file, Line: line, Msg: "DOCTYPE and other directives are not allowed"}
		}
	}
	if root == nil {
		return nil, &Error{File: file, Msg: "no root element"}
	}
	return root, nil
}

func newNode(t xml.StartElement, line int) *node {
	n := &node{space: t.Name.Space, name: t.Name.Local, line: line, attrs: make(map[string]string, len(t.Attr))}
	v3 := strings.HasPrefix(n.name, "qti-")
	if v3 {
		n.name = camel(strings.TrimPrefix(n.name, "qti-"))
	}
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		name := a.Name.Local
		if a.Name.Space != "" && a.Name.Space != t.Name.Space {
			name = a.Name.Space + " " + name // e.g. xml:lang, xsi:schemaLocation: kept apart
		} else if v3 {
			name = camel(name)
		}
		n.attrs[name] = a.Value
	}
	return n
}

// camel turns kebab-case into camelCase: "response-identifier" →
// "responseIdentifier".
func camel(s string) string {
	parts := strings.Split(s, "-")
	for i := 1; i < len(parts); i++ {
		if p := parts[i]; p != "" {
			r := []rune(p)
			r[0] = unicode.ToUpper(r[0])
			parts[i] = string(r)
		}
	}
	return strings.Join(parts, "")
}

// kebab turns camelCase into kebab-case: "responseIdentifier" →
// "response-identifier".
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// elems returns n's child elements named name ("" for all).
func (n *node) elems(name string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name != "" && (name == "" || k.name == name) {
			out = append(out, k)
		}
	}
	return out
}

// elem returns n's first child element named name, or nil.
func (n *node) elem(name string) *node {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// find returns the descendants of n (n excluded) named name, in document
// order.
func (n *node) find(name string) []*node {
	var out []*node
	var walk func(*node)
	walk = func(m *node) {
		for _, k := range m.kids {
			if k.name == "" {
				continue
			}
			if k.name == name {
				out = append(out, k)
			}
			walk(k)
		}
	}
	walk(n)
	return out
}

// textContent returns all character data under n, in order.
func (n *node) textContent() string {
	if n.name == "" {
		return n.text
	}
	var b strings.Builder
	for _, k := range n.kids {
		b.WriteString(k.textContent())
	}
	return b.String()
}
