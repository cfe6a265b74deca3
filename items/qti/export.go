package qti

import (
	"archive/zip"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/touchstone-assess/touchstone/items"
)

// responseID is the identifier of the one response variable of every item
// Export writes.
const responseID = "RESPONSE"

// Export writes items as a zip IMS content package of the given QTI
// version: imsmanifest.xml, then items/0001.xml, items/0002.xml, … one
// assessmentItem per item, in order (see the package comment for the
// mapping). Every item must have a non-empty, unique Identifier and
// content that passes Validate, and every option and target ID must be a
// QTI identifier (a letter or "_" then letters, digits, "_", "-", ".");
// otherwise Export returns an error naming the item before it writes
// anything. Export writes to w as it goes, so on a later (I/O) error the
// caller discards what was written.
func Export(w io.Writer, version Version, list []Item) error {
	if version != QTI21 && version != QTI30 {
		return fmt.Errorf("qti: version %q: want %q or %q", version, QTI21, QTI30)
	}
	seen := make(map[string]bool, len(list))
	for i, it := range list {
		if it.Identifier == "" {
			return fmt.Errorf("qti: item %d: identifier is required", i)
		}
		if seen[it.Identifier] {
			return fmt.Errorf("qti: item %d: identifier %q is used twice", i, it.Identifier)
		}
		seen[it.Identifier] = true
		if err := checkItem(it); err != nil {
			return fmt.Errorf("qti: item %q: %w", it.Identifier, err)
		}
	}
	zw := zip.NewWriter(w)
	r := items.NewRenderer()
	resources := el("resources")
	for i, it := range list {
		href := fmt.Sprintf("items/%04d.xml", i+1)
		f, err := zw.CreateHeader(&zip.FileHeader{Name: href, Method: zip.Deflate})
		if err != nil {
			return err
		}
		if err := writeXML(f, version, itemXML(version, r, it)); err != nil {
			return err
		}
		resources.add(el("resource", "identifier", fmt.Sprintf("item-%04d", i+1), "type", itemType(version), "href", href).add(
			el("metadata").add(extension(it)),
			el("file", "href", href),
		))
	}
	f, err := zw.CreateHeader(&zip.FileHeader{Name: manifestName, Method: zip.Deflate})
	if err != nil {
		return err
	}
	if err := writeXML(f, QTI21, manifest(version, resources)); err != nil {
		return err
	}
	return zw.Close()
}

func itemType(v Version) string {
	if v == QTI30 {
		return typeItem30
	}
	return typeItem21
}

// checkItem checks what Export needs of an item beyond Validate.
func checkItem(it Item) error {
	if err := it.Content.Validate(); err != nil {
		return err
	}
	for _, o := range append(append([]items.Option(nil), it.Content.Options...), it.Content.Targets...) {
		if !isIdentifier(o.ID) {
			return fmt.Errorf("option id %q is not a QTI identifier", o.ID)
		}
	}
	if it.Version < 0 {
		return fmt.Errorf("version %d is negative", it.Version)
	}
	return nil
}

// isIdentifier reports whether s is a QTI identifier (an XML NCName
// without colons, which QTI requires of identifiers).
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := unicode.IsLetter(r) || r == '_'
		if i == 0 && !letter {
			return false
		}
		if !letter && !unicode.IsDigit(r) && r != '-' && r != '.' {
			return false
		}
	}
	return true
}

// manifest returns the imsmanifest.xml document of a package of version
// v, to be written as QTI 2.1 (names unchanged): IMS CP names do not
// change between versions, only the namespace does.
func manifest(v Version, resources *xnode) *xnode {
	ns, loc, schema, schemaVersion := nsCP21,
		nsCP21+" http://www.imsglobal.org/xsd/qti/qtiv2p1/qtiv2p1_imscpv1p2_v1p0.xsd", "QTIv2.1 Package", "1.0.0"
	if v == QTI30 {
		ns, loc, schema, schemaVersion = nsCP30,
			nsCP30+" https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqtiv3p0_imscpv1p2_v1p0.xsd", "QTI Package", "3.0.0"
	}
	m := el("manifest", "xmlns", ns, "xmlns:xsi", nsXSI, "xsi:schemaLocation", loc, "identifier", "MANIFEST-touchstone").add(
		el("metadata").add(el("schema").withText(schema), el("schemaversion").withText(schemaVersion)),
		el("organizations"),
		resources,
	)
	return m
}

