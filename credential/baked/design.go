package baked

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// ErrDesign means a Design cannot be drawn: no title, a text too long or
// holding control characters, a colour not in "#rrggbb" form, or a PNG size
// out of range. The wrapping error says which.
var ErrDesign = errors.New("baked: invalid badge design")

// Bounds on a Design and on RenderPNG.
const (
	// MaxDesignText bounds each text of a Design, in characters (runes).
	MaxDesignText = 200
	// MinPNGSize and MaxPNGSize bound the side of a rendered PNG, in pixels.
	MinPNGSize = 64
	MaxPNGSize = 1024
	// DefaultColor is the accent of a Design without one: a calm blue.
	DefaultColor = "#2b6cb0"
	// DefaultLevel is the ribbon text of a Design without a level.
	DefaultLevel = "Badge"
)

// Design is an achievement's badge, drawn the same by RenderSVG and
// RenderPNG: a rounded hexagon with a ring in the accent colour, a star, the
// title in white on a deep tint of the accent, a ribbon with the level and
// the issuer's name below it. Runs of white space in the texts count as one
// space.
type Design struct {
	// Title is the achievement's name, required. It is wrapped to at most
	// three lines, shrinking the type as needed, and cut with an ellipsis
	// beyond that.
	Title string
	// Level is shown in capitals on the ribbon, e.g. "Badge", "Certificate",
	// "Level 2"; empty means DefaultLevel.
	Level string
	// Issuer is shown in small type at the bottom; empty shows nothing.
	Issuer string
	// Color is the accent, "#rrggbb"; empty means DefaultColor.
	Color string
}

// The badge is drawn on a 512×512 canvas; RenderPNG scales it.
const canvas = 512

// fonts holds the embedded Go fonts, parsed once: sfnt fonts are safe for
// concurrent use, faces (made per render) are not.
var fonts = sync.OnceValues(func() (*[2]*opentype.Font, error) {
	regular, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, err
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return nil, err
	}
	return &[2]*opentype.Font{regular, bold}, nil
})

// rgb is an opaque colour.
type rgb struct{ r, g, b uint8 }

func (c rgb) hex() string { return fmt.Sprintf("#%02x%02x%02x", c.r, c.g, c.b) }

// mix returns c moved towards d by t in [0, 1].
func (c rgb) mix(d rgb, t float64) rgb {
	f := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*t)) }
	return rgb{f(c.r, d.r), f(c.g, d.g), f(c.b, d.b)}
}

// luminance is the WCAG 2 relative luminance of c.
func (c rgb) luminance() float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// contrast is the WCAG 2 contrast ratio of c and d, from 1 to 21.
func contrast(c, d rgb) float64 {
	a, b := c.luminance()+0.05, d.luminance()+0.05
	return math.Max(a, b) / math.Min(a, b)
}

var (
	white = rgb{0xff, 0xff, 0xff}
	black = rgb{0, 0, 0}
	ink   = rgb{0x0b, 0x12, 0x20} // near-black for the badge's face
)

func parseColor(s string) (rgb, error) {
	if s == "" {
		s = DefaultColor
	}
	var c rgb
	if len(s) != 7 || s[0] != '#' {
		return c, fmt.Errorf("%w: color %q is not #rrggbb", ErrDesign, s)
	}
	var v [3]uint8
	for i := range v {
		for _, h := range s[1+2*i : 3+2*i] {
			var d uint8
			switch {
			case '0' <= h && h <= '9':
				d = uint8(h - '0')
			case 'a' <= h && h <= 'f':
				d = uint8(h - 'a' + 10)
			case 'A' <= h && h <= 'F':
				d = uint8(h - 'A' + 10)
			default:
				return c, fmt.Errorf("%w: color %q is not #rrggbb", ErrDesign, s)
			}
			v[i] = v[i]<<4 | d
		}
	}
	return rgb{v[0], v[1], v[2]}, nil
}

// cleanText collapses white space and checks a Design text.
func cleanText(field, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: %s is not valid UTF-8", ErrDesign, field)
	}
	s = strings.Join(strings.Fields(s), " ")
	if n := utf8.RuneCountInString(s); n > MaxDesignText {
		return "", fmt.Errorf("%w: %s has %d characters, more than %d", ErrDesign, field, n, MaxDesignText)
	}
	for _, r := range s {
		if unicode.IsControl(r) || !isXMLChar(r) {
			return "", fmt.Errorf("%w: %s holds the control character %U", ErrDesign, field, r)
		}
	}
	return s, nil
}

