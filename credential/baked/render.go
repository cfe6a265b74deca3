package baked

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// svgFonts is the font stack of the SVG's text: common system sans-serif
// faces, so that the SVG needs no font of its own. Their widths differ from
// the Go fonts' the layout is measured with (DejaVu Sans Bold is a fifth
// wider), so each line also gets the Go fonts' width as its textLength: every
// browser then sets it exactly as wide as the PNG does.
const svgFonts = `'Helvetica Neue', Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif`

// RenderSVG draws d as a standalone SVG 1.1 document, viewBox 0 0 512 512,
// accessible: role="img", an aria-label naming the title, level and issuer,
// and <title> and <desc> elements. All text is escaped. It fails with
// ErrDesign for an invalid Design.
func RenderSVG(d Design) ([]byte, error) {
	p, err := layout(d)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="512" height="512" viewBox="0 0 512 512" role="img" aria-label="%s">`+"\n", escape(p.label))
	fmt.Fprintf(&b, "<title>%s</title>\n<desc>%s</desc>\n", escape(p.title), escape(p.desc))
	for _, s := range p.shapes {
		b.WriteString(`<path d="`)
		for i, g := range s.path {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteByte(g.op)
			for j := range g.points() {
				if j > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(num(g.p[j].x) + "," + num(g.p[j].y))
			}
		}
		fmt.Fprintf(&b, `" fill="%s"`, s.fill.hex())
		if s.alpha < 1 {
			fmt.Fprintf(&b, ` fill-opacity="%s"`, num(s.alpha))
		}
		b.WriteString("/>\n")
	}
	fmt.Fprintf(&b, `<g font-family="%s" text-anchor="middle">`+"\n", escape(svgFonts))
	for _, t := range p.texts {
		weight := "400"
		if t.bold {
			weight = "700"
		}
		fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="%s" font-weight="%s" fill="%s"`, num(t.x), num(t.y), num(t.size), weight, t.fill.hex())
		if t.spacing != 0 {
			fmt.Fprintf(&b, ` letter-spacing="%s"`, num(t.spacing))
		}
		fmt.Fprintf(&b, ` textLength="%s" lengthAdjust="spacingAndGlyphs"`, num(t.width))
		fmt.Fprintf(&b, ">%s</text>\n", escape(t.text))
	}
	b.WriteString("</g>\n</svg>\n")
	return b.Bytes(), nil
}

// RenderPNG draws d as a size×size PNG with a transparent background: the
// picture RenderSVG draws, rasterized with golang.org/x/image/vector and its
// text set in the embedded Go fonts. size must be from MinPNGSize to
// MaxPNGSize; it fails with ErrDesign otherwise or for an invalid Design.
func RenderPNG(d Design, size int) ([]byte, error) {
	if size < MinPNGSize || size > MaxPNGSize {
		return nil, fmt.Errorf("%w: PNG size %d outside %d..%d", ErrDesign, size, MinPNGSize, MaxPNGSize)
	}
	p, err := layout(d)
	if err != nil {
		return nil, err
	}
	f, err := fonts()
	if err != nil {
		return nil, fmt.Errorf("baked: embedded fonts: %w", err)
	}
	scale := float64(size) / canvas
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	z := vector.NewRasterizer(size, size)
	for _, s := range p.shapes {
		z.Reset(size, size)
		xy := func(q pt) (float32, float32) { return float32(q.x * scale), float32(q.y * scale) }
		for _, g := range s.path {
			switch g.op {
			case 'M':
				z.MoveTo(xy(g.p[0]))
			case 'L':
				z.LineTo(xy(g.p[0]))
			case 'Q':
				bx, by := xy(g.p[0])
				cx, cy := xy(g.p[1])
				z.QuadTo(bx, by, cx, cy)
			case 'Z':
				z.ClosePath()
			}
		}
		z.Draw(img, img.Bounds(), image.NewUniform(s.fill.rgba(s.alpha)), image.Point{})
	}
	m := &measurer{fonts: f, faces: map[faceKey]font.Face{}}
	defer m.close()
	for _, t := range p.texts {
		face := m.face(t.bold, t.size*scale)
		spacing := t.spacing * scale * 64
		dot := fixed.Point26_6{
			X: fixed.Int26_6(t.x*scale*64 - textWidth(face, t.text, spacing)/2),
			Y: fixed.Int26_6(t.y * scale * 64),
		}
		dr := font.Drawer{Dst: img, Src: image.NewUniform(t.fill.rgba(1)), Face: face, Dot: dot}
		prev := rune(-1)
		for _, r := range t.text {
			if prev >= 0 {
				dr.Dot.X += face.Kern(prev, r) + fixed.Int26_6(spacing)
			}
			dr.DrawString(string(r))
			prev = r
		}
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
		return nil, fmt.Errorf("baked: encoding PNG: %w", err)
	}
	return b.Bytes(), nil
}

// rgba returns c with opacity alpha, premultiplied.
func (c rgb) rgba(alpha float64) color.RGBA {
	a := func(v uint8) uint8 { return uint8(float64(v)*alpha + 0.5) }
	return color.RGBA{a(c.r), a(c.g), a(c.b), a(255)}
}

// num formats a canvas coordinate with at most two decimals.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// escape escapes text for XML character data and attribute values.
func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}
