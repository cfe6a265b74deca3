package qti

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/items"
)

// manifest21 declares item files (and extra files) as QTI 2.1 items.
func manifest21(itemFiles []string, extra ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="m">
  <resources>
`)
	for i, f := range itemFiles {
		fmt.Fprintf(&b, "    <resource identifier=\"r%d\" type=\"imsqti_item_xmlv2p1\" href=\"%s\"><file href=\"%s\"/></resource>\n", i, f, f)
	}
	for i, f := range extra {
		fmt.Fprintf(&b, "    <resource identifier=\"w%d\" type=\"webcontent\" href=\"%s\"><file href=\"%s\"/></resource>\n", i, f, f)
	}
	b.WriteString("  </resources>\n</manifest>\n")
	return b.String()
}

// item21 wraps a response declaration and a body in a QTI 2.1 item.
func item21(decl, body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="i1" title="T" adaptive="false" timeDependent="false">
` + decl + `
  <itemBody>
` + body + `
  </itemBody>
</assessmentItem>
`
}

const choiceDecl = `  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="identifier">
    <correctResponse><value>A</value></correctResponse>
  </responseDeclaration>`

const choiceBody = `    <choiceInteraction responseIdentifier="RESPONSE" maxChoices="1">
      <simpleChoice identifier="A">Yes</simpleChoice>
      <simpleChoice identifier="B">No</simpleChoice>
    </choiceInteraction>`

// onePackage is a package holding one QTI 2.1 item file items/0003.xml.
func onePackage(tb testing.TB, item string) []byte {
	tb.Helper()
	return zipOf(tb, "imsmanifest.xml", manifest21([]string{"items/0003.xml"}), "items/0003.xml", item)
}

