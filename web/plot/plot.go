// Package plot draws the psychometrician's figures on the server: item
// characteristic and information curves, Wright maps, score distributions
// and option-by-score-group plots. It is a pure drawing layer: numbers in,
// figures out, with no knowledge of storage or HTTP.
//
// Every Figure carries a title, axis labels and a Table holding the numbers
// behind it, so that a page can offer the table to screen readers and as
// CSV. Figures render as standalone SVG (real text, no external fonts or
// fetches, role="img" and a <title> on the root) and as PNG. The look is
// shared by all figures: sans-serif text at readable sizes, the Okabe–Ito
// colour-blind-safe palette, line styles that differ by dash pattern as well
// as colour, light grid lines, and legends beside the plot rather than over
// the data.
package plot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	xfont "golang.org/x/image/font"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// ErrInvalid is wrapped by every error a constructor returns for input it
// cannot draw: empty or NaN data, mismatched lengths, too many series,
// values out of range.
var ErrInvalid = errors.New("plot: invalid input")

// Limits on input that may come from outside (uploads, large exams); they
// bound the work and the size of the SVG.
const (
	// MaxCurves is the most items an ItemCharacteristic or ItemInformation
	// figure draws: beyond a dozen curves no reader can tell them apart.
	MaxCurves = 12
	// MaxOptions is the most options an OptionQuantiles figure draws.
	MaxOptions = 10
	// MaxGroups is the most score groups an OptionQuantiles figure draws.
	MaxGroups = 20
	// MaxPoints is the most values (persons, scores or item difficulties)
	// a WrightMap or ScoreDistribution accepts.
	MaxPoints = 1_000_000
	// MaxNameLen is the longest item or option name accepted, in bytes.
	MaxNameLen = 200
)

// Figure size in points (1/72 inch). The SVG is this size; a PNG is
// scaled to the requested width with the same aspect ratio.
const (
	figWidth  vg.Length = 640
	figHeight vg.Length = 400
	// legendWidth is the strip to the right of the data reserved for the
	// legend, so that no legend ever covers a curve.
	legendWidth vg.Length = 150
)

// PNG widths accepted by Figure.PNG, in pixels.
const (
	MinPNGWidth = 320
	MaxPNGWidth = 2000
)

// Table is the data behind a figure, for screen readers and CSV export.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string // formatted numbers, fixed decimals
}

// Records returns the header row, then the rows, as one table (the shape
// encoding/csv writes). The slices are shared with t.
func (t Table) Records() [][]string {
	return append([][]string{t.Header}, t.Rows...)
}

// Figure is one plot ready to render. Title, XLabel and YLabel describe it
// in words (Title is also the SVG's accessible name); Table holds the
// numbers drawn. A Figure must not be rendered from several goroutines at
// once.
type Figure struct {
	Title, XLabel, YLabel string
	Table                 Table

	// body draws everything below the title into the canvas it is given.
	// It reads XLabel and YLabel at draw time, so edits to them show.
	body func(f *Figure, dc draw.Canvas)
}

// SVG renders the figure as a standalone SVG document, 640 × 400 pt. Text
// is real <text> in Liberation Sans with Arial-compatible fallbacks (no
// embedded or fetched fonts); the root element carries role="img" and
// aria-label set to Title, and its first child is a <title>. Equal figures
// give identical bytes.
func (f *Figure) SVG() ([]byte, error) {
	c := vgsvg.New(figWidth, figHeight)
	f.draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot: writing SVG: %w", err)
	}
	return f.accessibleSVG(buf.Bytes())
}

// svgRoot is the end of the root element's start tag as vgsvg writes it.
const svgRoot = `xmlns:xlink="http://www.w3.org/1999/xlink">`

