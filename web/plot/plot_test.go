package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

var (
	update  = flag.Bool("update", false, "rewrite the golden files in testdata")
	preview = flag.String("preview", "", "write every test figure as SVG and PNG into this directory, to look at")
)

// sampleItems are four 3PL items spanning easy to hard, with a name that
// needs escaping in SVG and one too long for the legend.
var (
	sampleItems = []psychometrics.Item3PL{{A: 1, B: -1, C: 0.2}, {A: 1.8, B: 0, C: 0}, {A: 0.7, B: 1.2, C: 0.1}, {A: 1.2, B: 2, C: 0.25}}
	sampleNames = []string{"Q1 fractions", "Q2 a very long item name that the legend has to shorten", "Q3", "Q4 & <ratios>"}
)

// p3 is the 3PL probability, written out here independently of
// psychometrics.
func p3(it psychometrics.Item3PL, t float64) float64 {
	return it.C + (1-it.C)/(1+math.Exp(-it.A*(t-it.B)))
}

// info3 is the Fisher information as P'(θ)² / (P(1 − P)) with P' by a
// central difference: an independent route to the closed form.
func info3(it psychometrics.Item3PL, t float64) float64 {
	const h = 1e-5
	d := (p3(it, t+h) - p3(it, t-h)) / (2 * h)
	p := p3(it, t)
	return d * d / (p * (1 - p))
}

// cell parses a table cell as a number.
func cell(tb testing.TB, s string) float64 {
	tb.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("cell %q is not a number: %v", s, err)
	}
	return v
}

// must returns the figure or stops the test.
func must(tb testing.TB) func(*Figure, error) *Figure {
	return func(f *Figure, err error) *Figure {
		tb.Helper()
		if err != nil {
			tb.Fatalf("constructor: %v", err)
		}
		return f
	}
}

func TestItemCharacteristicTable(t *testing.T) {
	f := must(t)(ItemCharacteristic(sampleItems, sampleNames))
	wantHeader := append([]string{"θ"}, sampleNames...)
	if !reflect.DeepEqual(f.Table.Header, wantHeader) {
		t.Fatalf("header = %q, want %q", f.Table.Header, wantHeader)
	}
	if len(f.Table.Rows) != 33 {
		t.Fatalf("%d rows, want 33 (θ = −4..4 by 0.25)", len(f.Table.Rows))
	}
	for r, row := range f.Table.Rows {
		theta := -4 + 0.25*float64(r)
		if got := cell(t, row[0]); got != theta {
			t.Errorf("row %d θ = %v, want %v", r, got, theta)
		}
		for j, it := range sampleItems {
			if got, want := cell(t, row[j+1]), p3(it, theta); math.Abs(got-want) > 0.0005 {
				t.Errorf("θ=%v item %d: P = %v, want %.4f", theta, j+1, got, want)
			}
			if d := strings.Index(row[j+1], "."); len(row[j+1])-d-1 != 3 {
				t.Errorf("P cell %q: want 3 decimals", row[j+1])
			}
		}
	}
}

func TestItemInformationTable(t *testing.T) {
	for _, total := range []bool{false, true} {
		f := must(t)(ItemInformation(sampleItems, nil, total))
		want := []string{"θ", "Item 1", "Item 2", "Item 3", "Item 4"}
		if total {
			want = append(want, "Test")
		}
		if !reflect.DeepEqual(f.Table.Header, want) {
			t.Fatalf("total=%v: header = %q, want %q", total, f.Table.Header, want)
		}
		for _, row := range f.Table.Rows {
			theta := cell(t, row[0])
			var sum float64
			for j, it := range sampleItems {
				w := info3(it, theta)
				sum += w
				if got := cell(t, row[j+1]); math.Abs(got-w) > 0.0006 {
					t.Errorf("θ=%v item %d: I = %v, want %.4f", theta, j+1, got, w)
				}
			}
			if total {
				if got := cell(t, row[len(row)-1]); math.Abs(got-sum) > 0.001 {
					t.Errorf("θ=%v: test information %v, want %.4f", theta, got, sum)
				}
			}
		}
	}
}

