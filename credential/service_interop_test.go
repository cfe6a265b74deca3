package credential_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// runNode runs an interop script and returns its JSON output and exit code.
func runNode(tb testing.TB, node, dir, script string, args ...string) (map[string]any, int) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
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
		tb.Fatalf("node %s: %v\n%s", script, err, stderr.Bytes())
	}
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		tb.Fatalf("node %s printed no JSON (exit %d): %v\nstdout: %s\nstderr: %s", script, code, err, stdout.Bytes(), stderr.Bytes())
	}
	return out, code
}

func writeJSON(tb testing.TB, file string, v any) string {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return file
}

// published writes what a verifier fetches from the issuer — the embedded
// contexts, the controller document, the JWKS and the current status lists
// of c — and returns the folder.
func published(t *testing.T, f *fixture, c credential.Credential) string {
	t.Helper()
	ctx := context.Background()
	work := t.TempDir()
	writeContexts(t, filepath.Join(work, "contexts"), testBaseURL)
	ctrl, err := f.svc.ControllerDocument(ctx, f.issuerID)
	if err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(work, "controller.json"), ctrl)
	jwks, err := f.svc.JWKS(ctx, f.issuerID)
	if err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(work, "jwks.json"), jwks)
	statusDir := filepath.Join(work, "status")
	if err := os.Mkdir(statusDir, 0o755); err != nil {
		t.Fatal(err)
	}
	entry := doc(t, c)["credentialStatus"].(map[string]any)
	var index []map[string]string
	for i, e := range []map[string]any{entry, credential.SuspensionEntry(entry)} {
		url := e["statusListCredential"].(string)
		parts := strings.Split(strings.TrimPrefix(url, testBaseURL+"/status-lists/"), "/")
		list, err := f.svc.StatusListCredential(ctx, parts[0], parts[1])
		if err != nil {
			t.Fatal(err)
		}
		file := []string{"revocation.json", "suspension.json"}[i]
		writeJSON(t, filepath.Join(statusDir, file), list)
		index = append(index, map[string]string{"url": url, "file": file})
	}
	writeJSON(t, filepath.Join(statusDir, "index.json"), map[string]any{"documents": index})
	return work
}

