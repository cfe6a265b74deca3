package baked_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/credential/baked"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// svgDoc is a rendered badge as encoding/xml reads it.
type svgDoc struct {
	XMLName   xml.Name
	Role      string    `xml:"role,attr"`
	AriaLabel string    `xml:"aria-label,attr"`
	ViewBox   string    `xml:"viewBox,attr"`
	Title     string    `xml:"title"`
	Desc      string    `xml:"desc"`
	Paths     []svgPath `xml:"path"`
	Texts     []svgText `xml:"g>text"`
}

type svgPath struct {
	D    string `xml:"d,attr"`
	Fill string `xml:"fill,attr"`
}

type svgText struct {
	Size       float64 `xml:"font-size,attr"`
	Weight     string  `xml:"font-weight,attr"`
	TextLength float64 `xml:"textLength,attr"`
	Spacing    string  `xml:"letter-spacing,attr"`
	Fill       string  `xml:"fill,attr"`
	Text       string  `xml:",chardata"`
}

func renderSVG(t *testing.T, d baked.Design) (svgDoc, []byte) {
	t.Helper()
	b, err := baked.RenderSVG(d)
	if err != nil {
		t.Fatalf("RenderSVG: %v", err)
	}
	var doc svgDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("RenderSVG output is not well-formed XML: %v\n%s", err, b)
	}
	return doc, b
}

// titleLines returns the texts set in the title's style: bold, without the
// ribbon's letter spacing.
func titleLines(doc svgDoc) []svgText {
	var lines []svgText
	for _, t := range doc.Texts {
		if t.Weight == "700" && t.Spacing == "" {
			lines = append(lines, t)
		}
	}
	return lines
}

func TestRenderSVGGolden(t *testing.T) {
	_, got := renderSVG(t, baked.Design{Title: "Certified Data Analyst", Level: "Certificate", Issuer: "Touchstone Certification Board"})
	golden := filepath.Join("testdata", "badge.golden.svg")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("RenderSVG differs from %s (run go test -update after checking the picture):\n%s", golden, got)
	}
}

func TestRenderSVG(t *testing.T) {
	doc, b := renderSVG(t, baked.Design{Title: "  Certified\n Data   Analyst ", Level: "Level 2", Issuer: "Acme Academy", Color: "#0F766E"})
	if doc.XMLName.Space != "http://www.w3.org/2000/svg" || doc.XMLName.Local != "svg" {
		t.Errorf("root = %v, want svg in the SVG namespace", doc.XMLName)
	}
	if doc.ViewBox != "0 0 512 512" || doc.Role != "img" {
		t.Errorf("viewBox %q, role %q; want \"0 0 512 512\", \"img\"", doc.ViewBox, doc.Role)
	}
	if want := "Certified Data Analyst, Level 2, issued by Acme Academy"; doc.AriaLabel != want {
		t.Errorf("aria-label = %q, want %q", doc.AriaLabel, want)
	}
	if doc.Title != "Certified Data Analyst" || doc.Desc != "Level 2 issued by Acme Academy" {
		t.Errorf("title %q, desc %q", doc.Title, doc.Desc)
	}
	if !bytes.Contains(b, []byte(`fill="#0f766e"`)) {
		t.Error("the accent colour is not used")
	}
	var texts []string
	for _, x := range doc.Texts {
		texts = append(texts, x.Text)
	}
	if got, want := strings.Join(texts, "|"), "Certified|Data Analyst|LEVEL 2|Acme Academy"; got != want {
		t.Errorf("texts = %q, want %q", got, want)
	}

	// Defaults: the calm blue and the "Badge" ribbon; no issuer line.
	doc, b = renderSVG(t, baked.Design{Title: "Python"})
	if !bytes.Contains(b, []byte(`fill="`+baked.DefaultColor+`"`)) {
		t.Errorf("default colour %s not used", baked.DefaultColor)
	}
	if len(doc.Texts) != 2 || doc.Texts[1].Text != "BADGE" || doc.AriaLabel != "Python, Badge" {
		t.Errorf("texts %+v, aria-label %q; want the title and BADGE", doc.Texts, doc.AriaLabel)
	}
}