// accessibleSVG adds the accessible name to the root element and gives the
// font a fallback list: vgsvg names only the font it measured with, and
// Liberation Sans shares Arial's metrics, so text keeps its layout where
// Liberation is not installed.
func (f *Figure) accessibleSVG(doc []byte) ([]byte, error) {
	i := bytes.Index(doc, []byte(svgRoot))
	if i < 0 {
		return nil, errors.New("plot: unexpected SVG from vgsvg: root element not found")
	}
	var title bytes.Buffer
	if err := xml.EscapeText(&title, []byte(f.Title)); err != nil {
		return nil, fmt.Errorf("plot: escaping title: %w", err)
	}
	var out bytes.Buffer
	out.Grow(len(doc) + 2*title.Len() + 64)
	out.Write(doc[:i+len(svgRoot)-1])
	fmt.Fprintf(&out, ` role="img" aria-label="%s">`+"\n<title>%s</title>", title.Bytes(), title.Bytes())
	rest := doc[i+len(svgRoot):]
	rest = bytes.ReplaceAll(rest, []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
	out.Write(rest)
	return out.Bytes(), nil
}

// PNG renders the figure as a PNG image widthPx pixels wide (from
// MinPNGWidth to MaxPNGWidth) with the SVG's aspect ratio. It returns an
// error wrapping ErrInvalid for a width out of range.
func (f *Figure) PNG(widthPx int) ([]byte, error) {
	if widthPx < MinPNGWidth || widthPx > MaxPNGWidth {
		return nil, fmt.Errorf("%w: PNG width %d outside %d..%d", ErrInvalid, widthPx, MinPNGWidth, MaxPNGWidth)
	}
	heightPx := int(math.Round(float64(widthPx) * float64(figHeight/figWidth)))
	// vgimg takes a whole number of dots per inch; the nearest one keeps
	// the layout within a fraction of a percent of the SVG's, and the image
	// has exactly the requested size because we allocate it.
	dpi := max(1, int(math.Round(float64(widthPx)*float64(vg.Inch/figWidth))))
	img := image.NewRGBA(image.Rect(0, 0, widthPx, heightPx))
	c := vgimg.NewWith(vgimg.UseImage(img), vgimg.UseDPI(dpi))
	f.draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plot: writing PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// draw paints the title, then the body below it.
func (f *Figure) draw(dc draw.Canvas) {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	ts := textStyle(titleSize, true)
	ts.XAlign = draw.XCenter
	ts.YAlign = draw.YTop
	const margin = 8
	top := dc.Max.Y - margin
	dc.FillText(ts, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: top}, f.Title)
	body := draw.Crop(dc, margin, -margin, margin, -(margin + ts.Height(f.Title) + 6))
	f.body(f, body)
}

// Font sizes in points: large enough to read in a 640 pt wide figure shown
// at half size on a phone.
const (
	titleSize  = 14
	labelSize  = 12
	tickSize   = 10
	legendSize = 10
)

// textStyle returns the figures' sans-serif text style at size points.
func textStyle(size vg.Length, bold bool) text.Style {
	fnt := font.Font{Typeface: "Liberation", Variant: "Sans"}
	if bold {
		fnt.Weight = xfont.WeightBold
	}
	return text.Style{
		Color:   color.Black,
		Font:    font.From(fnt, size),
		Handler: gplot.DefaultTextHandler,
	}
}

// Okabe–Ito palette (Okabe & Ito, 2008, "Color Universal Design"), ordered
// for lines on white; yellow is left out as too pale for thin lines.
var palette = []color.Color{
	color.RGBA{0x00, 0x72, 0xB2, 0xFF}, // blue
	color.RGBA{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	color.RGBA{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	color.RGBA{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	color.RGBA{0xE6, 0x9F, 0x00, 0xFF}, // orange
	color.RGBA{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	color.RGBA{0x00, 0x00, 0x00, 0xFF}, // black
}

// dashes cycle with a period (4) prime to the palette's (7), so the first
// 28 series all differ in the pair (colour, dash) and a reader who cannot
// tell the colours apart still has the dash.
var dashes = [][]vg.Length{
	nil,                              // solid
	{vg.Points(6), vg.Points(3)},     // dashed
	{vg.Points(1.5), vg.Points(2.5)}, // dotted
	{vg.Points(7), vg.Points(2.5), vg.Points(1.5), vg.Points(2.5)}, // dash-dot
}

// seriesStyle is the line style of the i-th series of a figure.
func seriesStyle(i int) draw.LineStyle {
	return draw.LineStyle{
		Color:  palette[i%len(palette)],
		Width:  vg.Points(1.75),
		Dashes: dashes[i%len(dashes)],
	}
}

// newPlot returns a plot with the shared look: no title (the Figure draws
// it), axis labels, light grid lines.
func newPlot(xlabel, ylabel string) *gplot.Plot {
	p := gplot.New()
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	for _, ax := range []*gplot.Axis{&p.X, &p.Y} {
		// Only the font changes: gonum's styles carry the alignment and
		// rotation each axis needs.
		ax.Label.TextStyle.Font = textStyle(labelSize, false).Font
		ax.Label.Padding = vg.Points(4)
		ax.Tick.Label.Font = textStyle(tickSize, false).Font
		ax.LineStyle.Color = color.Gray{0x60}
		ax.Tick.LineStyle.Color = color.Gray{0x60}
		ax.Padding = 0
	}
	p.Add(grid())
	return p
}

// grid returns light grid lines, drawn first so data sits on top of them.
func grid() *plotter.Grid {
	g := plotter.NewGrid()
	ls := draw.LineStyle{Color: color.Gray{0xE0}, Width: vg.Points(0.5)}
	g.Vertical, g.Horizontal = ls, ls
	return g
}

// legendEntry is one line of a legend drawn beside a plot.
type legendEntry struct {
	name  string
	thumb gplot.Thumbnailer
}

// plotWithLegend draws p into the left of dc and, when there are entries,
// the legend in a strip on the right.
func plotWithLegend(p *gplot.Plot, entries []legendEntry, dc draw.Canvas) {
	if len(entries) == 0 {
		p.Draw(dc)
		return
	}
	p.Draw(draw.Crop(dc, 0, -legendWidth, 0, 0))
	l := gplot.NewLegend()
	l.TextStyle = textStyle(legendSize, false)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(28)
	l.Padding = vg.Points(5)
	room := legendWidth - 12 - l.ThumbnailWidth - l.Padding
	for _, e := range entries {
		l.Add(fitText(l.TextStyle, e.name, room), e.thumb)
	}
	l.Draw(draw.Crop(dc, dc.Size().X-legendWidth+12, 0, 0, 0))
}

// fitText shortens s with an ellipsis until it is at most width wide in
// style; the full text stays in the figure's table.
func fitText(style text.Style, s string, width vg.Length) string {
	if style.Width(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 {
		r = r[:len(r)-1]
		t := strings.TrimRight(string(r), " ") + "…"
		if style.Width(t) <= width {
			return t
		}
	}
	return "…"
}

// fix formats v with d decimals, never as "-0.00".
func fix(v float64, d int) string {
	s := strconv.FormatFloat(v, 'f', d, 64)
	if strings.HasPrefix(s, "-") && strings.Trim(s, "-0.") == "" {
		return s[1:]
	}
	return s
}

// checkNames returns the display names of n series: names itself when it
// has n valid entries, "Item 1", "Item 2", … when it is nil. Empty names
// are replaced by the default.
func checkNames(names []string, n int, what string) ([]string, error) {
	if names != nil && len(names) != n {
		return nil, fmt.Errorf("%w: %d names for %d %s", ErrInvalid, len(names), n, what)
	}
	out := make([]string, n)
	for i := range out {
		if names != nil {
			if len(names[i]) > MaxNameLen {
				return nil, fmt.Errorf("%w: name %d longer than %d bytes", ErrInvalid, i+1, MaxNameLen)
			}
			if !utf8.ValidString(names[i]) {
				return nil, fmt.Errorf("%w: name %d is not valid UTF-8", ErrInvalid, i+1)
			}
			out[i] = strings.TrimSpace(names[i])
		}
		if out[i] == "" {
			out[i] = "Item " + strconv.Itoa(i+1)
		}
	}
	return out, nil
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
