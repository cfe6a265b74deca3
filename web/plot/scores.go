package plot

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// maxUnitBins is the highest maximum score drawn with one bar per score
// point; higher maxima, and fractional scores, get scoreBins equal bins.
const (
	maxUnitBins = 100
	scoreBins   = 25
)

// ScoreDistribution draws a histogram of total scores from 0 to max with a
// vertical line at the cut score, and gives the pass rate, the share of
// scores ≥ cut, in the title. When every score is a whole number and max
// is a whole number up to 100, each score point has its own bar; otherwise
// the range is split into 25 equal bins, closed below, the last also
// holding max.
//
// The table has one row per bin: the score (or the bin as "[lo, hi)"), and
// the count of candidates. Its caption gives n, the cut and the pass rate.
//
// It returns an error wrapping ErrInvalid for no scores, more than
// MaxPoints, a NaN or infinite score, a score outside 0..max, a max that
// is not positive and finite, or a cut outside 0..max.
func ScoreDistribution(scores []float64, max, cut float64) (*Figure, error) {
	if !finite(max) || max <= 0 {
		return nil, fmt.Errorf("%w: maximum score %v (want positive and finite)", ErrInvalid, max)
	}
	if !(cut >= 0 && cut <= max) {
		return nil, fmt.Errorf("%w: cut score %v outside 0..%v", ErrInvalid, cut, max)
	}
	if err := checkValues(scores, "scores", MaxPoints); err != nil {
		return nil, err
	}
	whole := max == math.Trunc(max) && max <= maxUnitBins
	var pass int
	for i, s := range scores {
		if s < 0 || s > max {
			return nil, fmt.Errorf("%w: score %d is %v, outside 0..%v", ErrInvalid, i+1, s, max)
		}
		if s != math.Trunc(s) {
			whole = false
		}
		if s >= cut {
			pass++
		}
	}
	rate := float64(pass) / float64(len(scores))

	var los, his, counts []float64
	var labels []string
	if whole {
		n := int(max) + 1
		counts = make([]float64, n)
		for _, s := range scores {
			counts[int(s)]++
		}
		for k := range n {
			los = append(los, float64(k)-0.5)
			his = append(his, float64(k)+0.5)
			labels = append(labels, strconv.Itoa(k))
		}
	} else {
		width := max / scoreBins
		counts = make([]float64, scoreBins)
		for _, s := range scores {
			counts[binOf(s, 0, width, scoreBins)]++
		}
		for k := range scoreBins {
			lo, hi := float64(k)*width, float64(k+1)*width
			los, his = append(los, lo), append(his, hi)
			closing := ")"
			if k == scoreBins-1 {
				closing = "]"
			}
			labels = append(labels, "["+fix(lo, 2)+", "+fix(hi, 2)+closing)
		}
	}

	cutText := strconv.FormatFloat(cut, 'f', -1, 64)
	f := &Figure{
		Title:  fmt.Sprintf("Score distribution: pass rate %s%% at cut %s (n = %d)", fix(100*rate, 1), cutText, len(scores)),
		XLabel: "Total score",
		YLabel: "Candidates",
		Table: Table{
			Caption: fmt.Sprintf("Number of candidates at each total score, n = %d; cut score %s (pass: score ≥ cut); pass rate %s%%.", len(scores), cutText, fix(100*rate, 1)),
			Header:  []string{"Score", "Candidates"},
		},
	}
	for k := range counts {
		f.Table.Rows = append(f.Table.Rows, []string{labels[k], fix(counts[k], 0)})
	}

	f.body = func(f *Figure, dc draw.Canvas) {
		p := newPlot(f.XLabel, f.YLabel)
		h := &bars{lo: los, hi: his, counts: counts, fill: palette[5]}
		p.Add(h)
		top := maxOf(counts) * 1.08
		cutLine, err := plotter.NewLine(plotter.XYs{{X: cut, Y: 0}, {X: cut, Y: top}})
		if err != nil {
			panic(fmt.Sprintf("plot: cut line: %v", err))
		}
		cutLine.LineStyle = draw.LineStyle{Color: palette[1], Width: vg.Points(2.5), Dashes: dashes[1]}
		p.Add(cutLine)
		p.X.Min, p.X.Max = los[0], his[len(his)-1]
		p.Y.Min, p.Y.Max = 0, top
		p.Y.Tick.Marker = integerTicks{}
		if whole {
			p.X.Tick.Marker = integerTicks{}
		}
		plotWithLegend(p, []legendEntry{
			{"Candidates", h},
			{"Cut " + cutText + " (" + fix(100*rate, 1) + "% pass)", cutLine},
		}, dc)
	}
	return f, nil
}