// pt is a point on the canvas.
type pt struct{ x, y float64 }

// seg is one path command, as in SVG path data: 'M' and 'L' use p[0], 'Q'
// (control point, end) p[0] and p[1], 'Z' none.
type seg struct {
	op byte
	p  [2]pt
}

// points returns how many points of p the command uses.
func (s seg) points() int {
	switch s.op {
	case 'M', 'L':
		return 1
	case 'Q':
		return 2
	}
	return 0
}

// shape is a filled path.
type shape struct {
	path  []seg
	fill  rgb
	alpha float64 // 1 is opaque
}

// textRun is one line of centred text.
type textRun struct {
	text    string
	x, y    float64 // centre of the baseline
	size    float64 // font size in canvas units
	bold    bool
	fill    rgb
	spacing float64 // extra space between letters, in canvas units
	width   float64 // advance of the text in the Go fonts, in canvas units
}

// picture is a Design laid out on the canvas, for either renderer.
type picture struct {
	title, label string // accessible name parts
	desc         string
	shapes       []shape
	texts        []textRun
}

// hexagon returns a pointy-top hexagon centred on c with circumradius r,
// its corners rounded by quadratic curves that start cut units from each
// vertex.
func hexagon(c pt, r, cut float64) []seg {
	var v [6]pt
	for i := range v {
		a := (-90 + 60*float64(i)) * math.Pi / 180
		v[i] = pt{c.x + r*math.Cos(a), c.y + r*math.Sin(a)}
	}
	k := cut / r // the side of a regular hexagon equals its circumradius
	toward := func(a, b pt) pt { return pt{a.x + (b.x-a.x)*k, a.y + (b.y-a.y)*k} }
	path := []seg{{op: 'M', p: [2]pt{toward(v[0], v[1])}}}
	for i := 1; i <= 6; i++ {
		cur, prev, next := v[i%6], v[i-1], v[(i+1)%6]
		path = append(path,
			seg{op: 'L', p: [2]pt{toward(cur, prev)}},
			seg{op: 'Q', p: [2]pt{cur, toward(cur, next)}})
	}
	return append(path, seg{op: 'Z'})
}

// polygon returns the closed path through pts.
func polygon(pts ...pt) []seg {
	path := []seg{{op: 'M', p: [2]pt{pts[0]}}}
	for _, p := range pts[1:] {
		path = append(path, seg{op: 'L', p: [2]pt{p}})
	}
	return append(path, seg{op: 'Z'})
}

// star returns a five-pointed star centred on c.
func star(c pt, outer, inner float64) []seg {
	pts := make([]pt, 10)
	for i := range pts {
		r := outer
		if i%2 == 1 {
			r = inner
		}
		a := (-90 + 36*float64(i)) * math.Pi / 180
		pts[i] = pt{c.x + r*math.Cos(a), c.y + r*math.Sin(a)}
	}
	return polygon(pts...)
}

// mirror reflects a path about the canvas's vertical centre line.
func mirror(path []seg) []seg {
	out := make([]seg, len(path))
	for i, s := range path {
		out[i] = s
		for j := range s.p {
			out[i].p[j].x = canvas - s.p[j].x
		}
	}
	return out
}

// Geometry of the badge on the 512 canvas.
const (
	cx, cy     = 256.0, 256.0
	faceRadius = 198.0 // circumradius of the dark face
	starY      = 98.0
	titleWidth = 300.0 // the face is 343 wide between its vertical sides
	titleY     = 212.0 // centre of the title block
	bandTop    = 300.0
	bandBottom = 354.0
	levelWidth = 340.0
	issuerY    = 394.0 // baseline
	issuerMax  = 176.0 // the face narrows towards its bottom vertex
)

