package plot

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// glyphs mark the options' points, so options differ in shape as well as
// colour and dash.
var glyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.TriangleGlyph{}, draw.SquareGlyph{}, draw.CrossGlyph{},
	draw.RingGlyph{}, draw.PyramidGlyph{}, draw.BoxGlyph{}, draw.PlusGlyph{},
}

// OptionQuantiles draws, for one multiple-choice item, the proportion of
// candidates choosing each option in each of k score groups (quantiles of
// total score, lowest first): props[g][o] is the share of group g that
// chose option o. The key is drawn solid and thick, labelled "A (key)";
// distractors are dashed or dotted, each with its own marker. A good item's
// key rises from left to right and its distractors fall.
//
// The table has one row per group: its number (1 = lowest) and each
// option's proportion (3 decimals).
//
// It returns an error wrapping ErrInvalid for fewer than 2 or more than
// MaxGroups groups, fewer than 2 or more than MaxOptions options, a row of
// the wrong length, a proportion outside [0, 1] or NaN, an empty or
// overlong option label, or key out of range.
func OptionQuantiles(props [][]float64, options []string, key int) (*Figure, error) {
	if len(props) < 2 || len(props) > MaxGroups {
		return nil, fmt.Errorf("%w: %d score groups (want 2..%d)", ErrInvalid, len(props), MaxGroups)
	}
	if len(options) < 2 || len(options) > MaxOptions {
		return nil, fmt.Errorf("%w: %d options (want 2..%d)", ErrInvalid, len(options), MaxOptions)
	}
	if key < 0 || key >= len(options) {
		return nil, fmt.Errorf("%w: key %d outside 0..%d", ErrInvalid, key, len(options)-1)
	}
	labels := make([]string, len(options))
	for o, name := range options {
		name = strings.TrimSpace(name)
		if name == "" || len(name) > MaxNameLen || !utf8.ValidString(name) {
			return nil, fmt.Errorf("%w: option %d label %q (want 1..%d bytes of UTF-8)", ErrInvalid, o+1, name, MaxNameLen)
		}
		labels[o] = name
	}
	labels[key] += " (key)"
	for g, row := range props {
		if len(row) != len(options) {
			return nil, fmt.Errorf("%w: group %d has %d proportions for %d options", ErrInvalid, g+1, len(row), len(options))
		}
		for o, v := range row {
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("%w: group %d option %s proportion %v outside [0, 1]", ErrInvalid, g+1, labels[o], v)
			}
		}
	}

	f := &Figure{
		Title:  fmt.Sprintf("Option choice by score group (key %s)", strings.TrimSpace(options[key])),
		XLabel: "Score group (1 = lowest total scores)",
		YLabel: "Proportion choosing option",
		Table: Table{
			Caption: fmt.Sprintf("Proportion of candidates choosing each option in %d score groups, lowest scoring first; the key is %s.", len(props), strings.TrimSpace(options[key])),
			Header:  append([]string{"Score group"}, labels...),
		},
	}
	for g, row := range props {
		r := []string{strconv.Itoa(g + 1)}
		for _, v := range row {
			r = append(r, fix(v, 3))
		}
		f.Table.Rows = append(f.Table.Rows, r)
	}

	f.body = func(f *Figure, dc draw.Canvas) {
		p := newPlot(f.XLabel, f.YLabel)
		p.Y.Min, p.Y.Max = 0, 1
		p.Y.Tick.Marker = gplot.ConstantTicks(linearTicks(0, 1, 0.2, 1))
		p.X.Min, p.X.Max = 0.7, float64(len(props))+0.3
		p.X.Tick.Marker = gplot.ConstantTicks(linearTicks(1, float64(len(props)), 1, 0))
		// Draw distractors first so the key lies on top of them.
		order := make([]int, 0, len(options))
		for o := range options {
			if o != key {
				order = append(order, o)
			}
		}
		order = append(order, key)
		entries := make([]legendEntry, len(options))
		d := 0
		for _, o := range order {
			xy := make(plotter.XYs, len(props))
			for g, row := range props {
				xy[g] = plotter.XY{X: float64(g + 1), Y: row[o]}
			}
			l, s, err := plotter.NewLinePoints(xy)
			if err != nil {
				panic(fmt.Sprintf("plot: option line: %v", err))
			}
			if o == key {
				l.LineStyle = draw.LineStyle{Color: palette[0], Width: vg.Points(3)}
				s.GlyphStyle = draw.GlyphStyle{Color: palette[0], Radius: vg.Points(4), Shape: glyphs[0]}
			} else {
				// Distractors take the palette after the key's blue and
				// the non-solid dashes, so none looks like the key.
				d++
				ls := seriesStyle(d)
				ls.Dashes = dashes[1+(d-1)%(len(dashes)-1)]
				l.LineStyle = ls
				s.GlyphStyle = draw.GlyphStyle{Color: ls.Color, Radius: vg.Points(3.5), Shape: glyphs[d%len(glyphs)]}
			}
			p.Add(l, s)
			entries[o] = legendEntry{labels[o], thumbs{l, s}}
		}
		plotWithLegend(p, entries, dc)
	}
	return f, nil
}

// thumbs draws several thumbnails on top of one another, as a legend entry
// for a line with markers.
type thumbs []gplot.Thumbnailer

// Thumbnail implements gplot.Thumbnailer.
func (ts thumbs) Thumbnail(c *draw.Canvas) {
	for _, t := range ts {
		t.Thumbnail(c)
	}
}
