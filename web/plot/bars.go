package plot

import (
	"image/color"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// bars is a histogram plotter: one bar per bin [lo[i], hi[i]) of height
// counts[i], vertical (bins along x) or horizontal (bins along y). Unlike
// plotter.BarChart it places bars at data coordinates, which the Wright
// map needs to share a logit axis between two panels.
type bars struct {
	lo, hi, counts []float64
	horizontal     bool
	fill           color.Color
	// labels, when set, are written after the end of each bar (horizontal
	// bars only), shortened to fit the data area.
	labels []string
}

var _ gplot.Plotter = (*bars)(nil)
var _ gplot.DataRanger = (*bars)(nil)
var _ gplot.Thumbnailer = (*bars)(nil)

// Plot implements gplot.Plotter.
func (b *bars) Plot(c draw.Canvas, p *gplot.Plot) {
	tx, ty := p.Transforms(&c)
	// A hairline gap between bars keeps adjacent bins distinct.
	const gap = vg.Length(0.5)
	ts := textStyle(tickSize, false)
	ts.YAlign = draw.YCenter
	for i, n := range b.counts {
		var r vg.Rectangle
		if b.horizontal {
			x0, x1 := tx(0), tx(n)
			if x0 > x1 {
				x0, x1 = x1, x0
			}
			r = vg.Rectangle{Min: vg.Point{X: x0, Y: ty(b.lo[i]) + gap}, Max: vg.Point{X: x1, Y: ty(b.hi[i]) - gap}}
		} else {
			r = vg.Rectangle{Min: vg.Point{X: tx(b.lo[i]) + gap, Y: ty(0)}, Max: vg.Point{X: tx(b.hi[i]) - gap, Y: ty(n)}}
		}
		if n > 0 {
			c.FillPolygon(b.fill, c.ClipPolygonXY(corners(r)))
		}
		if b.horizontal && i < len(b.labels) && b.labels[i] != "" {
			x := r.Max.X + 4
			if n == 0 {
				x = r.Min.X + 2
			}
			s := fitText(ts, b.labels[i], c.Max.X-x)
			c.FillText(ts, vg.Point{X: x, Y: (r.Min.Y + r.Max.Y) / 2}, s)
		}
	}
}

// DataRange implements gplot.DataRanger: the bins span one axis, the
// counts (from 0) the other.
func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	lo, hi := b.lo[0], b.hi[len(b.hi)-1]
	var top float64
	for _, n := range b.counts {
		top = max(top, n)
	}
	if top == 0 {
		top = 1
	}
	if b.horizontal {
		return 0, top, lo, hi
	}
	return lo, hi, 0, top
}

// Thumbnail implements gplot.Thumbnailer.
func (b *bars) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.fill, corners(c.Rectangle))
}

// corners returns the corners of r, anticlockwise from the lower left.
func corners(r vg.Rectangle) []vg.Point {
	return []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}}
}
