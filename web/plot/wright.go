package plot

import (
	"fmt"
	"math"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// MaxWrightItems is the most item difficulties a WrightMap accepts.
const MaxWrightItems = 10_000

// wrightLabelItems is the most items whose names a Wright map writes
// beside the bars; beyond it the names could not be read, and the table
// still lists them.
const wrightLabelItems = 40

// wrightMaxBins bounds the number of logit bins so that each is tall
// enough for a line of text.
const wrightMaxBins = 32

// WrightMap draws a Wright (person–item) map: a histogram of the persons'
// abilities θ on the left, growing leftwards, and a histogram of the
// items' difficulties b on the right, on one shared vertical logit axis.
// Bins are 0.5 logit wide (wider when the range would need more than 32),
// cover at least −3..3, and are closed below: x falls in [lo, hi), the top
// bin also holding its upper edge. When there are at most 40 items their
// names are written beside the bars. names may be nil ("Item 1", …).
//
// The table has one row per bin, highest first: the bin's edges (2
// decimals), the count of persons, the count of items and the items'
// names, separated by "; ".
//
// It returns an error wrapping ErrInvalid for no persons or no items, more
// than MaxPoints persons or MaxWrightItems items, a NaN or infinite value,
// or mismatched names.
func WrightMap(thetas []float64, difficulties []float64, names []string) (*Figure, error) {
	if err := checkValues(thetas, "persons", MaxPoints); err != nil {
		return nil, err
	}
	if err := checkValues(difficulties, "items", MaxWrightItems); err != nil {
		return nil, err
	}
	names, err := checkNames(names, len(difficulties), "items")
	if err != nil {
		return nil, err
	}

	lo, width, n := wrightBins(thetas, difficulties)
	persons := make([]float64, n)
	items := make([]float64, n)
	inBin := make([][]string, n)
	for _, t := range thetas {
		persons[binOf(t, lo, width, n)]++
	}
	for j, b := range difficulties {
		k := binOf(b, lo, width, n)
		items[k]++
		inBin[k] = append(inBin[k], names[j])
	}
	los := make([]float64, n)
	his := make([]float64, n)
	labels := make([]string, n)
	for k := range n {
		los[k] = lo + float64(k)*width
		his[k] = lo + float64(k+1)*width
		labels[k] = strings.Join(inBin[k], ", ")
	}

	f := &Figure{
		Title:  fmt.Sprintf("Wright map: %d persons, %d items", len(thetas), len(difficulties)),
		XLabel: "Number of persons (left) and items (right)",
		YLabel: "Logits (ability θ, difficulty b)",
		Table: Table{
			Caption: fmt.Sprintf("Persons' abilities and items' difficulties in logit bins %s wide, highest first.", fix(width, 2)),
			Header:  []string{"From (logits)", "To (logits)", "Persons", "Items", "Item names"},
		},
	}
	for k := n - 1; k >= 0; k-- {
		f.Table.Rows = append(f.Table.Rows, []string{
			fix(los[k], 2), fix(his[k], 2), fix(persons[k], 0), fix(items[k], 0), strings.Join(inBin[k], "; "),
		})
	}
	if len(difficulties) > wrightLabelItems {
		labels = nil
	}

	f.body = func(f *Figure, dc draw.Canvas) {
		// One label under both panels, which share a single story.
		ls := textStyle(labelSize, false)
		ls.XAlign, ls.YAlign = draw.XCenter, draw.YBottom
		dc.FillText(ls, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Min.Y}, f.XLabel)
		dc = draw.Crop(dc, 0, 0, ls.Height(f.XLabel)+4, 0)
		left := newPlot("", f.YLabel)
		right := newPlot("", "")
		left.Add(&bars{lo: los, hi: his, counts: persons, horizontal: true, fill: palette[5]})
		right.Add(&bars{lo: los, hi: his, counts: items, horizontal: true, fill: palette[1], labels: labels})
		left.X.Scale = gplot.InvertedScale{Normalizer: gplot.LinearScale{}}
		yticks := linearTicks(lo, lo+float64(n)*width, tickStep(float64(n)*width), 0)
		left.Y.Tick.Marker = gplot.ConstantTicks(yticks)
		// The right panel's y axis is the centre line of the map: ticks
		// without labels, as the left panel already carries them.
		bare := make([]gplot.Tick, len(yticks))
		for i, t := range yticks {
			bare[i] = gplot.Tick{Value: t.Value}
		}
		right.Y.Tick.Marker = gplot.ConstantTicks(bare)
		for _, p := range []*gplot.Plot{left, right} {
			p.Y.Min, p.Y.Max = lo, lo+float64(n)*width
			p.X.Min = 0
			p.X.Tick.Marker = integerTicks{}
		}
		left.X.Max = maxOf(persons) * 1.05
		right.X.Max = maxOf(items) * 1.05
		if labels != nil {
			// Room for the names after the longest bar.
			right.X.Max = maxOf(items) * 2.5
		}
		cs := gplot.Align([][]*gplot.Plot{{left, right}}, draw.Tiles{Rows: 1, Cols: 2, PadX: 8}, dc)
		left.Draw(cs[0][0])
		right.Draw(cs[0][1])
	}
	return f, nil
}

// wrightBins chooses bins covering both sets of values and −3..3: the
// lowest edge, the width and the count.
func wrightBins(a, b []float64) (lo, width float64, n int) {
	vmin, vmax := -3.0, 3.0
	for _, xs := range [][]float64{a, b} {
		for _, x := range xs {
			vmin, vmax = min(vmin, x), max(vmax, x)
		}
	}
	for width = 0.5; ; width *= 2 {
		lo = math.Floor(vmin/width) * width
		hi := math.Ceil(vmax/width) * width
		n = int(math.Round((hi - lo) / width))
		if n <= wrightMaxBins {
			return lo, width, n
		}
	}
}

// binOf returns the bin of x among n bins of width from lo, putting the
// top edge in the top bin.
func binOf(x, lo, width float64, n int) int {
	k := int(math.Floor((x - lo) / width))
	return min(max(k, 0), n-1)
}

// tickStep returns a logit tick spacing giving at most about 10 ticks.
func tickStep(span float64) float64 {
	step := 1.0
	for span/step > 10 {
		step *= 2
	}
	return step
}

// checkValues reports whether xs is non-empty, at most limit long and
// finite.
func checkValues(xs []float64, what string, limit int) error {
	if len(xs) == 0 {
		return fmt.Errorf("%w: no %s", ErrInvalid, what)
	}
	if len(xs) > limit {
		return fmt.Errorf("%w: %d %s, at most %d", ErrInvalid, len(xs), what, limit)
	}
	for i, x := range xs {
		if !finite(x) {
			return fmt.Errorf("%w: %s value %d is %v", ErrInvalid, what, i+1, x)
		}
	}
	return nil
}

// maxOf returns the largest of xs, and 1 when all are below 1, so that an
// axis of counts is never empty.
func maxOf(xs []float64) float64 {
	m := 1.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// integerTicks is gonum's default tick marker restricted to whole numbers:
// counts have no fractions.
type integerTicks struct{}

// Ticks implements gplot.Ticker.
func (integerTicks) Ticks(lo, hi float64) []gplot.Tick {
	var out []gplot.Tick
	for _, t := range (gplot.DefaultTicks{}).Ticks(lo, hi) {
		if t.Value == math.Trunc(t.Value) {
			if t.Label != "" {
				t.Label = fix(t.Value, 0)
			}
			out = append(out, t)
		}
	}
	return out
}