func TestImportErrors(t *testing.T) {
	tests := []struct {
		name string
		pkg  func(testing.TB) []byte
		want string // the whole error message
	}{
		{"no simpleChoice", func(tb testing.TB) []byte {
			return onePackage(tb, item21(choiceDecl, `    <p>Q?</p>
    <choiceInteraction responseIdentifier="RESPONSE" maxChoices="1">
    </choiceInteraction>`))
		}, "items/0003.xml:8: choiceInteraction has no simpleChoice"},
		{"unsupported interaction", func(tb testing.TB) []byte {
			return onePackage(tb, item21(choiceDecl, `    <p>Q?</p>
    <hotspotInteraction responseIdentifier="RESPONSE" maxChoices="1"/>`))
		}, "items/0003.xml:8: hotspotInteraction is not supported (choice, textEntry, order and match interactions are)"},
		{"two interactions", func(tb testing.TB) []byte {
			return onePackage(tb, item21(choiceDecl, choiceBody+"\n"+choiceBody))
		}, "items/0003.xml:11: the item has 2 interactions (choiceInteraction, choiceInteraction); a Touchstone item holds one"},
		{"no declaration", func(tb testing.TB) []byte {
			return onePackage(tb, item21("", "<p>Q?</p>\n"+choiceBody))
		}, "items/0003.xml:6: choiceInteraction answers response \"RESPONSE\", which has no responseDeclaration"},
		{"content invalid", func(tb testing.TB) []byte {
			return onePackage(tb, item21(choiceDecl, choiceBody))
		}, "items/0003.xml:2: stem: is required"},
		{"key not an option", func(tb testing.TB) []byte {
			return onePackage(tb, item21(strings.Replace(choiceDecl, "<value>A</value>", "<value>Z</value>", 1), "<p>Q?</p>\n"+choiceBody))
		}, "items/0003.xml:2: key: must be the id of one option"},
		{"malformed XML", func(tb testing.TB) []byte {
			return onePackage(tb, item21(choiceDecl, "<p>Q?</b>\n"+choiceBody))
		}, "items/0003.xml:7: element <p> closed by </b>"},
		{"doctype", func(tb testing.TB) []byte {
			return onePackage(tb, `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">]>
<assessmentItem/>`)
		}, "items/0003.xml:2: DOCTYPE and other directives are not allowed"},
		{"wrong namespace", func(tb testing.TB) []byte {
			return onePackage(tb, strings.Replace(item21(choiceDecl, "<p>Q?</p>\n"+choiceBody), "imsqti_v2p1", "imsqtiasi_v3p0", 1))
		}, "items/0003.xml:2: the manifest declares a QTI 2.1 item, but the item is in the QTI 3.0 namespace"},
		{"template item", func(tb testing.TB) []byte {
			return onePackage(tb, item21(choiceDecl+`
  <templateDeclaration identifier="X" cardinality="single" baseType="integer"/>`, "<p>Q?</p>\n"+choiceBody))
		}, "items/0003.xml:6: template (cloned) items are not supported: templateDeclaration"},
		{"asymmetric tolerance", func(tb testing.TB) []byte {
			return onePackage(tb, strings.Replace(item21(`  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="float">
    <correctResponse><value>3.14</value></correctResponse>
  </responseDeclaration>`, `<p>Pi? <textEntryInteraction responseIdentifier="RESPONSE"/></p>`), "</assessmentItem>", `<responseProcessing>
<responseCondition><responseIf><equal toleranceMode="absolute" tolerance="0.1 0.2"><variable identifier="RESPONSE"/><correct identifier="RESPONSE"/></equal>
</responseIf></responseCondition></responseProcessing></assessmentItem>`, 1))
		}, `items/0003.xml:10: tolerance "0.1 0.2" is not supported (one value, or the same value twice)`},
		{"no manifest", func(tb testing.TB) []byte {
			return zipOf(tb, "items/0003.xml", item21(choiceDecl, choiceBody))
		}, "imsmanifest.xml: the package has no such file"},
		{"manifest line", func(tb testing.TB) []byte {
			return zipOf(tb, "imsmanifest.xml", `<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1">
<resources>
<resource type="imsqti_item_xmlv2p1" href="../etc/passwd"/>
</resources></manifest>`)
		}, `imsmanifest.xml:3: href "../etc/passwd": path climbs out of the package ("..")`},
		{"url href", func(tb testing.TB) []byte {
			return zipOf(tb, "imsmanifest.xml", `<manifest><resources>
<resource type="imsqti_item_xmlv2p1" href="https://evil.example/x.xml"/>
</resources></manifest>`)
		}, `imsmanifest.xml:2: href "https://evil.example/x.xml": an href must name a file in the package, not a URL`},
		{"QTI 1.2 item", func(tb testing.TB) []byte {
			return zipOf(tb, "imsmanifest.xml", `<manifest><resources>
<resource type="imsqti_item_xmlv1p2" href="a.xml"/>
</resources></manifest>`, "a.xml", "<questestinterop/>")
		}, "imsmanifest.xml:2: resource type imsqti_item_xmlv1p2 is not supported (QTI 2.1 and 3.0 items are)"},
		{"no items", func(tb testing.TB) []byte {
			return zipOf(tb, "imsmanifest.xml", manifest21(nil))
		}, "imsmanifest.xml:2: the package declares no QTI 2.1 or 3.0 item"},
		{"undeclared file", func(tb testing.TB) []byte {
			return zipOf(tb, "imsmanifest.xml", manifest21([]string{"items/0003.xml"}),
				"items/0003.xml", item21(choiceDecl, "<p>Q?</p>"+choiceBody), "items/payload.exe", "MZ")
		}, "items/payload.exe: file is not declared in imsmanifest.xml"},
		{"zip slip", func(tb testing.TB) []byte {
			return zipOf(tb, "imsmanifest.xml", manifest21(nil), "../../evil.sh", "rm -rf /")
		}, `../../evil.sh: path climbs out of the package ("..")`},
		{"absolute path", func(tb testing.TB) []byte {
			return zipOf(tb, "imsmanifest.xml", manifest21(nil), "/etc/cron.d/x", "* * * * * root true")
		}, "/etc/cron.d/x: path is absolute"},
		{"backslash path", func(tb testing.TB) []byte {
			return zipOf(tb, "imsmanifest.xml", manifest21(nil), `..\evil.bat`, "x")
		}, `..\evil.bat: path holds a backslash`},
		{"duplicate identifier", func(tb testing.TB) []byte {
			it := item21(choiceDecl, "<p>Q?</p>\n"+choiceBody)
			return zipOf(tb, "imsmanifest.xml", manifest21([]string{"a.xml", "b.xml"}), "a.xml", it, "b.xml", it)
		}, `b.xml:2: identifier "i1" is also the identifier of a.xml`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := importBytes(tt.pkg(t))
			if err == nil {
				t.Fatalf("got %d items and no error, want %q", len(got), tt.want)
			}
			if got != nil {
				t.Errorf("got %d items with the error, want none", len(got))
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("got %T %v, want an *Error", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("got  %q\nwant %q", err, tt.want)
			}
		})
	}
}

