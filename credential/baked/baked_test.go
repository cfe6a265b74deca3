package baked_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/credential/baked"
)

const obNamespace = "https://purl.imsglobal.org/ob/v3p0"

// signedJSON returns a real Data Integrity credential from the credential
// package's golden files.
func signedJSON(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "achievement_credential_signed.golden.json"))
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

// compactJWS returns a credential in VC-JWT form: the shape of a compact JWS
// is all baking looks at.
func compactJWS() []byte {
	enc := base64.RawURLEncoding
	return []byte(enc.EncodeToString([]byte(`{"alg":"EdDSA","typ":"vc+jwt"}`)) + "." +
		enc.EncodeToString([]byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential","OpenBadgeCredential"]}`)) + "." +
		enc.EncodeToString(bytes.Repeat([]byte{0xfb}, 64)))
}

// trickyJSON holds the CDATA terminator, a CR and non-ASCII text.
var trickyJSON = []byte("{\"name\": \"a]]>b ]]]]> <![CDATA[ & <script>\",\r\n\"note\": \"Zoë ✓ \\u0000\"}")

// testPNG encodes a small image with image/png.
func testPNG(tb testing.TB) []byte {
	tb.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 7, 5))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

const testSVG = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a badge -->
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" data-note="a &gt; b">
  <title>Test &amp; badge</title>
  <circle cx="5" cy="5" r="4" fill="#123456"/>
</svg>
`

func TestBakeExtractRoundTrip(t *testing.T) {
	credentials := map[string][]byte{
		"json":   signedJSON(t),
		"jws":    compactJWS(),
		"tricky": trickyJSON,
	}
	images := map[string]struct {
		image   []byte
		bake    func(image, credential []byte) ([]byte, error)
		extract func([]byte) ([]byte, error)
	}{
		baked.FormatPNG: {testPNG(t), baked.BakePNG, baked.ExtractPNG},
		baked.FormatSVG: {[]byte(testSVG), baked.BakeSVG, baked.ExtractSVG},
	}
	for format, im := range images {
		for name, cred := range credentials {
			t.Run(format+"/"+name, func(t *testing.T) {
				out, err := im.bake(im.image, cred)
				if err != nil {
					t.Fatalf("bake: %v", err)
				}
				got, err := im.extract(out)
				if err != nil {
					t.Fatalf("extract: %v", err)
				}
				if !bytes.Equal(got, cred) {
					t.Fatalf("extracted %q, want %q", got, cred)
				}
				got, gotFormat, err := baked.Extract(out)
				if err != nil || gotFormat != format || !bytes.Equal(got, cred) {
					t.Fatalf("Extract = %q, %q, %v; want the credential, %q, nil", got, gotFormat, err, format)
				}
				checkImage(t, format, out)
			})
		}
	}
}

// checkImage checks that a baked image is still a valid image of its format.
func checkImage(t *testing.T, format string, out []byte) {
	t.Helper()
	switch format {
	case baked.FormatPNG:
		img, err := png.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("image/png cannot decode the baked PNG: %v", err)
		}
		if got := img.Bounds().Size(); got != image.Pt(7, 5) {
			t.Fatalf("baked PNG is %v, want 7x5", got)
		}
		if n := countCredentialChunks(t, out); n != 1 {
			t.Fatalf("baked PNG has %d credential chunks, want 1", n)
		}
	case baked.FormatSVG:
		creds := svgCredentials(t, out)
		if len(creds) != 1 {
			t.Fatalf("baked SVG has %d openbadges:credential elements, want 1", len(creds))
		}
	}
}

// countCredentialChunks walks the chunks of a PNG and counts iTXt chunks
// with the Open Badges keyword, checking the fields the specification fixes.
func countCredentialChunks(t *testing.T, b []byte) int {
	t.Helper()
	n := 0
	b = b[8:]
	for len(b) >= 12 {
		size := binary.BigEndian.Uint32(b)
		typ, data := string(b[4:8]), b[8:8+size]
		if typ == "iTXt" && bytes.HasPrefix(data, []byte("openbadgecredential\x00")) {
			n++
			if !bytes.HasPrefix(data, []byte("openbadgecredential\x00\x00\x00\x00\x00")) {
				t.Errorf("iTXt header = %q, want keyword, compression 0/0, empty language tag and translated keyword", data[:min(len(data), 25)])
			}
		}
		b = b[12+size:]
	}
	return n
}

// svgElement is a credential element as encoding/xml reads it.
type svgElement struct {
	Verify string `xml:"verify,attr"`
	Text   string `xml:",chardata"`
}

// svgCredentials decodes a baked SVG with encoding/xml (so it must be
// well-formed) and returns its credential elements in the Open Badges 3.0
// namespace, checking that the first is the root's first child element.
func svgCredentials(t *testing.T, b []byte) []svgElement {
	t.Helper()
	var doc struct {
		XMLName xml.Name
		Attrs   []xml.Attr   `xml:",any,attr"`
		Creds   []svgElement `xml:"https://purl.imsglobal.org/ob/v3p0 credential"`
		Any     []struct {
			XMLName xml.Name
		} `xml:",any"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("baked SVG is not well-formed XML: %v\n%s", err, b)
	}
	if doc.XMLName.Local != "svg" {
		t.Fatalf("root is <%s>, want <svg>", doc.XMLName.Local)
	}
	declared := false
	for _, a := range doc.Attrs {
		if a.Name.Space == "xmlns" && a.Name.Local == "openbadges" && a.Value == obNamespace {
			declared = true
		}
	}
	if !declared {
		t.Errorf("root has no xmlns:openbadges=%q", obNamespace)
	}
	// The element directly follows the opening tag.
	_, after, _ := bytes.Cut(b, []byte("<svg"))
	_, after, _ = bytes.Cut(after, []byte(">"))
	if len(doc.Creds) > 0 && !bytes.HasPrefix(after, []byte("<openbadges:credential")) {
		t.Errorf("the credential element does not directly follow <svg>: %.60q", after)
	}
	return doc.Creds
}