// layout checks d and places every shape and text of the badge.
func layout(d Design) (*picture, error) {
	title, err := cleanText("title", d.Title)
	if err != nil {
		return nil, err
	}
	if title == "" {
		return nil, fmt.Errorf("%w: title required", ErrDesign)
	}
	level, err := cleanText("level", d.Level)
	if err != nil {
		return nil, err
	}
	if level == "" {
		level = DefaultLevel
	}
	issuer, err := cleanText("issuer", d.Issuer)
	if err != nil {
		return nil, err
	}
	accent, err := parseColor(d.Color)
	if err != nil {
		return nil, err
	}
	f, err := fonts()
	if err != nil {
		return nil, fmt.Errorf("baked: embedded fonts: %w", err)
	}
	m := &measurer{fonts: f, faces: map[faceKey]font.Face{}}
	defer m.close()

	rim := accent.mix(black, 0.3)
	faceColor := accent.mix(ink, 0.82)
	bandText := white
	if contrast(accent, ink) > contrast(accent, white) {
		bandText = ink
	}
	p := &picture{title: title}
	p.label = title + ", " + level
	p.desc = level
	if issuer != "" {
		p.label += ", issued by " + issuer
		p.desc += " issued by " + issuer
	}
	c := pt{cx, cy}
	fold := accent.mix(black, 0.55)
	tailTop, tailBottom := bandTop+18, bandBottom+20
	tail := polygon(pt{6, tailTop}, pt{64, tailTop}, pt{64, tailBottom}, pt{6, tailBottom}, pt{24, (tailTop + tailBottom) / 2})
	tailFold := polygon(pt{40, bandBottom}, pt{64, bandBottom}, pt{64, tailBottom})
	p.shapes = []shape{
		{hexagon(pt{cx, cy + 7}, 236, 30), black, 0.18}, // shadow
		{hexagon(c, 236, 30), rim, 1},
		{hexagon(c, 225, 28), accent, 1},
		{hexagon(c, 205, 25), white, 0.92},
		{hexagon(c, faceRadius, 24), faceColor, 1},
		{star(pt{cx, starY}, 23, 9.5), accent.mix(white, 0.55), 1},
		// The ribbon: tails and their folds behind, then the band with a
		// thin rim so that it stands out from the ring of the same colour.
		{tail, rim, 1},
		{mirror(tail), rim, 1},
		{tailFold, fold, 1},
		{mirror(tailFold), fold, 1},
		{polygon(pt{36, bandTop}, pt{476, bandTop}, pt{476, bandBottom}, pt{36, bandBottom}), rim, 1},
		{polygon(pt{40, bandTop + 4}, pt{472, bandTop + 4}, pt{472, bandBottom - 4}, pt{40, bandBottom - 4}), accent, 1},
	}

	size, lines := m.wrapTitle(title)
	lh := size * 1.16
	for i, line := range lines {
		y := titleY + (float64(i)-float64(len(lines)-1)/2)*lh + 0.36*size
		p.texts = append(p.texts, textRun{text: line, x: cx, y: y, size: size, bold: true, fill: white})
	}
	level = strings.ToUpper(level)
	size, level = m.fitLine(level, true, 2, levelWidth, 24, 15)
	p.texts = append(p.texts, textRun{text: level, x: cx, y: (bandTop+bandBottom)/2 + 0.36*size, size: size, bold: true, fill: bandText, spacing: 2})
	if issuer != "" {
		size, issuer = m.fitLine(issuer, false, 0, issuerMax, 17, 12)
		p.texts = append(p.texts, textRun{text: issuer, x: cx, y: issuerY, size: size, fill: accent.mix(white, 0.8)})
	}
	for i := range p.texts {
		t := &p.texts[i]
		t.width = m.width(t.text, t.bold, t.size, t.spacing)
	}
	return p, nil
}

// measurer measures text in canvas units with the Go fonts, caching faces.
type measurer struct {
	fonts *[2]*opentype.Font
	faces map[faceKey]font.Face
}

type faceKey struct {
	bold bool
	size float64
}

func (m *measurer) face(bold bool, size float64) font.Face {
	k := faceKey{bold, size}
	if f, ok := m.faces[k]; ok {
		return f
	}
	i := 0
	if bold {
		i = 1
	}
	f, err := opentype.NewFace(m.fonts[i], &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		// NewFace returns no error for a parsed font; one would be a bug here.
		panic(fmt.Sprintf("baked: opentype.NewFace: %v", err))
	}
	m.faces[k] = f
	return f
}