// TestImportAllOrNothing checks that one bad item fails a package whose
// other items are good.
func TestImportAllOrNothing(t *testing.T) {
	good := item21(choiceDecl, "<p>Q?</p>\n"+choiceBody)
	bad := strings.Replace(good, `<simpleChoice identifier="B">No</simpleChoice>`, "", 1)
	pkg := zipOf(t, "imsmanifest.xml", manifest21([]string{"a.xml", "b.xml"}), "a.xml", good, "b.xml", strings.Replace(bad, `"i1"`, `"i2"`, 1))
	got, err := importBytes(pkg)
	if err == nil || got != nil {
		t.Fatalf("got %d items, error %v; want no items and an error", len(got), err)
	}
	if want := "b.xml:2: options: must hold 2 to 8 options, has 1"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

// TestImportBomb checks that sizes are judged by the bytes decompressed,
// not by what the zip's headers declare.
func TestImportBomb(t *testing.T) {
	huge := bytes.Repeat([]byte{' '}, MaxFileBytes+10)
	item := item21(choiceDecl, "<p>Q?</p>\n"+choiceBody)
	build := func(lie bool) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, f := range []struct {
			name string
			data []byte
		}{{"imsmanifest.xml", []byte(manifest21([]string{"a.xml"}))}, {"a.xml", append([]byte(item), huge...)}} {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(f.data); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if lie {
			// Rewrite a.xml's declared size (central directory and local
			// header) to 100 bytes, as a bomb would.
			b = setDeclaredSize(t, b, "a.xml", 100)
		}
		return b
	}
	for _, lie := range []bool{false, true} {
		pkg := build(lie)
		if len(pkg) > 100_000 {
			t.Fatalf("the compressed package is %d bytes; the test wants a small bomb", len(pkg))
		}
		_, err := importBytes(pkg)
		if err == nil {
			t.Fatalf("lie=%v: got no error", lie)
		}
		want := fmt.Sprintf("a.xml: file is %d bytes; the limit is %d", len(item)+len(huge), MaxFileBytes)
		if lie {
			want = "a.xml: " // zip's reader or our limit, but always this file
		}
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("lie=%v: got %q, want it to start with %q", lie, err, want)
		}
	}
}

// setDeclaredSize rewrites the uncompressed size zip records for name.
func setDeclaredSize(tb testing.TB, b []byte, name string, size uint32) []byte {
	tb.Helper()
	out := append([]byte(nil), b...)
	put := func(at int) {
		out[at], out[at+1], out[at+2], out[at+3] = byte(size), byte(size>>8), byte(size>>16), byte(size>>24)
	}
	n := 0
	for i := 0; i+46 < len(out); i++ {
		switch {
		case bytes.Equal(out[i:i+4], []byte("PK\x01\x02")) && bytes.HasPrefix(out[i+46:], []byte(name)): // central directory
			put(i + 24)
			n++
		case bytes.Equal(out[i:i+4], []byte("PK\x03\x04")) && bytes.HasPrefix(out[i+30:], []byte(name)): // local header
			put(i + 22)
			n++
		case bytes.Equal(out[i:i+4], []byte("PK\x07\x08")): // data descriptors: crc, compressed, uncompressed
			put(i + 12)
		}
	}
	if n == 0 {
		tb.Fatalf("no header for %s", name)
	}
	return out
}