func verbatim(n *xnode) {
	n.verbatim = true
	for _, k := range n.kids {
		verbatim(k)
	}
}

// extension returns the Touchstone extension of it, for the resource's
// metadata in the manifest.
func extension(it Item) *xnode {
	c := it.Content
	x := el("ts:item", "xmlns:ts", NSTouchstone, "identifier", it.Identifier)
	opt := func(name, value string) {
		if value != "" {
			x.attrs = append(x.attrs, [2]string{name, value})
		}
	}
	opt("kind", string(c.Kind))
	opt("scoring", c.Scoring)
	opt("status", it.Status)
	if it.Version != 0 {
		opt("version", strconv.Itoa(it.Version))
	}
	if c.Points != 0 {
		opt("points", formatFloat(c.Points))
	}
	text := func(name, value string) {
		if value != "" {
			x.add(el("ts:" + name).withText(value))
		}
	}
	text("author", it.Author)
	text("domain", c.Domain)
	text("stem", c.Stem)
	text("exhibit", c.Exhibit)
	for _, o := range c.Options {
		x.add(el("ts:option", "id", o.ID).withText(o.Text))
	}
	for _, o := range c.Targets {
		x.add(el("ts:target", "id", o.ID).withText(o.Text))
	}
	text("rationale", c.Rationale)
	for _, s := range c.Skills {
		x.add(el("ts:skill").withText(s))
	}
	for _, s := range c.References {
		x.add(el("ts:reference").withText(s))
	}
	for _, s := range it.Enemies {
		x.add(el("ts:enemy").withText(s))
	}
	if p := it.IRT; p != nil {
		x.add(el("ts:irt", "a", formatFloat(p.A), "b", formatFloat(p.B), "c", formatFloat(p.C)))
	}
	if s := it.Statistics; s != nil {
		x.add(el("ts:statistics", "n", strconv.Itoa(s.N), "p-value", formatFloat(s.PValue), "point-biserial", formatFloat(s.PointBiserial)))
	}
	verbatim(x)
	return x
}

// formatFloat writes x in the shortest form that reads back as x.
func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// itemXML returns the assessmentItem of it.
func itemXML(v Version, r *items.Renderer, it Item) *xnode {
	c := it.Content
	ns, loc := nsQTI21, nsQTI21+" http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1p1.xsd"
	if v == QTI30 {
		ns, loc = nsQTI30, nsQTI30+" https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd"
	}
	id := it.Identifier
	if !isIdentifier(id) {
		id = "ts-" + id
		if !isIdentifier(id) {
			id = "ts-item"
		}
	}
	root := el("assessmentItem", "xmlns", ns, "xmlns:xsi", nsXSI, "xsi:schemaLocation", loc,
		"identifier", id, "title", it.Title, "adaptive", "false", "timeDependent", "false")
	maxScore := c.MaxPoints()
	decl, processing, interaction := kindXML(r, c, maxScore)
	body := el("itemBody").add(
		html(r, c.Stem, "stem"),
		html(r, c.Exhibit, "exhibit"),
		interaction,
	)
	root.add(decl,
		el("outcomeDeclaration", "identifier", "SCORE", "cardinality", "single", "baseType", "float").add(
			el("defaultValue").add(el("value").withText("0"))),
		el("outcomeDeclaration", "identifier", "MAXSCORE", "cardinality", "single", "baseType", "float").add(
			el("defaultValue").add(el("value").withText(formatFloat(maxScore)))),
		body,
		processing,
	)
	return root
}