func TestBakeSVGForms(t *testing.T) {
	jws := compactJWS()
	out, err := baked.BakeSVG([]byte(testSVG), jws)
	if err != nil {
		t.Fatal(err)
	}
	creds := svgCredentials(t, out)
	if len(creds) != 1 || creds[0].Verify != string(jws) || strings.TrimSpace(creds[0].Text) != "" {
		t.Fatalf("JWS credential element = %+v, want verify=%q and no text", creds, jws)
	}

	out, err = baked.BakeSVG([]byte(testSVG), trickyJSON)
	if err != nil {
		t.Fatal(err)
	}
	creds = svgCredentials(t, out)
	if len(creds) != 1 || creds[0].Verify != "" || creds[0].Text != string(trickyJSON) {
		t.Fatalf("JSON credential element = %+v, want text %q and no verify", creds, trickyJSON)
	}
	if !bytes.Contains(out, []byte("<![CDATA[{")) {
		t.Errorf("JSON is not in CDATA:\n%s", out)
	}
	// The rest of the document is untouched.
	rest := strings.TrimPrefix(testSVG[strings.Index(testSVG, "<svg"):], `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" data-note="a &gt; b">`)
	if !bytes.HasSuffix(out, []byte(rest)) || !bytes.HasPrefix(out, []byte(testSVG[:strings.Index(testSVG, "<svg")])) {
		t.Errorf("BakeSVG changed the document around the credential:\n%s", out)
	}
}