func TestWrightMapTable(t *testing.T) {
	thetas := []float64{-0.2, 0.1, 0.3, 2.9, 3.0, -3}
	bs := []float64{0, 0.4, -2.6}
	f := must(t)(WrightMap(thetas, bs, []string{"Q1", "Q2", "Q3"}))
	// Bins of 0.5 from −3 to 3, highest first.
	want := [][]string{
		{"2.50", "3.00", "2", "0", ""},
		{"2.00", "2.50", "0", "0", ""},
		{"1.50", "2.00", "0", "0", ""},
		{"1.00", "1.50", "0", "0", ""},
		{"0.50", "1.00", "0", "0", ""},
		{"0.00", "0.50", "2", "2", "Q1; Q2"},
		{"-0.50", "0.00", "1", "0", ""},
		{"-1.00", "-0.50", "0", "0", ""},
		{"-1.50", "-1.00", "0", "0", ""},
		{"-2.00", "-1.50", "0", "0", ""},
		{"-2.50", "-2.00", "0", "0", ""},
		{"-3.00", "-2.50", "1", "1", "Q3"},
	}
	if !reflect.DeepEqual(f.Table.Rows, want) {
		t.Errorf("rows =\n%q\nwant\n%q", f.Table.Rows, want)
	}

	// A wide range doubles the bin width until at most 32 bins remain,
	// and every person and item is counted once.
	rng := rand.New(rand.NewPCG(3, 4))
	thetas = make([]float64, 5000)
	for i := range thetas {
		thetas[i] = rng.NormFloat64()
	}
	thetas[0] = 20
	bs = []float64{-7.5, 0, 1, 1}
	f = must(t)(WrightMap(thetas, bs, nil))
	if n := len(f.Table.Rows); n > 32 {
		t.Errorf("%d bins, want at most 32", n)
	}
	var persons, items float64
	for i, row := range f.Table.Rows {
		lo, hi := cell(t, row[0]), cell(t, row[1])
		if hi-lo != 1 {
			t.Errorf("row %d: bin [%v, %v), want width 1", i, lo, hi)
		}
		var wantP float64
		for _, x := range thetas {
			if x >= lo && (x < hi || (i == 0 && x == hi)) {
				wantP++
			}
		}
		if got := cell(t, row[2]); got != wantP {
			t.Errorf("bin [%v, %v): %v persons, want %v", lo, hi, got, wantP)
		}
		persons += cell(t, row[2])
		items += cell(t, row[3])
	}
	if persons != 5000 || items != 4 {
		t.Errorf("counted %v persons and %v items, want 5000 and 4", persons, items)
	}
}

func TestScoreDistributionTable(t *testing.T) {
	scores := []float64{0, 3, 3, 5, 7, 7, 7, 10}
	f := must(t)(ScoreDistribution(scores, 10, 7))
	if len(f.Table.Rows) != 11 {
		t.Fatalf("%d rows, want 11 (scores 0..10)", len(f.Table.Rows))
	}
	counts := map[string]string{"0": "1", "3": "2", "5": "1", "7": "3", "10": "1"}
	for _, row := range f.Table.Rows {
		want := counts[row[0]]
		if want == "" {
			want = "0"
		}
		if row[1] != want {
			t.Errorf("score %s: count %s, want %s", row[0], row[1], want)
		}
	}
	// 4 of 8 scores are ≥ 7.
	if !strings.Contains(f.Title, "pass rate 50.0%") {
		t.Errorf("title %q does not give the pass rate 50.0%%", f.Title)
	}

	// Fractional scores fall into 25 bins whose counts sum to n.
	rng := rand.New(rand.NewPCG(5, 6))
	scores = make([]float64, 999)
	for i := range scores {
		scores[i] = math.Round(rng.Float64()*600) / 10
	}
	scores[0] = 60 // the top edge belongs to the last bin
	var pass int
	for _, s := range scores {
		if s >= 33.3 {
			pass++
		}
	}
	f = must(t)(ScoreDistribution(scores, 60, 33.3))
	if len(f.Table.Rows) != 25 {
		t.Fatalf("%d bins, want 25", len(f.Table.Rows))
	}
	var n float64
	for _, row := range f.Table.Rows {
		n += cell(t, row[1])
	}
	if n != 999 {
		t.Errorf("bin counts sum to %v, want 999", n)
	}
	if last := f.Table.Rows[24][0]; last != "[57.60, 60.00]" {
		t.Errorf("last bin %q, want [57.60, 60.00]", last)
	}
	want := fmt.Sprintf("pass rate %.1f%%", 100*float64(pass)/999)
	if !strings.Contains(f.Title, want) {
		t.Errorf("title %q, want it to contain %q", f.Title, want)
	}
}

