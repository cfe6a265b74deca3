package baked_test

import (
	"bytes"
	"testing"

	"github.com/touchstone-assess/touchstone/credential/baked"
)

// FuzzBake bakes arbitrary credentials into a PNG and an SVG: what is
// accepted must come back byte for byte (less surrounding whitespace).
func FuzzBake(f *testing.F) {
	f.Add(signedJSON(f))
	f.Add(compactJWS())
	f.Add(trickyJSON)
	png, svg := testPNG(f), []byte(testSVG)
	f.Fuzz(func(t *testing.T, cred []byte) {
		for format, bake := range map[string]func([]byte, []byte) ([]byte, error){baked.FormatPNG: baked.BakePNG, baked.FormatSVG: baked.BakeSVG} {
			img := png
			if format == baked.FormatSVG {
				img = svg
			}
			out, err := bake(img, cred)
			if err != nil {
				continue
			}
			back, got, err := baked.Extract(out)
			if err != nil || got != format || !bytes.Equal(back, bytes.TrimSpace(cred)) {
				t.Fatalf("%s: baked %q, extracted %q as %s (%v)", format, cred, back, got, err)
			}
		}
	})
}
