package credential_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/status"
)

// interopVerifier prepares the independent verifier in interop/ (Digital
// Bazaar's vc library under Node) and returns the absolute paths of node and
// of the interop folder.
//
// The test runs when TOUCHSTONE_TEST_INTEROP=1 or TOUCHSTONE_REQUIRE_SERVICES=1
// and skips otherwise. When node or interop/node_modules (npm ci) is missing it
// skips, unless TOUCHSTONE_REQUIRE_SERVICES=1, when it fails.
func interopVerifier(tb testing.TB) (node, dir string) {
	tb.Helper()
	require := os.Getenv("TOUCHSTONE_REQUIRE_SERVICES") == "1"
	if os.Getenv("TOUCHSTONE_TEST_INTEROP") != "1" && !require {
		tb.Skip("independent verifier not requested: set TOUCHSTONE_TEST_INTEROP=1 after `npm ci` in credential/interop")
	}
	missing := func(format string, args ...any) {
		tb.Helper()
		if require {
			tb.Fatalf("TOUCHSTONE_REQUIRE_SERVICES=1: "+format, args...)
		}
		tb.Skipf(format, args...)
	}
	dir, err := filepath.Abs("interop")
	if err != nil {
		tb.Fatal(err)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing("node not found (%v): install Node.js 18 or later to run the independent verifier", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@digitalbazaar", "vc", "package.json")); err != nil {
		missing("the verifier's packages are not installed (%v): run `npm ci` in credential/interop", err)
	}
	return node, dir
}

// verifyResult is what interop/verify.mjs prints.
type verifyResult struct {
	Verified bool     `json:"verified"`
	Errors   []string `json:"errors"`
	Loaded   []string `json:"loaded"`
}

// runVerifier writes credential and controller to a fresh directory, with the
// embedded contexts, runs verify.mjs on them and returns its result and exit
// code.
func runVerifier(tb testing.TB, node, dir string, credential, controller map[string]any) (verifyResult, int) {
	tb.Helper()
	work := tb.TempDir()
	contexts := filepath.Join(work, "contexts")
	writeContexts(tb, contexts, "https://touchstone.example")
	credFile := filepath.Join(work, "credential.json")
	ctrlFile := filepath.Join(work, "controller.json")
	for file, v := range map[string]any{credFile: credential, ctrlFile: controller} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(file, b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	args := []string{credFile, ctrlFile, contexts}
	if entry, ok := credential["credentialStatus"].(map[string]any); ok {
		args = append(args, writeStatusLists(tb, work, entry, controller["id"].(string)))
	}
	return runVerifyScript(tb, node, dir, args...)
}

// writeContexts copies the embedded contexts to dir and adds to its index
// the extension context as the deployments at bases publish it: what a
// verifier holds after fetching them.
func writeContexts(tb testing.TB, dir string, bases ...string) {
	tb.Helper()
	if err := os.CopyFS(dir, proof.ContextFiles()); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var index map[string]any
	if err := json.Unmarshal(b, &index); err != nil {
		tb.Fatal(err)
	}
	for _, base := range bases {
		index["contexts"] = append(index["contexts"].([]any), map[string]any{"url": proof.TouchstoneContextURL(base), "file": proof.ContextTouchstoneV1File})
	}
	if b, err = json.Marshal(index); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// writeStatusLists writes signed, empty revocation and suspension lists for
// entry (a Touchstone revocation entry), issued by issuer with the test key,
// and returns their folder.
func writeStatusLists(tb testing.TB, work string, entry map[string]any, issuer string) string {
	tb.Helper()
	statusDir := filepath.Join(work, "status")
	if err := os.Mkdir(statusDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	key := testSigningKey()
	var index []map[string]string
	for _, e := range []map[string]any{entry, credential.SuspensionEntry(entry)} {
		list, err := status.NewList(status.MinEntries)
		if err != nil {
			tb.Fatal(err)
		}
		encoded, err := list.Encode()
		if err != nil {
			tb.Fatal(err)
		}
		url, purpose := e["statusListCredential"].(string), e["statusPurpose"].(string)
		doc := status.ListCredential(url, issuer, purpose, encoded, testSignedAt, time.Time{})
		signed, err := proof.Sign(doc, key, proof.VerificationMethodID(issuer, key.Public().(ed25519.PublicKey)), testSignedAt)
		if err != nil {
			tb.Fatal(err)
		}
		b, err := json.Marshal(signed)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(statusDir, purpose+".json"), b, 0o644); err != nil {
			tb.Fatal(err)
		}
		index = append(index, map[string]string{"url": url, "file": purpose + ".json"})
	}
	b, _ := json.Marshal(map[string]any{"documents": index})
	if err := os.WriteFile(filepath.Join(statusDir, "index.json"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return statusDir
}

// runVerifyScript runs verify.mjs on the given files: credential,
// controller, contexts folder and, optionally, status folder.
func runVerifyScript(tb testing.TB, node, dir string, args ...string) (verifyResult, int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"verify.mjs"}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		tb.Fatalf("node verify.mjs: %v\n%s", err, stderr.Bytes())
	}
	var res verifyResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		tb.Fatalf("node verify.mjs printed no JSON result (exit %d): %v\nstdout: %s\nstderr: %s", code, err, stdout.Bytes(), stderr.Bytes())
	}
	return res, code
}

// TestInteropDigitalBazaar checks Touchstone's signed credentials with an
// independent implementation: Digital Bazaar's vc library, with the
// eddsa-rdfc-2022 cryptosuite, reading only the embedded contexts.
func TestInteropDigitalBazaar(t *testing.T) {
	node, dir := interopVerifier(t)

	t.Run("1EdTech test vector", func(t *testing.T) {
		requireSharedOB(t)
		tv := filepath.Join(sharedOpenBadges, "testvectors")
		res, code := runVerifyScript(t, node, dir,
			mustAbs(t, filepath.Join(tv, "signed-credential.json")),
			mustAbs(t, filepath.Join(tv, "issuer-controller-document.json")),
			mustAbs(t, sharedOpenBadges))
		if code != 0 || !res.Verified {
			t.Fatalf("verify.mjs rejects 1EdTech's own test vector (exit %d): %q", code, res.Errors)
		}
	})

	// Text whose N-Quads escaping the two implementations must agree on.
	awkward := testAward()
	awkward.Achievement.Description = "Tab\there, \"quotes\", back\\slash, CRLF\r\nünïcødé ✓ 𝄞 <b>&amp;</b>"
	for name, a := range map[string]credential.Award{"badge": testAward(), "certificate": testCertificate(), "awkward text": awkward} {
		t.Run(name, func(t *testing.T) {
			signed, controller := signAward(t, a)
			res, code := runVerifier(t, node, dir, signed, controller)
			if code != 0 || !res.Verified {
				t.Fatalf("independent verifier rejects the credential (exit %d): %q", code, res.Errors)
			}
		})
	}

	t.Run("tampered score", func(t *testing.T) {
		signed, controller := signAward(t, testAward())
		result := signed["credentialSubject"].(map[string]any)["result"].([]any)[0].(map[string]any)
		if result["value"] != "36.4" {
			t.Fatalf("result value = %v, want 36.4", result["value"])
		}
		result["value"] = "96.4"
		res, code := runVerifier(t, node, dir, signed, controller)
		if code != 1 || res.Verified {
			t.Fatalf("independent verifier: exit %d, verified %v for a tampered score; want exit 1, not verified", code, res.Verified)
		}
		t.Logf("rejected as expected: %q", res.Errors)
	})

	t.Run("other issuer key", func(t *testing.T) {
		signed, _ := signAward(t, testAward())
		// The issuer's controller document publishes another key under the
		// verification method id of the signing key.
		controller := proof.ControllerDocument(testBoard.ID, testSigningKey().Public().(ed25519.PublicKey))
		other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
		controller["verificationMethod"].([]any)[0].(map[string]any)["publicKeyMultibase"] = proof.EncodeMultikey(other)
		res, code := runVerifier(t, node, dir, signed, controller)
		if code != 1 || res.Verified {
			t.Fatalf("independent verifier: exit %d, verified %v with the wrong controller document; want exit 1", code, res.Verified)
		}
		t.Logf("rejected as expected: %q", res.Errors)
	})
}

func mustAbs(tb testing.TB, p string) string {
	tb.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		tb.Fatal(err)
	}
	return abs
}