func TestImportPackageTooLarge(t *testing.T) {
	_, err := Import(bytes.NewReader(nil), MaxPackageBytes+1)
	if want := fmt.Sprintf("the package is %d bytes; the limit is %d", MaxPackageBytes+1, MaxPackageBytes); err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestImportTooManyFiles(t *testing.T) {
	files := []string{"imsmanifest.xml", manifest21(nil)}
	for i := 0; i < MaxFiles; i++ {
		files = append(files, fmt.Sprintf("f%d", i), "")
	}
	_, err := importBytes(zipOf(t, files...))
	if want := fmt.Sprintf("the package holds %d files; the limit is %d", MaxFiles+1, MaxFiles); err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestImportForeignXHTML checks the conversion of another tool's XHTML
// into Markdown: structure kept, text never lost, script dropped.
func TestImportForeignXHTML(t *testing.T) {
	body := `<p>Look at <em>this</em> <strong>image</strong>: <img src="images/sign.png" alt="NEVER LEAVE"/></p>
<script>alert("x")</script>
<p>Type <code>a*b</code> &amp; 2 &lt; 3, see <a href="https://example.org/a b">the docs</a> or <a href="javascript:alert(1)">this</a>.<br/>Next line_with_underscores.</p>
<ul><li>one</li><li><p>two</p></li></ul>
<pre>x := 1
  y</pre>
<div class="exhibit"><table><tr><th>k</th><th>v</th></tr><tr><td>a|b</td><td>2</td></tr></table></div>
<choiceInteraction responseIdentifier="RESPONSE" maxChoices="1">
  <prompt>Which <em>one</em>?</prompt>
  <simpleChoice identifier="A"><p>Yes <feedbackInline outcomeIdentifier="FB" identifier="A" showHide="show">Right!</feedbackInline></p></simpleChoice>
  <simpleChoice identifier="B">No <span style="color:red">way</span><script>steal()</script></simpleChoice>
</choiceInteraction>`
	got, err := importBytes(onePackage(t, item21(choiceDecl, body)))
	if err != nil {
		t.Fatal(err)
	}
	c := got[0].Content
	wantStem := "Look at *this* **image**: ![NEVER LEAVE](images/sign.png)\n\n" +
		"Type `a*b` & 2 \\< 3, see [the docs](https://example.org/a%20b) or this.\\\nNext line\\_with\\_underscores.\n\n" +
		"- one\n- two\n\n" +
		"```\nx := 1\n  y\n```\n\n" +
		"Which *one*?"
	if c.Stem != wantStem {
		t.Errorf("stem:\n got %q\nwant %q", c.Stem, wantStem)
	}
	if want := "| k | v |\n| --- | --- |\n| a\\|b | 2 |"; c.Exhibit != want {
		t.Errorf("exhibit:\n got %q\nwant %q", c.Exhibit, want)
	}
	wantOpts := []items.Option{{ID: "A", Text: "Yes"}, {ID: "B", Text: "No way"}}
	for i, o := range wantOpts {
		if c.Options[i] != o {
			t.Errorf("option %d: got %+v, want %+v", i, c.Options[i], o)
		}
	}
	if c.Rationale != "Right!" {
		t.Errorf("rationale: got %q, want %q", c.Rationale, "Right!")
	}
	for _, s := range []string{c.Stem, c.Exhibit, c.Options[0].Text, c.Options[1].Text, c.Rationale} {
		if strings.Contains(s, "alert") || strings.Contains(s, "steal") {
			t.Errorf("script survived in %q", s)
		}
	}
}

// TestImportQTI30Foreign reads a QTI 3.0 item written by hand to the
// 3.0 names, not by Export.
func TestImportQTI30Foreign(t *testing.T) {
	item := `<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="q3" title="Three" time-dependent="false">
  <qti-response-declaration identifier="R" cardinality="single" base-type="string">
    <qti-correct-response><qti-value>Bern</qti-value></qti-correct-response>
    <qti-mapping default-value="0"><qti-map-entry map-key="berne" mapped-value="1" case-sensitive="false"/></qti-mapping>
  </qti-response-declaration>
  <qti-outcome-declaration identifier="MAXSCORE" cardinality="single" base-type="float"><qti-default-value><qti-value>4</qti-value></qti-default-value></qti-outcome-declaration>
  <qti-item-body><p>Capital of Switzerland? <qti-text-entry-interaction response-identifier="R"/></p></qti-item-body>
  <qti-response-processing template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/map_response"/>
</qti-assessment-item>`
	pkg := zipOf(t, "imsmanifest.xml", `<manifest xmlns="http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1" identifier="m"><resources>
<resource identifier="r" type="imsqti_item_xmlv3p0" href="q3.xml"><file href="q3.xml"/></resource></resources></manifest>`, "q3.xml", item)
	got, err := importBytes(pkg)
	if err != nil {
		t.Fatal(err)
	}
	want := items.Content{Kind: items.ShortText, Domain: DefaultDomain, Stem: `Capital of Switzerland? \_\_\_\_\_`,
		Accepted: []string{"Bern", "berne"}, Points: 4}
	if c := got[0].Content; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
}