// TestInteropLifecycle checks credentials issued by the service, in every
// format, with independent implementations from the npm registry: Digital
// Bazaar's vc (Data Integrity) with its Bitstring Status List checker, jose
// (VC-JWT), and a PNG chunk reader and an XML parser (baked images). Valid
// credentials verify; revoked, suspended, expired and tampered ones fail
// with the right reason.
func TestInteropLifecycle(t *testing.T) {
	node, dir := interopVerifier(t)
	ctx := context.Background()
	f := newFixture(t, dbtest.SQLite(t))
	c := f.issue(t, "attempt:1", f.badge, 612)
	now := f.clock.Now().Add(time.Hour).Format(time.RFC3339)

	verifyJSON := func(t *testing.T, c credential.Credential, document []byte, at string) (map[string]any, int) {
		t.Helper()
		pub := published(t, f, c)
		cred := filepath.Join(pub, "credential.json")
		if err := os.WriteFile(cred, document, 0o644); err != nil {
			t.Fatal(err)
		}
		return runNode(t, node, dir, "verify.mjs", cred, filepath.Join(pub, "controller.json"), filepath.Join(pub, "contexts"),
			filepath.Join(pub, "status"), "--now="+at)
	}
	verifyJWT := func(t *testing.T, c credential.Credential, alg, at string) (map[string]any, int) {
		t.Helper()
		pub := published(t, f, c)
		jwt, err := f.svc.JWT(ctx, c, alg)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(pub, "credential.jwt")
		if err := os.WriteFile(file, []byte(jwt), 0o644); err != nil {
			t.Fatal(err)
		}
		return runNode(t, node, dir, "verify-jwt.mjs", file, filepath.Join(pub, "jwks.json"), at)
	}
	errorsOf := func(out map[string]any) string {
		b, _ := json.Marshal(out["errors"])
		return string(b)
	}

	t.Run("valid in every format", func(t *testing.T) {
		if out, code := verifyJSON(t, c, c.Document, now); code != 0 {
			t.Errorf("vc rejects the credential: %s", errorsOf(out))
		}
		for _, alg := range []string{credential.EdDSA, credential.RS256} {
			if out, code := verifyJWT(t, c, alg, now); code != 0 || out["alg"] != alg {
				t.Errorf("jose rejects the %s VC-JWT: %v", alg, out)
			}
		}
		for _, img := range []string{credential.PNG, credential.SVG} {
			for _, alg := range []string{"", credential.EdDSA} {
				b, err := f.svc.Baked(ctx, c, img, alg)
				if err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(t.TempDir(), "badge."+img)
				if err := os.WriteFile(file, b, 0o644); err != nil {
					t.Fatal(err)
				}
				out, code := runNode(t, node, dir, "read-baked.mjs", file)
				got, _ := out["credential"].(string)
				want := string(c.Document)
				if alg != "" {
					want, _ = f.svc.JWT(ctx, c, alg)
				}
				if code != 0 || out["format"] != img {
					t.Fatalf("read-baked %s %s: exit %d, %v", img, alg, code, out)
				}
				if alg == "" {
					if got != want {
						t.Errorf("the %s holds another credential than the one baked", img)
					}
					// What the independent reader extracted verifies too.
					if out, code := verifyJSON(t, c, []byte(got), now); code != 0 {
						t.Errorf("vc rejects the credential read from the %s: %s", img, errorsOf(out))
					}
				} else if strings.Count(got, ".") != 2 {
					t.Errorf("the %s holds %q, want a compact JWS", img, got)
				}
			}
		}
	})

	t.Run("tampered", func(t *testing.T) {
		tampered := bytes.Replace(c.Document, []byte(`"value":"612"`), []byte(`"value":"799"`), 1)
		if out, code := verifyJSON(t, c, tampered, now); code != 1 {
			t.Errorf("vc accepts a tampered credential: exit %d %v", code, out)
		}
		jwt, _ := f.svc.JWT(ctx, c, credential.EdDSA)
		parts := strings.Split(jwt, ".")
		pub := published(t, f, c)
		file := filepath.Join(pub, "tampered.jwt")
		_ = os.WriteFile(file, []byte(parts[0]+"."+parts[1]+"."+strings.Repeat("A", len(parts[2]))), 0o644)
		if out, code := runNode(t, node, dir, "verify-jwt.mjs", file, filepath.Join(pub, "jwks.json"), now); code != 1 {
			t.Errorf("jose accepts a forged signature: exit %d %v", code, out)
		}
	})

	t.Run("expired", func(t *testing.T) {
		later := c.ValidUntil.Add(24 * time.Hour).Format(time.RFC3339)
		out, code := verifyJSON(t, c, c.Document, later)
		if code != 1 || !strings.Contains(errorsOf(out), `after \"validUntil\"`) {
			t.Errorf("vc after validUntil: exit %d, errors %s; want expired", code, errorsOf(out))
		}
		out, code = verifyJWT(t, c, credential.EdDSA, later)
		if code != 1 || !strings.Contains(errorsOf(out), "exp") {
			t.Errorf("jose after exp: exit %d, errors %s; want the exp claim to fail", code, errorsOf(out))
		}
		step := c.ValidUntil.Sub(f.clock.Now()) + time.Hour
		f.clock.Advance(step)
		defer f.clock.Advance(-step)
		if v := f.svc.Verify(ctx, c); v.State != credential.StateExpired {
			t.Errorf("Touchstone after validUntil: %v", v)
		}
	})

	t.Run("suspended", func(t *testing.T) {
		s := f.issue(t, "attempt:2", f.others[0], 700)
		if err := f.svc.Suspend(ctx, "manager", s.ID, "review"); err != nil {
			t.Fatal(err)
		}
		out, code := verifyJSON(t, s, s.Document, now)
		if code != 1 || !strings.Contains(errorsOf(out), `"suspended"`) {
			t.Errorf("vc on a suspended credential: exit %d, errors %s; want suspended", code, errorsOf(out))
		}
		if v := f.svc.VerifyInput(ctx, s.Document); v.State != credential.StateSuspended {
			t.Errorf("Touchstone on a suspended credential: %v", v)
		}
	})

	t.Run("revoked", func(t *testing.T) {
		r := f.issue(t, "attempt:3", f.others[1], 700)
		if err := f.svc.Revoke(ctx, "manager", r.ID, "fraud"); err != nil {
			t.Fatal(err)
		}
		out, code := verifyJSON(t, r, r.Document, now)
		if code != 1 || !strings.Contains(errorsOf(out), `"revoked"`) {
			t.Errorf("vc on a revoked credential: exit %d, errors %s; want revoked", code, errorsOf(out))
		}
		if v := f.svc.VerifyInput(ctx, r.Document); v.State != credential.StateRevoked {
			t.Errorf("Touchstone on a revoked credential: %v", v)
		}
	})
}
