package plot

import (
	"fmt"
	"math"

	"github.com/touchstone-assess/touchstone/psychometrics"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The θ range of curve figures, and the grids on it: curves are drawn
// through fine steps so they look smooth; the table lists coarser steps a
// reader can take in.
const (
	thetaMin       = -4.0
	thetaMax       = 4.0
	thetaDrawStep  = 0.05
	thetaTableStep = 0.25
)

// thetaGrid returns thetaMin, thetaMin+step, …, thetaMax, each computed
// from its index so that no rounding error accumulates.
func thetaGrid(step float64) []float64 {
	n := int(math.Round((thetaMax-thetaMin)/step)) + 1
	g := make([]float64, n)
	for i := range g {
		g[i] = thetaMin + float64(i)*step
	}
	return g
}

// checkItems validates the items of a curve figure and returns their names.
func checkItems(items []psychometrics.Item3PL, names []string) ([]string, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: no items", ErrInvalid)
	}
	if len(items) > MaxCurves {
		return nil, fmt.Errorf("%w: %d items, at most %d can be drawn", ErrInvalid, len(items), MaxCurves)
	}
	for i, it := range items {
		// C = 1 would make the information formula divide by zero; such an
		// item carries no information and is a calibration error.
		if !finite(it.A) || !finite(it.B) || !(it.C >= 0 && it.C < 1) {
			return nil, fmt.Errorf("%w: item %d has parameters a=%v b=%v c=%v (want finite a, b and 0 ≤ c < 1)", ErrInvalid, i+1, it.A, it.B, it.C)
		}
	}
	return checkNames(names, len(items), "items")
}

// ItemCharacteristic draws the item characteristic curves P(θ) of items
// under the 3PL model with D = 1 (psychometrics.Item3PL.P) for θ from −4 to
// 4, one curve per item with its name in the legend. names may be nil
// ("Item 1", …); otherwise it must have one name per item. The table lists
// θ in steps of 0.25 (2 decimals) and each item's P (3 decimals).
//
// It returns an error wrapping ErrInvalid for no items, more than
// MaxCurves, non-finite a or b, c outside [0, 1), or mismatched names.
func ItemCharacteristic(items []psychometrics.Item3PL, names []string) (*Figure, error) {
	names, err := checkItems(items, names)
	if err != nil {
		return nil, err
	}
	f := &Figure{
		Title:  "Item characteristic curves",
		XLabel: "Ability θ (logits)",
		YLabel: "Probability of a correct response",
	}
	f.Table = curveTable(items, names, "θ", func(it psychometrics.Item3PL, t float64) float64 { return it.P(t) })
	f.Table.Caption = fmt.Sprintf("Probability of a correct response P(θ) for %d items under the 3PL model, θ from −4 to 4 in steps of 0.25.", len(items))
	f.body = func(f *Figure, dc draw.Canvas) {
		p := newPlot(f.XLabel, f.YLabel)
		p.Y.Min, p.Y.Max = 0, 1
		p.Y.Tick.Marker = gplot.ConstantTicks(linearTicks(0, 1, 0.2, 1))
		var legend []legendEntry
		for i, it := range items {
			l := curveLine(it.P, seriesStyle(i))
			p.Add(l)
			legend = append(legend, legendEntry{names[i], l})
		}
		setThetaAxis(p)
		plotWithLegend(p, legend, dc)
	}
	return f, nil
}

// ItemInformation draws the item information curves I(θ) of items
// (psychometrics.Item3PL.Info) for θ from −4 to 4 and, when testTotal is
// true, the test information Σ I_j(θ) as a thicker black line. names and
// errors are as for ItemCharacteristic. The table lists θ in steps of 0.25
// and each curve's information (3 decimals), with a "Test" column last
// when testTotal.
func ItemInformation(items []psychometrics.Item3PL, names []string, testTotal bool) (*Figure, error) {
	names, err := checkItems(items, names)
	if err != nil {
		return nil, err
	}
	f := &Figure{
		Title:  "Item information curves",
		XLabel: "Ability θ (logits)",
		YLabel: "Information",
	}
	if testTotal {
		f.Title = "Item and test information"
	}
	f.Table = curveTable(items, names, "θ", func(it psychometrics.Item3PL, t float64) float64 { return it.Info(t) })
	f.Table.Caption = fmt.Sprintf("Fisher information I(θ) of %d items under the 3PL model, θ from −4 to 4 in steps of 0.25.", len(items))
	if testTotal {
		f.Table.Header = append(f.Table.Header, "Test")
		for r, t := range thetaGrid(thetaTableStep) {
			f.Table.Rows[r] = append(f.Table.Rows[r], fix(psychometrics.TestInformation(items, t), 3))
		}
		f.Table.Caption += " The last column is the test information, the sum over items."
	}
	f.body = func(f *Figure, dc draw.Canvas) {
		p := newPlot(f.XLabel, f.YLabel)
		p.Y.Min = 0
		var legend []legendEntry
		for i, it := range items {
			l := curveLine(it.Info, seriesStyle(i))
			p.Add(l)
			legend = append(legend, legendEntry{names[i], l})
		}
		if testTotal {
			l := curveLine(func(t float64) float64 { return psychometrics.TestInformation(items, t) },
				draw.LineStyle{Color: palette[6], Width: vg.Points(3)})
			p.Add(l)
			legend = append(legend, legendEntry{"Test information", l})
		}
		setThetaAxis(p)
		// Head room so the peak does not touch the frame.
		p.Y.Max *= 1.05
		plotWithLegend(p, legend, dc)
	}
	return f, nil
}

// curveTable tabulates fn for each item over the table θ grid.
func curveTable(items []psychometrics.Item3PL, names []string, first string, fn func(psychometrics.Item3PL, float64) float64) Table {
	t := Table{Header: append([]string{first}, names...)}
	for _, th := range thetaGrid(thetaTableStep) {
		row := []string{fix(th, 2)}
		for _, it := range items {
			row = append(row, fix(fn(it, th), 3))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// curveLine returns fn drawn through the fine θ grid.
func curveLine(fn func(float64) float64, ls draw.LineStyle) *plotter.Line {
	g := thetaGrid(thetaDrawStep)
	xy := make(plotter.XYs, len(g))
	for i, t := range g {
		xy[i] = plotter.XY{X: t, Y: fn(t)}
	}
	// NewLine fails only on NaN or infinite points, which validated items
	// cannot produce.
	l, err := plotter.NewLine(xy)
	if err != nil {
		panic(fmt.Sprintf("plot: curve: %v", err))
	}
	l.LineStyle = ls
	return l
}

// setThetaAxis fixes the θ axis to −4..4 with a tick at every logit.
func setThetaAxis(p *gplot.Plot) {
	p.X.Min, p.X.Max = thetaMin, thetaMax
	p.X.Tick.Marker = gplot.ConstantTicks(linearTicks(thetaMin, thetaMax, 1, 0))
}

// linearTicks returns labelled ticks from lo to hi every step, with dec
// decimals.
func linearTicks(lo, hi, step float64, dec int) []gplot.Tick {
	n := int(math.Round((hi-lo)/step)) + 1
	ticks := make([]gplot.Tick, n)
	for i := range ticks {
		v := lo + float64(i)*step
		ticks[i] = gplot.Tick{Value: v, Label: fix(v, dec)}
	}
	return ticks
}
