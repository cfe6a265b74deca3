package vcjwt_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/touchstone-assess/touchstone/credential/vcjwt"
)

// interopVerifier prepares the independent verifier in ../interop (panva's
// jose under Node) and returns the absolute paths of node and of the interop
// folder.
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
	dir, err := filepath.Abs(filepath.Join("..", "interop"))
	if err != nil {
		tb.Fatal(err)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		missing("node not found (%v): install Node.js 18 or later to run the independent verifier", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "jose", "package.json")); err != nil {
		missing("the verifier's packages are not installed (%v): run `npm ci` in credential/interop", err)
	}
	return node, dir
}

// jwtResult is what interop/verify-jwt.mjs prints.
type jwtResult struct {
	Verified bool           `json:"verified"`
	Alg      string         `json:"alg"`
	Kid      string         `json:"kid"`
	Payload  map[string]any `json:"payload"`
	Errors   []string       `json:"errors"`
}

// runVerifyJWT writes token and jwks to a fresh folder, runs verify-jwt.mjs
// on them with its clock at "at", and returns its result and exit code.
func runVerifyJWT(tb testing.TB, node, dir, token string, jwks map[string]any, at time.Time) (jwtResult, int) {
	tb.Helper()
	work := tb.TempDir()
	tokenFile := filepath.Join(work, "credential.jwt")
	jwksFile := filepath.Join(work, "jwks.json")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	b, err := json.MarshalIndent(jwks, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(jwksFile, b, 0o644); err != nil {
		tb.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "verify-jwt.mjs", tokenFile, jwksFile, at.UTC().Format(time.RFC3339))
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		tb.Fatalf("node verify-jwt.mjs: %v\n%s", err, stderr.Bytes())
	}
	var res jwtResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		tb.Fatalf("node verify-jwt.mjs printed no JSON result (exit %d): %v\nstdout: %s\nstderr: %s", code, err, stdout.Bytes(), stderr.Bytes())
	}
	return res, code
}

// TestInteropJose checks Touchstone's VC-JWTs with an independent
// implementation, panva's jose (jwtVerify with a local JWK Set built from
// our JWKS), for both algorithms.
func TestInteropJose(t *testing.T) {
	node, dir := interopVerifier(t)

	jwks, err := vcjwt.JWKS(map[string]crypto.PublicKey{
		edKid:  edKey().Public(),
		rsaKid: rsaKey().Public(),
	})
	if err != nil {
		t.Fatal(err)
	}
	// A day after validFrom: inside the credential's validity, whatever
	// today's date.
	at := time.Unix(testNbf, 0).Add(24 * time.Hour)

	for _, tc := range []struct {
		name string
		key  crypto.Signer
		kid  string
		alg  string
	}{
		{"EdDSA", edKey(), edKid, "EdDSA"},
		{"RS256", rsaKey(), rsaKid, "RS256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token, err := vcjwt.Sign(testCredential(t), tc.key, tc.kid)
			if err != nil {
				t.Fatal(err)
			}
			res, code := runVerifyJWT(t, node, dir, token, jwks, at)
			if code != 0 || !res.Verified {
				t.Fatalf("jose rejects our token (exit %d): %q", code, res.Errors)
			}
			if res.Alg != tc.alg || res.Kid != tc.kid {
				t.Errorf("jose read alg %q, kid %q; want %q, %q", res.Alg, res.Kid, tc.alg, tc.kid)
			}
			// jose's payload is the whole claims set: the credential and the
			// registered claims, exactly as we signed them.
			if want := segment(t, token, 1); !reflect.DeepEqual(res.Payload, want) {
				t.Errorf("jose payload\n%v\nwant\n%v", res.Payload, want)
			}
			cred, _, err := vcjwt.Verify(token, issuerKeys().resolve)
			if err != nil {
				t.Fatal(err)
			}
			for _, claim := range []string{"iss", "jti", "sub", "nbf", "exp"} {
				delete(res.Payload, claim)
			}
			if !reflect.DeepEqual(res.Payload, cred) {
				t.Errorf("jose's credential\n%v\ndiffers from ours\n%v", res.Payload, cred)
			}

			t.Run("tampered", func(t *testing.T) {
				parts := strings.Split(token, ".")
				p := segment(t, token, 1)
				p["credentialSubject"].(map[string]any)["result"].([]any)[0].(map[string]any)["value"] = "96.4"
				tampered := parts[0] + "." + encode(t, p) + "." + parts[2]
				if _, _, err := vcjwt.Verify(tampered, issuerKeys().resolve); !errors.Is(err, vcjwt.ErrSignature) {
					t.Fatalf("our Verify = %v, want ErrSignature", err)
				}
				res, code := runVerifyJWT(t, node, dir, tampered, jwks, at)
				if code != 1 || res.Verified {
					t.Fatalf("jose: exit %d, verified %v for a tampered token; want exit 1, not verified", code, res.Verified)
				}
				t.Logf("rejected as expected: %q", res.Errors)
			})
		})
	}

	t.Run("key not in the set", func(t *testing.T) {
		token, err := vcjwt.Sign(testCredential(t), otherEdKey(), edKid)
		if err != nil {
			t.Fatal(err)
		}
		res, code := runVerifyJWT(t, node, dir, token, jwks, at)
		if code != 1 || res.Verified {
			t.Fatalf("jose: exit %d, verified %v for a token signed with another key; want exit 1", code, res.Verified)
		}
		t.Logf("rejected as expected: %q", res.Errors)
	})

	t.Run("alg none", func(t *testing.T) {
		token, err := vcjwt.Sign(testCredential(t), edKey(), edKid)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(token, ".")
		none := encode(t, map[string]any{"alg": "none", "kid": edKid, "typ": "JWT"}) + "." + parts[1] + "."
		res, code := runVerifyJWT(t, node, dir, none, jwks, at)
		if code != 1 || res.Verified {
			t.Fatalf("jose: exit %d, verified %v for alg none; want exit 1", code, res.Verified)
		}
		t.Logf("rejected as expected: %q", res.Errors)
	})

	// Both verifiers hold a token to typ "JWT": one typed for another
	// profile (VC-JOSE-COSE's vc+jwt) is refused by each.
	t.Run("typ vc+jwt", func(t *testing.T) {
		token := signRaw(t, claimsPayload(t, nil), jose.EdDSA, edKey(), map[string]any{"kid": edKid, "typ": "vc+jwt"})
		if _, _, err := vcjwt.Verify(token, issuerKeys().resolve); !errors.Is(err, vcjwt.ErrMalformed) {
			t.Fatalf("our Verify = %v, want ErrMalformed", err)
		}
		res, code := runVerifyJWT(t, node, dir, token, jwks, at)
		if code != 1 || res.Verified {
			t.Fatalf("jose: exit %d, verified %v for typ vc+jwt; want exit 1", code, res.Verified)
		}
		t.Logf("rejected as expected: %q", res.Errors)
	})
}