// kindXML returns the responseDeclaration, the responseProcessing and
// the interaction of c.
func kindXML(r *items.Renderer, c items.Content, maxScore float64) (decl, processing, interaction *xnode) {
	response := func(cardinality, baseType string, correct ...string) *xnode {
		d := el("responseDeclaration", "identifier", responseID, "cardinality", cardinality, "baseType", baseType)
		cr := el("correctResponse")
		for _, v := range correct {
			cr.add(el("value").withText(v))
		}
		return d.add(cr)
	}
	choices := func(name string, opts []items.Option, attrs ...string) []*xnode {
		var out []*xnode
		for _, o := range opts {
			out = append(out, el(name, append([]string{"identifier", o.ID}, attrs...)...).add(htmlKids(r, o.Text)...))
		}
		return out
	}
	n := len(c.Options)
	share := formatFloat(maxScore / float64(n))
	switch c.ItemKind() {
	case items.SingleChoice, items.TrueFalse:
		decl = response("single", "identifier", c.Key)
		processing = matchCorrect()
		interaction = el("choiceInteraction", "responseIdentifier", responseID, "shuffle", "false", "maxChoices", "1").add(choices("simpleChoice", c.Options)...)
	case items.MultipleResponse:
		decl = response("multiple", "identifier", c.Keys...)
		processing = matchCorrect()
		if c.Scoring == items.Partial {
			// Right minus wrong, clamped to [0, max]: exactly Content.Score.
			keys := make(map[string]bool)
			for _, k := range c.Keys {
				keys[k] = true
			}
			each := maxScore / float64(len(c.Keys))
			m := el("mapping", "lowerBound", "0", "upperBound", formatFloat(maxScore), "defaultValue", "0")
			for _, o := range c.Options {
				v := each
				if !keys[o.ID] {
					v = -each
				}
				m.add(el("mapEntry", "mapKey", o.ID, "mappedValue", formatFloat(v)))
			}
			decl.add(m)
			processing = mapResponse()
		}
		interaction = el("choiceInteraction", "responseIdentifier", responseID, "shuffle", "false", "maxChoices", "0").add(choices("simpleChoice", c.Options)...)
	case items.Ordering:
		decl = response("ordered", "identifier", c.Keys...)
		processing = matchCorrect()
		if c.Scoring == items.Partial {
			// One share of the points for each option in its place.
			processing = el("responseProcessing")
			for i, k := range c.Keys {
				processing.add(el("responseCondition").add(el("responseIf").add(
					el("match").add(
						el("index", "n", strconv.Itoa(i+1)).add(el("variable", "identifier", responseID)),
						el("baseValue", "baseType", "identifier").withText(k)),
					el("setOutcomeValue", "identifier", "SCORE").add(el("sum").add(
						el("variable", "identifier", "SCORE"),
						el("baseValue", "baseType", "float").withText(share))),
				)))
			}
		}
		interaction = el("orderInteraction", "responseIdentifier", responseID, "shuffle", "false").add(choices("simpleChoice", c.Options)...)
	case items.Matching:
		var pairs []string
		for _, o := range c.Options {
			pairs = append(pairs, o.ID+" "+c.Pairs[o.ID])
		}
		decl = response("multiple", "directedPair", pairs...)
		processing = matchCorrect()
		if c.Scoring == items.Partial {
			// One share of the points for each option matched right;
			// an option takes one target (matchMax 1), so no pair is
			// counted twice.
			m := el("mapping", "lowerBound", "0", "upperBound", formatFloat(maxScore), "defaultValue", "0")
			for _, p := range pairs {
				m.add(el("mapEntry", "mapKey", p, "mappedValue", share))
			}
			decl.add(m)
			processing = mapResponse()
		}
		interaction = el("matchInteraction", "responseIdentifier", responseID, "shuffle", "false", "maxAssociations", strconv.Itoa(n)).add(
			el("simpleMatchSet").add(choices("simpleAssociableChoice", c.Options, "matchMax", "1")...),
			el("simpleMatchSet").add(choices("simpleAssociableChoice", c.Targets, "matchMax", "0")...),
		)
	case items.Numeric:
		k := c.Numeric
		decl = response("single", "float", formatFloat(k.Value))
		eq := el("equal", "toleranceMode", "exact")
		switch {
		case k.Relative:
			// QTI's relative tolerance is a percentage.
			t := shiftDecimal(k.Tolerance, 2)
			eq = el("equal", "toleranceMode", "relative", "tolerance", t+" "+t)
		case k.Tolerance > 0:
			t := formatFloat(k.Tolerance)
			eq = el("equal", "toleranceMode", "absolute", "tolerance", t+" "+t)
		}
		eq.add(el("variable", "identifier", responseID), el("correct", "identifier", responseID))
		processing = condition(eq, el("variable", "identifier", "MAXSCORE"))
		interaction = el("p").add(el("textEntryInteraction", "responseIdentifier", responseID))
		interaction.verbatim = true
	case items.ShortText:
		decl = response("single", "string", c.Accepted[0])
		m := el("mapping", "lowerBound", "0", "upperBound", formatFloat(maxScore), "defaultValue", "0")
		seen := make(map[string]bool)
		for _, a := range c.Accepted {
			if seen[a] {
				continue
			}
			seen[a] = true
			m.add(el("mapEntry", "mapKey", a, "mappedValue", formatFloat(maxScore), "caseSensitive", strconv.FormatBool(c.CaseSensitive)))
		}
		decl.add(m)
		processing = mapResponse()
		interaction = el("p").add(el("textEntryInteraction", "responseIdentifier", responseID))
		interaction.verbatim = true
	}
	return decl, processing, interaction
}

