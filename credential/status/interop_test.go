package status_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/credential/status"
)

// interopVerifier prepares the independent implementation in
// ../interop (Digital Bazaar's vc-bitstring-status-list under Node) and
// returns the absolute paths of node and of the interop folder.
//
// The test runs when TOUCHSTONE_TEST_INTEROP=1 or TOUCHSTONE_REQUIRE_SERVICES=1
// and skips otherwise. When node or interop/node_modules (npm ci) is missing it
// skips, unless TOUCHSTONE_REQUIRE_SERVICES=1, when it fails.
func interopVerifier(tb testing.TB) (node, dir string) {
	tb.Helper()
	require := os.Getenv("TOUCHSTONE_REQUIRE_SERVICES") == "1"
	if os.Getenv("TOUCHSTONE_TEST_INTEROP") != "1" && !require {
		tb.Skip("independent implementation not requested: set TOUCHSTONE_TEST_INTEROP=1 after `npm ci` in credential/interop")
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
		missing("node not found (%v): install Node.js 18 or later to run the independent implementation", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@digitalbazaar", "vc-bitstring-status-list", "package.json")); err != nil {
		missing("the independent implementation's packages are not installed (%v): run `npm ci` in credential/interop", err)
	}
	return node, dir
}

// checkStatusResult is what interop/check-status.mjs prints.
type checkStatusResult struct {
	Length      int    `json:"length"`
	Set         bool   `json:"set"`
	EncodedList string `json:"encodedList"`
	Error       string `json:"error"`
}

// runCheckStatus runs check-status.mjs with args and returns its result; it
// fails the test unless the script exits 0.
func runCheckStatus(tb testing.TB, node, dir string, args ...string) checkStatusResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"check-status.mjs"}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var res checkStatusResult
	if jerr := json.Unmarshal(stdout.Bytes(), &res); jerr != nil {
		tb.Fatalf("node check-status.mjs %q printed no JSON result (%v): %v\nstdout: %s\nstderr: %s", args, err, jerr, stdout.Bytes(), stderr.Bytes())
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		tb.Fatalf("node check-status.mjs %q: exit %d: %s", args, exit.ExitCode(), res.Error)
	case err != nil:
		tb.Fatalf("node check-status.mjs %q: %v\n%s", args, err, stderr.Bytes())
	}
	return res
}

// TestInteropDigitalBazaar checks our encoding against an independent
// implementation, Digital Bazaar's vc-bitstring-status-list, both ways.
func TestInteropDigitalBazaar(t *testing.T) {
	node, dir := interopVerifier(t)

	t.Run("theirs reads ours", func(t *testing.T) {
		for _, n := range []int{status.MinEntries, 2*status.MinEntries + 8} {
			set := []int{0, 7, 8, 4242, n - 1}
			enc, err := newList(t, n, set...).Encode()
			if err != nil {
				t.Fatal(err)
			}
			doc := status.ListCredential(listURL, issuerURL, status.PurposeRevocation, enc, t0, t1)
			b, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "list.json")
			if err := os.WriteFile(file, b, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, i := range []int{0, 1, 6, 7, 8, 9, 4242, 4243, n - 2, n - 1} {
				want, err := newList(t, n, set...).Get(i)
				if err != nil {
					t.Fatal(err)
				}
				res := runCheckStatus(t, node, dir, file, strconv.Itoa(i))
				if res.Length != n || res.Set != want {
					t.Errorf("list of %d: Digital Bazaar reads index %d as length %d, set %v; want %d, %v", n, i, res.Length, res.Set, n, want)
				}
			}
		}
	})

	t.Run("ours reads theirs", func(t *testing.T) {
		for _, tc := range []struct {
			n   int
			set []int
		}{
			{status.MinEntries, []int{0, 7, 8, 99999, status.MinEntries - 1}},
			{4 * status.MinEntries, []int{1, 2, 3, 131072, 4*status.MinEntries - 2}},
			{status.MinEntries, nil},
		} {
			idx := make([]string, len(tc.set))
			for k, i := range tc.set {
				idx[k] = strconv.Itoa(i)
			}
			res := runCheckStatus(t, node, dir, "encode", strconv.Itoa(tc.n), strings.Join(idx, ","))
			l, err := status.Decode(res.EncodedList)
			if err != nil {
				t.Fatalf("Decode(Digital Bazaar's list of %d): %v", tc.n, err)
			}
			if l.Len() != tc.n {
				t.Errorf("Len() = %d, want %d", l.Len(), tc.n)
			}
			if got := setBits(t, l); !equalInts(got, tc.set) {
				t.Errorf("Digital Bazaar's list of %d: set bits %v, want %v", tc.n, got, tc.set)
			}
		}
	})
}