func TestRebakeReplaces(t *testing.T) {
	first, second := signedJSON(t), compactJWS()
	for _, tc := range []struct {
		name  string
		image []byte
		bake  func(image, credential []byte) ([]byte, error)
	}{
		{"png", testPNG(t), baked.BakePNG},
		{"svg", []byte(testSVG), baked.BakeSVG},
	} {
		t.Run(tc.name, func(t *testing.T) {
			once, err := tc.bake(tc.image, first)
			if err != nil {
				t.Fatal(err)
			}
			twice, err := tc.bake(once, second)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := baked.Extract(twice)
			if err != nil || !bytes.Equal(got, second) {
				t.Fatalf("after re-baking, Extract = %q, %v; want %q", got, err, second)
			}
			if bytes.Contains(twice, []byte(`"proofValue"`)) {
				t.Error("the first credential is still in the image")
			}
			checkImage(t, tc.name, twice)
			// Baking the same credential again gives the same image.
			again, err := tc.bake(twice, second)
			if err != nil || !bytes.Equal(again, twice) {
				t.Errorf("baking the same credential twice changed the image (err %v)", err)
			}
		})
	}
}

func TestBakeSVGVariants(t *testing.T) {
	cred := signedJSON(t)
	for _, tc := range []struct{ name, svg string }{
		{"self-closing root", `<svg xmlns="http://www.w3.org/2000/svg"/>`},
		{"byte order mark", "\xef\xbb\xbf" + testSVG},
		{"namespace already declared", `<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><rect/></svg>`},
		{"other prefix, element deep inside", `<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="https://purl.imsglobal.org/ob/v3p0"><g><ob:credential verify="a.b.c"/></g></svg>`},
		{"no svg namespace", `<svg viewBox="0 0 1 1"></svg>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := baked.BakeSVG([]byte(tc.svg), cred)
			if err != nil {
				t.Fatal(err)
			}
			if len(svgCredentials(t, out)) != 1 {
				t.Fatalf("want exactly one credential element:\n%s", out)
			}
			got, err := baked.ExtractSVG(out)
			if err != nil || !bytes.Equal(got, cred) {
				t.Fatalf("ExtractSVG = %.40q, %v; want the credential", got, err)
			}
		})
	}
}

func TestExtractSVGOtherBakers(t *testing.T) {
	// The specification's own example: JSON in CDATA with white space around.
	const spec = `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0" viewBox="0 0 512 512">
  <openbadges:credential>
    <![CDATA[
      {"id": "http://example.edu/credentials/3732"}
    ]]>
  </openbadges:credential>
</svg>`
	got, err := baked.ExtractSVG([]byte(spec))
	if want := `{"id": "http://example.edu/credentials/3732"}`; err != nil || string(got) != want {
		t.Fatalf("ExtractSVG = %q, %v; want %q", got, err, want)
	}
	// An Open Badges 2.0 assertion is not an OB 3.0 credential.
	const ob2 = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org"><openbadges:assertion verify="a.b.c"/></svg>`
	if _, err := baked.ExtractSVG([]byte(ob2)); !errors.Is(err, baked.ErrNotBaked) {
		t.Errorf("ExtractSVG(OB 2.0 image) error = %v, want ErrNotBaked", err)
	}
	if _, err := baked.BakeSVG([]byte(ob2), compactJWS()); !errors.Is(err, baked.ErrMalformed) {
		t.Errorf("BakeSVG(OB 2.0 image) error = %v, want ErrMalformed (prefix bound elsewhere)", err)
	}
}

// withBadCRC returns a copy of a baked PNG with one byte of the credential
// chunk's text changed but its CRC left as it was.
func withBadCRC(t testing.TB, b []byte) []byte {
	t.Helper()
	b = bytes.Clone(b)
	i := bytes.Index(b, []byte("openbadgecredential\x00"))
	if i < 0 {
		t.Fatal("no credential chunk")
	}
	b[i+30] ^= 0x01
	return b
}

// withChunk inserts a chunk of type typ with data after IHDR.
func withChunk(b []byte, typ string, data []byte) []byte {
	const afterIHDR = 8 + 12 + 13
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	return append(append(bytes.Clone(b[:afterIHDR]), c...), b[afterIHDR:]...)
}

func TestExtractErrors(t *testing.T) {
	pngImage := testPNG(t)
	bakedPNG, err := baked.BakePNG(pngImage, compactJWS())
	if err != nil {
		t.Fatal(err)
	}
	tooLarge := make([]byte, baked.MaxImageBytes+1)
	copy(tooLarge, pngImage)
	for _, tc := range []struct {
		name  string
		image []byte
		want  error
	}{
		{"empty", nil, baked.ErrFormat},
		{"text", []byte("hello, world"), baked.ErrFormat},
		{"json", []byte(`{"type":"VerifiableCredential"}`), baked.ErrFormat},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), baked.ErrFormat},
		{"html", []byte(`<!DOCTYPE html><html><body>hi</body></html>`), baked.ErrFormat},
		{"xml not svg", []byte(`<?xml version="1.0"?><credential/>`), baked.ErrFormat},
		{"oversize", tooLarge, baked.ErrTooLarge},
		{"unbaked png", pngImage, baked.ErrNotBaked},
		{"unbaked svg", []byte(testSVG), baked.ErrNotBaked},
		{"bad CRC in credential chunk", withBadCRC(t, bakedPNG), baked.ErrMalformed},
		{"truncated png", bakedPNG[:len(bakedPNG)-5], baked.ErrMalformed},
		{"png signature only", pngImage[:8], baked.ErrMalformed},
		{"compressed credential chunk", withChunk(pngImage, "iTXt", []byte("openbadgecredential\x00\x01\x00\x00\x00x\x9c")), baked.ErrMalformed},
		{"empty credential chunk", withChunk(pngImage, "iTXt", []byte("openbadgecredential\x00\x00\x00\x00\x00  ")), baked.ErrMalformed},
		{"unterminated iTXt fields", withChunk(pngImage, "iTXt", []byte("openbadgecredential\x00\x00\x00en")), baked.ErrMalformed},
		{"svg not well-formed", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><g></svg>`), baked.ErrMalformed},
		{"svg empty credential", []byte(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"><openbadges:credential> </openbadges:credential></svg>`), baked.ErrMalformed},
		{"svg two roots", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/><svg/>`), baked.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := baked.Extract(tc.image)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Extract error = %v, want %v", err, tc.want)
			}
			if got != nil {
				t.Errorf("Extract returned %q with an error", got)
			}
		})
	}
	// The format-specific readers refuse the other format.
	if _, err := baked.ExtractPNG([]byte(testSVG)); !errors.Is(err, baked.ErrFormat) {
		t.Errorf("ExtractPNG(svg) error = %v, want ErrFormat", err)
	}
	if _, err := baked.ExtractSVG(pngImage); !errors.Is(err, baked.ErrFormat) {
		t.Errorf("ExtractSVG(png) error = %v, want ErrFormat", err)
	}
}

func TestBakeErrors(t *testing.T) {
	pngImage := testPNG(t)
	for _, tc := range []struct {
		name       string
		image, cre []byte
		want       error
	}{
		{"empty credential", pngImage, []byte("  "), baked.ErrCredential},
		{"json array", pngImage, []byte(`[{"a":1}]`), baked.ErrCredential},
		{"invalid json", pngImage, []byte(`{"a":`), baked.ErrCredential},
		{"json not utf-8", pngImage, []byte("{\"a\":\"\xff\"}"), baked.ErrCredential},
		{"two-part token", pngImage, []byte("abc.def"), baked.ErrCredential},
		{"jws with padding", pngImage, []byte("abc=.def.ghi"), baked.ErrCredential},
		{"jwe", pngImage, []byte("a.b.c.d.e"), baked.ErrCredential},
		{"plain text", pngImage, []byte("I passed"), baked.ErrCredential},
		{"not an image", []byte("hello"), compactJWS(), baked.ErrFormat},
		{"oversize image", make([]byte, baked.MaxImageBytes+1), compactJWS(), baked.ErrTooLarge},
		{"result too large", pngImage, []byte(`{"pad":"` + strings.Repeat("x", baked.MaxImageBytes) + `"}`), baked.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := baked.BakePNG(tc.image, tc.cre); !errors.Is(err, tc.want) {
				t.Errorf("BakePNG error = %v, want %v", err, tc.want)
			}
		})
	}

	// A damaged chunk anywhere stops a bake: the output would be damaged too.
	damaged := withChunk(pngImage, "tEXt", []byte("Comment\x00hi"))
	damaged[8+12+13+8] ^= 1
	if _, err := baked.BakePNG(damaged, compactJWS()); !errors.Is(err, baked.ErrMalformed) {
		t.Errorf("BakePNG(bad CRC) error = %v, want ErrMalformed", err)
	}
	if _, err := baked.BakeSVG([]byte(testSVG), []byte("{\"a\":\"\uffff\"}")); !errors.Is(err, baked.ErrCredential) {
		t.Errorf("BakeSVG(U+FFFF) error = %v, want ErrCredential (not an XML character)", err)
	}
	if _, err := baked.BakeSVG([]byte(`<svg><g></svg>`), compactJWS()); !errors.Is(err, baked.ErrMalformed) {
		t.Errorf("BakeSVG(broken XML) error = %v, want ErrMalformed", err)
	}
	if _, err := baked.BakeSVG([]byte(`<html/>`), compactJWS()); !errors.Is(err, baked.ErrFormat) {
		t.Errorf("BakeSVG(html) error = %v, want ErrFormat", err)
	}
}

func TestBakeTrimsWhitespace(t *testing.T) {
	jws := compactJWS()
	padded := append(append([]byte(" \n"), jws...), '\n')
	out, err := baked.BakePNG(testPNG(t), padded)
	if err != nil {
		t.Fatal(err)
	}
	got, err := baked.ExtractPNG(out)
	if err != nil || !bytes.Equal(got, jws) {
		t.Fatalf("ExtractPNG = %q, %v; want %q", got, err, jws)
	}
}

func TestBakePNGKeepsOtherChunks(t *testing.T) {
	in := withChunk(testPNG(t), "tEXt", []byte("Comment\x00kept"))
	in = withChunk(in, "iTXt", []byte("openbadges\x00\x00\x00\x00\x00a.b.c")) // Open Badges 2.0: not ours
	in = append(in, "trailing bytes"...)
	out, err := baked.BakePNG(in, compactJWS())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Comment\x00kept", "openbadges\x00\x00\x00\x00\x00a.b.c"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("chunk %q lost", want)
		}
	}
	if !bytes.HasSuffix(out, []byte("IEND\xaeB`\x82")) {
		t.Error("the baked PNG does not end with IEND")
	}
	// The credential chunk comes right after IHDR.
	if got := string(out[8+12+13+4 : 8+12+13+8]); got != "iTXt" {
		t.Errorf("chunk after IHDR is %q, want iTXt", got)
	}
	checkImage(t, baked.FormatPNG, out)
}

func FuzzExtract(f *testing.F) {
	pngImage := testPNG(f)
	bakedPNG, err := baked.BakePNG(pngImage, compactJWS())
	if err != nil {
		f.Fatal(err)
	}
	bakedSVG, err := baked.BakeSVG([]byte(testSVG), trickyJSON)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{nil, pngImage, bakedPNG, []byte(testSVG), bakedSVG, []byte("<svg/>"), withBadCRC(f, bakedPNG)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cred, format, err := baked.Extract(b)
		if err != nil {
			if cred != nil {
				t.Fatalf("credential %q returned with error %v", cred, err)
			}
			return
		}
		if format != baked.FormatPNG && format != baked.FormatSVG {
			t.Fatalf("format %q", format)
		}
		if len(cred) == 0 {
			t.Fatal("empty credential without an error")
		}
		// Whatever could be read from an image can be baked back only if it
		// is a credential; either way baking must not panic.
		if format == baked.FormatPNG {
			_, _ = baked.BakePNG(b, cred)
		} else {
			_, _ = baked.BakeSVG(b, cred)
		}
	})
}