func TestRenderSVGEscapes(t *testing.T) {
	title := `<script>alert("x")</script> & <b>'bold'</b>`
	issuer := `Evil" onload="alert(1)`
	doc, b := renderSVG(t, baked.Design{Title: title, Issuer: issuer, Level: "<i>"})
	for _, bad := range []string{"<script", "<b>", "<i>", `" onload="`} {
		if bytes.Contains(b, []byte(bad)) {
			t.Errorf("output contains %q unescaped", bad)
		}
	}
	if doc.Title != title {
		t.Errorf("<title> = %q, want %q", doc.Title, title)
	}
	if !strings.Contains(doc.AriaLabel, issuer) {
		t.Errorf("aria-label %q lost the issuer %q", doc.AriaLabel, issuer)
	}
	// No element other than the badge's own appears.
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "svg", "title", "desc", "path", "g", "text":
			default:
				t.Errorf("unexpected element <%s>", se.Name.Local)
			}
		}
	}
	var all string
	for _, x := range doc.Texts {
		all += x.Text + " "
	}
	if !strings.Contains(all, "<script>") {
		t.Errorf("the title's text %q does not show <script> as text", all)
	}
}

func TestRenderSVGWrapsTitle(t *testing.T) {
	for _, tc := range []struct {
		title     string
		lines     int
		ellipsis  bool
		firstLine string
	}{
		{"Python", 1, false, "Python"},
		{"Certified Data Analyst", 2, false, "Certified"},
		{"Advanced Psychometric Methods for Large-Scale Assessment", 3, false, "Advanced Psychometric"},
		{strings.Repeat("Measurement ", 16), 3, true, "Measurement"},
		{strings.Repeat("W", 60), 3, true, ""},
	} {
		t.Run(tc.title, func(t *testing.T) {
			doc, _ := renderSVG(t, baked.Design{Title: tc.title})
			lines := titleLines(doc)
			if len(lines) != tc.lines {
				t.Fatalf("%d title lines %+v, want %d", len(lines), lines, tc.lines)
			}
			last := lines[len(lines)-1].Text
			if got := strings.HasSuffix(last, "…"); got != tc.ellipsis {
				t.Errorf("last line %q ends with an ellipsis: %v, want %v", last, got, tc.ellipsis)
			}
			if tc.firstLine != "" && lines[0].Text != tc.firstLine {
				t.Errorf("first line %q, want %q", lines[0].Text, tc.firstLine)
			}
			for _, l := range lines {
				if l.TextLength <= 0 || l.TextLength > 300 {
					t.Errorf("line %q is %v wide, want (0, 300]", l.Text, l.TextLength)
				}
			}
		})
	}
}

func TestDesignErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    baked.Design
	}{
		{"no title", baked.Design{Title: " \n "}},
		{"title too long", baked.Design{Title: strings.Repeat("é", baked.MaxDesignText+1)}},
		{"control character", baked.Design{Title: "a\x00b"}},
		{"invalid UTF-8", baked.Design{Title: "a\xffb"}},
		{"level too long", baked.Design{Title: "t", Level: strings.Repeat("x", baked.MaxDesignText+1)}},
		{"issuer control", baked.Design{Title: "t", Issuer: "a\x1bb"}},
		{"named colour", baked.Design{Title: "t", Color: "blue"}},
		{"short colour", baked.Design{Title: "t", Color: "#123"}},
		{"not hex", baked.Design{Title: "t", Color: "#12345g"}},
		{"css injection", baked.Design{Title: "t", Color: `#000" onload="x`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := baked.RenderSVG(tc.d); !errors.Is(err, baked.ErrDesign) {
				t.Errorf("RenderSVG error = %v, want ErrDesign", err)
			}
			if _, err := baked.RenderPNG(tc.d, 128); !errors.Is(err, baked.ErrDesign) {
				t.Errorf("RenderPNG error = %v, want ErrDesign", err)
			}
		})
	}
	for _, size := range []int{0, baked.MinPNGSize - 1, baked.MaxPNGSize + 1} {
		if _, err := baked.RenderPNG(baked.Design{Title: "t"}, size); !errors.Is(err, baked.ErrDesign) {
			t.Errorf("RenderPNG(size %d) error = %v, want ErrDesign", size, err)
		}
	}
}