// matchCorrect scores MAXSCORE when the response is the correct response.
func matchCorrect() *xnode {
	return condition(el("match").add(el("variable", "identifier", responseID), el("correct", "identifier", responseID)),
		el("variable", "identifier", "MAXSCORE"))
}

// condition sets SCORE to value when test holds.
func condition(test, value *xnode) *xnode {
	return el("responseProcessing").add(el("responseCondition").add(el("responseIf").add(
		test,
		el("setOutcomeValue", "identifier", "SCORE").add(value),
	)))
}

// mapResponse sets SCORE to the mapped (and bounded) value of the response.
func mapResponse() *xnode {
	return el("responseProcessing").add(el("setOutcomeValue", "identifier", "SCORE").add(el("mapResponse", "identifier", responseID)))
}

// shiftDecimal returns x·10^n written in decimal, computed on the decimal
// digits of x so that no binary rounding creeps in (0.07 → "7", not
// "7.000000000000001").
func shiftDecimal(x float64, n int) string {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return formatFloat(x)
	}
	s := strconv.FormatFloat(x, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(s, "e")
	e, _ := strconv.Atoi(exp)
	y, err := strconv.ParseFloat(mant+"e"+strconv.Itoa(e+n), 64)
	if err != nil {
		return formatFloat(x * math.Pow10(n))
	}
	return formatFloat(y)
}

// html renders Markdown src as a div of XHTML with the given class, or
// nil when src is empty.
func html(r *items.Renderer, src, class string) *xnode {
	if strings.TrimSpace(src) == "" {
		return nil
	}
	d := el("div", "class", class).add(htmlKids(r, src)...)
	d.verbatim = true
	return d
}

// htmlKids renders Markdown src (sanitised by the Renderer) and turns the
// HTML into XHTML nodes QTI allows: void elements closed, attributes
// limited to those QTI's XHTML subset knows, and elements it lacks
// (del, input) replaced by spans or dropped.
func htmlKids(r *items.Renderer, src string) []*xnode {
	dec := xml.NewDecoder(strings.NewReader(string(r.Render(src))))
	dec.Strict = false
	dec.AutoClose = xml.HTMLAutoClose
	dec.Entity = xml.HTMLEntity
	root := &xnode{name: "root", verbatim: true}
	stack := []*xnode{root}
	for {
		tok, err := dec.Token()
		if err != nil {
			break // io.EOF, or HTML the lenient decoder gives up on: keep what was read
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: strings.ToLower(t.Name.Local), verbatim: true}
			switch n.name {
			case "del", "s", "strike", "ins", "u":
				n.attrs = append(n.attrs, [2]string{"class", n.name})
				n.name = "span"
			case "input", "script", "style":
				n.name = "" // dropped (the sanitiser already removes these)
			}
			for _, a := range t.Attr {
				switch k := strings.ToLower(a.Name.Local); k {
				case "href", "src", "alt", "title", "class", "colspan", "rowspan", "width", "height":
					if n.name != "" {
						n.attrs = append(n.attrs, [2]string{k, a.Value})
					}
				}
			}
			if n.name != "" {
				top.kids = append(top.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if top.name != "" || top == root {
				top.kids = append(top.kids, textNode(string(t)))
			}
		}
	}
	return root.kids
}