func TestOptionQuantilesTable(t *testing.T) {
	props := [][]float64{{0.2, 0.5, 0.3}, {0.45, 0.35, 0.2}, {0.9, 0.1, 0}}
	f := must(t)(OptionQuantiles(props, []string{"A", "B", "C"}, 1))
	if want := []string{"Score group", "A", "B (key)", "C"}; !reflect.DeepEqual(f.Table.Header, want) {
		t.Errorf("header = %q, want %q", f.Table.Header, want)
	}
	want := [][]string{{"1", "0.200", "0.500", "0.300"}, {"2", "0.450", "0.350", "0.200"}, {"3", "0.900", "0.100", "0.000"}}
	if !reflect.DeepEqual(f.Table.Rows, want) {
		t.Errorf("rows = %q, want %q", f.Table.Rows, want)
	}
}

// figures returns one figure of each kind, for the rendering tests.
func figures(tb testing.TB) map[string]*Figure {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	thetas := make([]float64, 2000)
	for i := range thetas {
		thetas[i] = rng.NormFloat64()*1.2 + 0.3
	}
	bs := make([]float64, 25)
	for i := range bs {
		bs[i] = rng.NormFloat64() * 1.5
	}
	scores := make([]float64, 1500)
	for i := range scores {
		scores[i] = float64(min(40, max(0, int(rng.NormFloat64()*7+26))))
	}
	props := [][]float64{{.2, .35, .3, .15}, {.35, .3, .25, .1}, {.55, .2, .15, .1}, {.7, .15, .1, .05}, {.88, .05, .05, .02}}
	m := must(tb)
	return map[string]*Figure{
		"icc":     m(ItemCharacteristic(sampleItems, sampleNames)),
		"info":    m(ItemInformation(sampleItems, sampleNames, true)),
		"wright":  m(WrightMap(thetas, bs, nil)),
		"scores":  m(ScoreDistribution(scores, 40, 24)),
		"options": m(OptionQuantiles(props, []string{"A", "B", "C", "D"}, 0)),
	}
}

// svgDoc is what the tests read back from an SVG.
type svgDoc struct {
	role, ariaLabel, title string
	texts                  []string
}

// parseSVG decodes doc to EOF, failing on malformed XML, and returns the
// root's accessibility attributes, its <title> and the text of every
// <text>.
func parseSVG(tb testing.TB, doc []byte) svgDoc {
	tb.Helper()
	var out svgDoc
	d := xml.NewDecoder(bytes.NewReader(doc))
	var path []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(path) == 0 {
				if tok.Name.Local != "svg" {
					tb.Fatalf("root element <%s>, want <svg>", tok.Name.Local)
				}
				for _, a := range tok.Attr {
					switch a.Name.Local {
					case "role":
						out.role = a.Value
					case "aria-label":
						out.ariaLabel = a.Value
					}
				}
			}
			path = append(path, tok.Name.Local)
		case xml.EndElement:
			path = path[:len(path)-1]
		case xml.CharData:
			if len(path) == 2 && path[1] == "title" {
				out.title += string(tok)
			}
			if len(path) > 0 && path[len(path)-1] == "text" {
				out.texts = append(out.texts, string(tok))
			}
		}
	}
	if len(path) != 0 {
		tb.Fatalf("SVG ends inside <%s>", path[len(path)-1])
	}
	return out
}

func TestSVG(t *testing.T) {
	for name, f := range figures(t) {
		t.Run(name, func(t *testing.T) {
			b, err := f.SVG()
			if err != nil {
				t.Fatal(err)
			}
			writePreview(t, name, f, b)
			doc := parseSVG(t, b)
			if doc.role != "img" {
				t.Errorf("root role = %q, want img", doc.role)
			}
			if doc.ariaLabel != f.Title || doc.title != f.Title {
				t.Errorf("aria-label %q, <title> %q, want both %q", doc.ariaLabel, doc.title, f.Title)
			}
			for _, want := range []string{f.Title, f.XLabel, f.YLabel} {
				if !contains(doc.texts, want) {
					t.Errorf("no <text> %q in the SVG", want)
				}
			}
			// Self-contained: no fonts embedded or fetched, nothing linked.
			for _, bad := range []string{"@font-face", "url(", "@import", "href="} {
				if bytes.Contains(b, []byte(bad)) {
					t.Errorf("SVG contains %q", bad)
				}
			}
			again, err := f.SVG()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, again) {
				t.Error("rendering twice gave different SVG bytes")
			}
		})
	}
}