func TestRenderPNG(t *testing.T) {
	for _, size := range []int{baked.MinPNGSize, 300, 512, baked.MaxPNGSize} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			b, err := baked.RenderPNG(baked.Design{Title: "Certified Data Analyst", Level: "Certificate", Issuer: "Touchstone", Color: "#0f766e"}, size)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("image/png cannot decode RenderPNG's output: %v", err)
			}
			if got := img.Bounds(); got != image.Rect(0, 0, size, size) {
				t.Fatalf("bounds %v, want %dx%d", got, size, size)
			}
			at := func(x, y float64) color.NRGBA {
				s := float64(size) / 512
				return color.NRGBAModel.Convert(img.At(int(x*s), int(y*s))).(color.NRGBA)
			}
			if c := at(2, 2); c.A != 0 {
				t.Errorf("corner pixel %v, want transparent", c)
			}
			if size < 256 {
				return // the ring is a few pixels wide: colours blend
			}
			// The ring, between the rim and the white line, is the accent.
			if c := at(70, 240); !near(c, color.NRGBA{0x0f, 0x76, 0x6e, 0xff}) {
				t.Errorf("ring pixel %v, want the accent #0f766e", c)
			}
			// The face, beside the title, is a deep tint of the accent.
			face := at(96, 280)
			if face.A != 0xff || int(face.R)+int(face.G)+int(face.B) > 150 || face.G <= face.R {
				t.Errorf("face pixel %v, want a dark, opaque green tint", face)
			}
			// The title is drawn: white pixels across its lines.
			white := 0
			for y := 170.0; y < 260; y++ {
				for x := 110.0; x < 400; x++ {
					if c := at(x, y); c.R > 240 && c.G > 240 && c.B > 240 {
						white++
					}
				}
			}
			if white < 1500 { // sampled on the 512 canvas
				t.Errorf("%d white pixels in the title area, want the title drawn", white)
			}
		})
	}
}

func near(a, b color.NRGBA) bool {
	d := func(x, y uint8) bool { return x-y <= 2 || y-x <= 2 }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && d(a.A, b.A)
}

// TestRenderedBadgesBake runs the path a holder's download takes: render,
// bake, extract.
func TestRenderedBadgesBake(t *testing.T) {
	d := baked.Design{Title: "Certified Data Analyst", Level: "Certificate"}
	svg, err := baked.RenderSVG(d)
	if err != nil {
		t.Fatal(err)
	}
	pngImage, err := baked.RenderPNG(d, 256)
	if err != nil {
		t.Fatal(err)
	}
	cred := signedJSON(t)
	for _, tc := range []struct {
		image []byte
		bake  func(image, credential []byte) ([]byte, error)
	}{{svg, baked.BakeSVG}, {pngImage, baked.BakePNG}} {
		out, err := tc.bake(tc.image, cred)
		if err != nil {
			t.Fatal(err)
		}
		got, format, err := baked.Extract(out)
		if err != nil || !bytes.Equal(got, cred) {
			t.Fatalf("Extract(%s) = %.30q, %v; want the credential", format, got, err)
		}
	}
	// The baked SVG keeps the badge's accessible name.
	out, _ := baked.BakeSVG(svg, compactJWS())
	var doc svgDoc
	if err := xml.Unmarshal(out, &doc); err != nil || doc.Title != d.Title || doc.Role != "img" {
		t.Errorf("baked SVG: title %q, role %q, err %v", doc.Title, doc.Role, err)
	}
}