func (m *measurer) close() {
	for _, f := range m.faces {
		f.Close()
	}
}

// width returns the advance of s, kerned, with spacing between letters.
func (m *measurer) width(s string, bold bool, size, spacing float64) float64 {
	return textWidth(m.face(bold, size), s, spacing*64) / 64
}

// textWidth returns the advance of s in face in 26.6 units: the sum of the
// glyph advances and kerns, plus spacing (26.6) between letters.
func textWidth(f font.Face, s string, spacing float64) float64 {
	var w fixed.Int26_6
	prev, n := rune(-1), 0
	for _, r := range s {
		if prev >= 0 {
			w += f.Kern(prev, r)
		}
		a, _ := f.GlyphAdvance(r)
		w += a
		prev = r
		n++
	}
	if n > 1 {
		return float64(w) + spacing*float64(n-1)
	}
	return float64(w)
}

// Title sizes, in canvas units: two lines or fewer from maxTitle down to
// minTwoLines, then three lines down to minTitle, then an ellipsis.
const (
	maxTitle    = 46
	minTwoLines = 34
	minTitle    = 24
	titleBlock  = 158 // room for the lines between the star and the ribbon
)

// wrapTitle chooses the largest type size at which title fits, preferring
// two lines to three, and returns it with the lines.
func (m *measurer) wrapTitle(title string) (float64, []string) {
	words := strings.Fields(title)
	for size := float64(maxTitle); size >= minTwoLines; size -= 2 {
		if lines := m.wrap(words, size); len(lines) <= 2 && float64(len(lines))*size*1.16 <= titleBlock {
			return size, lines
		}
	}
	for size := float64(minTwoLines - 2); size >= minTitle; size -= 2 {
		if lines := m.wrap(words, size); len(lines) <= 3 && float64(len(lines))*size*1.16 <= titleBlock {
			return size, lines
		}
	}
	// More than three lines even at the smallest size: the third ends the
	// title with an ellipsis.
	lines := m.wrap(words, minTitle)
	if len(lines) <= 3 {
		return minTitle, lines
	}
	return minTitle, append(lines[:2], m.ellipsis(strings.Join(lines[2:], " "), true, 0, minTitle, titleWidth))
}

// wrap breaks words greedily into lines at most titleWidth wide at size; a
// word wider than a line is broken between letters.
func (m *measurer) wrap(words []string, size float64) []string {
	fits := func(s string) bool { return m.width(s, true, size, 0) <= titleWidth }
	var lines []string
	line := ""
	for _, w := range words {
		switch {
		case line == "":
		case fits(line + " " + w):
			line += " " + w
			continue
		default:
			lines = append(lines, line)
		}
		// w starts a line; split it while it is too wide.
		for !fits(w) && utf8.RuneCountInString(w) > 1 {
			rs := []rune(w)
			n := len(rs) - 1
			for n > 1 && !fits(string(rs[:n])) {
				n--
			}
			lines = append(lines, string(rs[:n]))
			w = string(rs[n:])
		}
		line = w
	}
	return append(lines, line)
}

// fitLine returns the largest size from max down to min at which s fits
// width on one line, and s, cut with an ellipsis if it fits at none.
func (m *measurer) fitLine(s string, bold bool, spacing, width, max, min float64) (float64, string) {
	for size := max; size >= min; size-- {
		if m.width(s, bold, size, spacing) <= width {
			return size, s
		}
	}
	return min, m.ellipsis(s, bold, spacing, min, width)
}

// ellipsis returns the longest prefix of s that, ending in "…", fits width:
// whole words if at least one fits, else letters. Trailing spaces and
// punctuation go before the ellipsis.
func (m *measurer) ellipsis(s string, bold bool, spacing, size, width float64) string {
	try := func(prefix string) (string, bool) {
		t := strings.TrimRightFunc(prefix, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) + "…"
		return t, m.width(t, bold, size, spacing) <= width
	}
	words := strings.Fields(s)
	for n := len(words) - 1; n >= 1; n-- {
		if t, ok := try(strings.Join(words[:n], " ")); ok {
			return t
		}
	}
	rs := []rune(s)
	for n := len(rs) - 1; n >= 1; n-- {
		if t, ok := try(string(rs[:n])); ok {
			return t
		}
	}
	return "…"
}