// TestSVGEscapes checks that names with markup characters reach the SVG
// as text, not markup.
func TestSVGEscapes(t *testing.T) {
	f := must(t)(ItemCharacteristic(sampleItems[:1], []string{`A<b>&"c"`}))
	f.Title = `P(θ) for <A&B>`
	b, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	doc := parseSVG(t, b)
	if doc.title != f.Title || !contains(doc.texts, `A<b>&"c"`) {
		t.Errorf("title %q, texts %q: want the raw names back", doc.title, doc.texts)
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func TestPNG(t *testing.T) {
	figs := figures(t)
	for _, w := range []int{MinPNGWidth, 777, MaxPNGWidth} {
		for name, f := range figs {
			b, err := f.PNG(w)
			if err != nil {
				t.Fatalf("%s at %d px: %v", name, w, err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s at %d px: not a PNG: %v", name, w, err)
			}
			wantH := int(math.Round(float64(w) * 400 / 640))
			if got := img.Bounds().Size(); got.X != w || got.Y != wantH {
				t.Errorf("%s: image %v, want %dx%d", name, got, w, wantH)
			}
			if w == 777 {
				writePreviewFile(t, name+".png", b)
			}
		}
	}
	for _, w := range []int{0, MinPNGWidth - 1, MaxPNGWidth + 1} {
		if _, err := figs["icc"].PNG(w); !errors.Is(err, ErrInvalid) {
			t.Errorf("PNG(%d): error %v, want ErrInvalid", w, err)
		}
	}
}

func TestRecords(t *testing.T) {
	f := must(t)(ItemCharacteristic(sampleItems, sampleNames))
	recs := f.Table.Records()
	want := append([][]string{f.Table.Header}, f.Table.Rows...)
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records differ from the table:\n%q\nwant\n%q", recs, want)
	}
	for i, r := range recs {
		if len(r) != len(f.Table.Header) {
			t.Errorf("record %d has %d cells, want %d (the header's)", i, len(r), len(f.Table.Header))
		}
	}
}

func TestErrors(t *testing.T) {
	nan := math.NaN()
	items := func(n int) []psychometrics.Item3PL {
		its := make([]psychometrics.Item3PL, n)
		for i := range its {
			its[i] = psychometrics.Item3PL{A: 1, B: float64(i) / 4}
		}
		return its
	}
	props := [][]float64{{0.5, 0.5}, {0.2, 0.8}}
	cases := []struct {
		name string
		call func() (*Figure, error)
	}{
		{"icc no items", func() (*Figure, error) { return ItemCharacteristic(nil, nil) }},
		{"icc too many items", func() (*Figure, error) { return ItemCharacteristic(items(MaxCurves+1), nil) }},
		{"icc NaN a", func() (*Figure, error) { return ItemCharacteristic([]psychometrics.Item3PL{{A: nan}}, nil) }},
		{"icc infinite b", func() (*Figure, error) {
			return ItemCharacteristic([]psychometrics.Item3PL{{A: 1, B: math.Inf(1)}}, nil)
		}},
		{"icc c = 1", func() (*Figure, error) { return ItemCharacteristic([]psychometrics.Item3PL{{A: 1, C: 1}}, nil) }},
		{"icc names mismatch", func() (*Figure, error) { return ItemCharacteristic(items(2), []string{"a"}) }},
		{"icc name too long", func() (*Figure, error) {
			return ItemCharacteristic(items(1), []string{strings.Repeat("x", MaxNameLen+1)})
		}},
		{"info no items", func() (*Figure, error) { return ItemInformation(nil, nil, true) }},
		{"info too many items", func() (*Figure, error) { return ItemInformation(items(13), nil, false) }},
		{"wright no persons", func() (*Figure, error) { return WrightMap(nil, []float64{0}, nil) }},
		{"wright no items", func() (*Figure, error) { return WrightMap([]float64{0}, nil, nil) }},
		{"wright NaN theta", func() (*Figure, error) { return WrightMap([]float64{0, nan}, []float64{0}, nil) }},
		{"wright infinite b", func() (*Figure, error) { return WrightMap([]float64{0}, []float64{math.Inf(-1)}, nil) }},
		{"wright names mismatch", func() (*Figure, error) { return WrightMap([]float64{0}, []float64{0, 1}, []string{"a"}) }},
		{"wright too many items", func() (*Figure, error) {
			return WrightMap([]float64{0}, make([]float64, MaxWrightItems+1), nil)
		}},
		{"scores empty", func() (*Figure, error) { return ScoreDistribution(nil, 10, 5) }},
		{"scores NaN", func() (*Figure, error) { return ScoreDistribution([]float64{1, nan}, 10, 5) }},
		{"score above max", func() (*Figure, error) { return ScoreDistribution([]float64{11}, 10, 5) }},
		{"score negative", func() (*Figure, error) { return ScoreDistribution([]float64{-1}, 10, 5) }},
		{"cut above max", func() (*Figure, error) { return ScoreDistribution([]float64{1}, 10, 10.5) }},
		{"cut negative", func() (*Figure, error) { return ScoreDistribution([]float64{1}, 10, -1) }},
		{"cut NaN", func() (*Figure, error) { return ScoreDistribution([]float64{1}, 10, nan) }},
		{"max zero", func() (*Figure, error) { return ScoreDistribution([]float64{0}, 0, 0) }},
		{"max infinite", func() (*Figure, error) { return ScoreDistribution([]float64{0}, math.Inf(1), 0) }},
		{"options key negative", func() (*Figure, error) { return OptionQuantiles(props, []string{"A", "B"}, -1) }},
		{"options key too big", func() (*Figure, error) { return OptionQuantiles(props, []string{"A", "B"}, 2) }},
		{"options one group", func() (*Figure, error) { return OptionQuantiles(props[:1], []string{"A", "B"}, 0) }},
		{"options one option", func() (*Figure, error) { return OptionQuantiles([][]float64{{1}, {1}}, []string{"A"}, 0) }},
		{"options row length", func() (*Figure, error) { return OptionQuantiles(props, []string{"A", "B", "C"}, 0) }},
		{"options NaN", func() (*Figure, error) { return OptionQuantiles([][]float64{{nan, 1}, {0, 1}}, []string{"A", "B"}, 0) }},
		{"options above 1", func() (*Figure, error) { return OptionQuantiles([][]float64{{1.2, 0}, {0, 1}}, []string{"A", "B"}, 0) }},
		{"options empty label", func() (*Figure, error) { return OptionQuantiles(props, []string{"A", " "}, 0) }},
		{"options too many", func() (*Figure, error) {
			row := make([]float64, MaxOptions+1)
			return OptionQuantiles([][]float64{row, row}, strings.Split("ABCDEFGHIJK", ""), 0)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := c.call()
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v, want ErrInvalid", err)
			}
			if f != nil {
				t.Error("got a figure along with the error")
			}
		})
	}
}

// TestGoldenSVG pins the SVG of one small figure; run go test -update to
// rewrite testdata/icc.svg after checking why it changed.
func TestGoldenSVG(t *testing.T) {
	f := must(t)(ItemCharacteristic([]psychometrics.Item3PL{{A: 1.2, B: -0.5, C: 0.2}, {A: 0.8, B: 1, C: 0}}, []string{"Q1", "Q2"}))
	got, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("testdata", "icc.svg")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update after checking why)", file)
	}
}

// writePreview writes f as SVG to the -preview directory, if given.
func writePreview(tb testing.TB, name string, f *Figure, svg []byte) {
	tb.Helper()
	writePreviewFile(tb, name+".svg", svg)
}

func writePreviewFile(tb testing.TB, name string, b []byte) {
	tb.Helper()
	if *preview == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(*preview, name), b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func BenchmarkWrightMap(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	thetas := make([]float64, 10_000)
	for i := range thetas {
		thetas[i] = rng.NormFloat64()
	}
	bs := make([]float64, 200)
	for i := range bs {
		bs[i] = rng.NormFloat64() * 1.2
	}
	for b.Loop() {
		f, err := WrightMap(thetas, bs, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.SVG(); err != nil {
			b.Fatal(err)
		}
	}
}
