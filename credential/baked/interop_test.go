package baked_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/touchstone-assess/touchstone/credential/baked"
)

// interopReader prepares the independent reader credential/interop/read-baked.mjs
// (png-chunks-extract and @xmldom/xmldom under Node) and returns the absolute
// paths of node and of the interop folder.
//
// The test runs when TOUCHSTONE_TEST_INTEROP=1 or TOUCHSTONE_REQUIRE_SERVICES=1
// and skips otherwise. When node or the interop packages (npm ci) are missing
// it skips, unless TOUCHSTONE_REQUIRE_SERVICES=1, when it fails.
func interopReader(tb testing.TB) (node, dir string) {
	tb.Helper()
	require := os.Getenv("TOUCHSTONE_REQUIRE_SERVICES") == "1"
	if os.Getenv("TOUCHSTONE_TEST_INTEROP") != "1" && !require {
		tb.Skip("independent reader not requested: set TOUCHSTONE_TEST_INTEROP=1 after `npm ci` in credential/interop")
	}
	missing := func(format string, args ...any) {
		tb.Helper()
		if require {
			tb.Fatalf("TOUCHSTONE_REQUIRE_SERVICES=1: "+format, args...)
		}
		tb.Skipf(format, args...)
	}
	dir, err := filepath.Abs(filepath.Join("..", "interop"))
	if err != nil {
		tb.Fatal(err)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing("node not found (%v): install Node.js 18 or later to run the independent reader", err)
	}
	for _, pkg := range []string{"png-chunks-extract", filepath.Join("@xmldom", "xmldom")} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			missing("the reader's packages are not installed (%v): run `npm ci` in credential/interop", err)
		}
	}
	return node, dir
}

// readResult is what read-baked.mjs prints.
type readResult struct {
	Format     string `json:"format"`
	Credential string `json:"credential"`
	Error      string `json:"error"`
}

// readBaked writes image to a file, runs read-baked.mjs on it and returns its
// result and exit code.
func readBaked(tb testing.TB, node, dir string, image []byte) (readResult, int) {
	tb.Helper()
	file := filepath.Join(tb.TempDir(), "badge")
	if err := os.WriteFile(file, image, 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "read-baked.mjs"), file)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		tb.Fatalf("running read-baked.mjs: %v", err)
	}
	var r readResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		tb.Fatalf("read-baked.mjs printed %q (stderr %q): %v", stdout.Bytes(), stderr.Bytes(), err)
	}
	return r, code
}

// TestInteropReadBaked bakes credentials into rendered badges and requires an
// independent reader to find exactly the bytes that were baked.
func TestInteropReadBaked(t *testing.T) {
	node, dir := interopReader(t)
	d := baked.Design{Title: "Certified Data Analyst", Level: "Certificate", Issuer: "Touchstone"}
	svg, err := baked.RenderSVG(d)
	if err != nil {
		t.Fatal(err)
	}
	pngImage, err := baked.RenderPNG(d, 256)
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]struct {
		image []byte
		bake  func(image, credential []byte) ([]byte, error)
	}{
		baked.FormatPNG: {pngImage, baked.BakePNG},
		baked.FormatSVG: {svg, baked.BakeSVG},
	}
	credentials := map[string][]byte{"json": signedJSON(t), "jws": compactJWS(), "tricky json": trickyJSON}
	for format, im := range images {
		for name, cred := range credentials {
			t.Run(format+"/"+name, func(t *testing.T) {
				out, err := im.bake(im.image, cred)
				if err != nil {
					t.Fatal(err)
				}
				// Re-baking must leave one credential that readers find.
				if out, err = im.bake(out, cred); err != nil {
					t.Fatal(err)
				}
				r, code := readBaked(t, node, dir, out)
				if code != 0 || r.Format != format || r.Credential != string(cred) {
					t.Fatalf("read-baked.mjs = %+v, exit %d; want format %q and credential %q, exit 0", r, code, format, cred)
				}
			})
		}
	}
	t.Run("unbaked", func(t *testing.T) {
		for _, image := range [][]byte{pngImage, svg} {
			if r, code := readBaked(t, node, dir, image); code != 1 {
				t.Errorf("read-baked.mjs on an unbaked image = %+v, exit %d; want exit 1", r, code)
			}
		}
	})
	t.Run("bad CRC", func(t *testing.T) {
		out, err := baked.BakePNG(pngImage, compactJWS())
		if err != nil {
			t.Fatal(err)
		}
		if r, code := readBaked(t, node, dir, withBadCRC(t, out)); code != 1 {
			t.Errorf("read-baked.mjs on a bad CRC = %+v, exit %d; want exit 1", r, code)
		}
	})
}
