package qti

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
)

// xnode is an element (or, with name "", a run of text) Export writes. A
// QTI element is named in its QTI 2.1 form (choiceInteraction) and written
// in the form of the package's version; a verbatim element (XHTML content,
// the Touchstone extension) is written as named.
type xnode struct {
	name     string
	attrs    [][2]string
	kids     []*xnode
	text     string
	verbatim bool
}

// el returns a QTI element with attributes given as name, value pairs.
func el(name string, attrs ...string) *xnode {
	n := &xnode{name: name}
	for i := 0; i+1 < len(attrs); i += 2 {
		n.attrs = append(n.attrs, [2]string{attrs[i], attrs[i+1]})
	}
	return n
}

// add appends kids (nil ones are skipped) and returns n.
func (n *xnode) add(kids ...*xnode) *xnode {
	for _, k := range kids {
		if k != nil {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

// textNode returns a run of character data.
func textNode(s string) *xnode { return &xnode{text: s} }

// withText returns n holding the text s.
func (n *xnode) withText(s string) *xnode { return n.add(textNode(s)) }

// writeXML writes the document rooted at root, for version v, with an
// XML declaration.
func writeXML(w io.Writer, v Version, root *xnode) error {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	root.write(&b, v, 0)
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

func (n *xnode) write(b *bytes.Buffer, v Version, depth int) {
	if n.name == "" {
		escape(b, n.text, false)
		return
	}
	name := n.name
	rename := !n.verbatim && v == QTI30
	if rename {
		name = "qti-" + kebab(name)
	}
	b.WriteByte('<')
	b.WriteString(name)
	for _, a := range n.attrs {
		an := a[0]
		if rename && !strings.Contains(an, ":") {
			an = kebab(an)
		}
		b.WriteByte(' ')
		b.WriteString(an)
		b.WriteString(`="`)
		escape(b, a[1], true)
		b.WriteByte('"')
	}
	if len(n.kids) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	// Indent only where no text is mixed in, so no content gains
	// whitespace it did not have.
	indent := !n.verbatim
	for _, k := range n.kids {
		if k.name == "" {
			indent = false
		}
	}
	for _, k := range n.kids {
		if indent {
			b.WriteByte('\n')
			b.WriteString(strings.Repeat("  ", depth+1))
		}
		k.write(b, v, depth+1)
	}
	if indent {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat("  ", depth))
	}
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

// escape writes s as XML character data, or as an attribute value when
// attr, so that a parser reads back exactly s: markup characters become
// entities, a carriage return (which parsers turn into a newline) a
// character reference, and in attributes newlines and tabs too (which
// parsers turn into spaces). Characters XML cannot hold at all (most
// control characters) become U+FFFD.
func escape(b *bytes.Buffer, s string, attr bool) {
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == '\n' && attr:
			b.WriteString("&#xA;")
		case r == '\t' && attr:
			b.WriteString("&#x9;")
		case !xmlChar(r):
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
}

// xmlChar reports whether XML 1.0 allows r in a document.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
