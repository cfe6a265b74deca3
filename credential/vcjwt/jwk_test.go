package vcjwt_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/touchstone-assess/touchstone/credential/vcjwt"
)

func TestJWK(t *testing.T) {
	edPub := edKey().Public().(ed25519.PublicKey)
	rsaPub := rsaKey().Public().(*rsa.PublicKey)
	for _, tc := range []struct {
		name string
		pub  crypto.PublicKey
		kid  string
		want map[string]any
	}{
		{"Ed25519", edPub, edKid, map[string]any{
			"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(edPub),
			"alg": "EdDSA", "use": "sig", "kid": edKid,
		}},
		{"RSA", rsaPub, rsaKid, map[string]any{
			"kty": "RSA", "n": base64.RawURLEncoding.EncodeToString(rsaPub.N.Bytes()), "e": "AQAB",
			"alg": "RS256", "use": "sig", "kid": rsaKid,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := vcjwt.JWK(tc.pub, tc.kid)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("JWK = %v\nwant %v", got, tc.want)
			}
			// Deterministic: the same key gives the same bytes.
			again, err := vcjwt.JWK(tc.pub, tc.kid)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := mustJSON(t, got), mustJSON(t, again); a != b {
				t.Errorf("two encodings differ:\n%s\n%s", a, b)
			}
			// And ParseJWK reads it back.
			kid, pub, err := vcjwt.ParseJWK([]byte(mustJSON(t, got)))
			if err != nil {
				t.Fatal(err)
			}
			if kid != tc.kid || !reflect.DeepEqual(pub, tc.pub) {
				t.Errorf("ParseJWK = %q, %v; want %q, %v", kid, pub, tc.kid, tc.pub)
			}
		})
	}
}

func TestJWKRefuses(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pub  crypto.PublicKey
	}{
		{"Ed25519 private key", edKey()},
		{"RSA private key", rsaKey()},
		{"ECDSA", ecKey.Public()},
		{"RSA-1024", weakRSAKey().Public()},
		{"short Ed25519", ed25519.PublicKey{1, 2, 3}},
		{"HMAC secret", []byte("0123456789abcdef0123456789abcdef")},
		{"nil", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if jwk, err := vcjwt.JWK(tc.pub, edKid); !errors.Is(err, vcjwt.ErrKey) {
				t.Errorf("JWK = %v, %v; want ErrKey", jwk, err)
			}
			if tp, err := vcjwt.Thumbprint(tc.pub); !errors.Is(err, vcjwt.ErrKey) {
				t.Errorf("Thumbprint = %q, %v; want ErrKey", tp, err)
			}
			if set, err := vcjwt.JWKS(map[string]crypto.PublicKey{edKid: edKey().Public(), rsaKid: tc.pub}); !errors.Is(err, vcjwt.ErrKey) {
				t.Errorf("JWKS = %v, %v; want ErrKey", set, err)
			}
		})
	}
}

func TestJWKS(t *testing.T) {
	set, err := vcjwt.JWKS(map[string]crypto.PublicKey{
		"https://touchstone.example/keys/c": edKey().Public(),
		"https://touchstone.example/keys/a": rsaKey().Public(),
		"https://touchstone.example/keys/b": otherEdKey().Public(),
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, ok := set["keys"].([]any)
	if !ok || len(set) != 1 || len(keys) != 3 {
		t.Fatalf("JWKS = %v, want {keys: [3 keys]}", set)
	}
	for i, want := range []string{"a", "b", "c"} {
		if kid := keys[i].(map[string]any)["kid"]; kid != "https://touchstone.example/keys/"+want {
			t.Errorf("keys[%d].kid = %v, want …/%s (sorted by kid)", i, kid, want)
		}
	}
	if keys[0].(map[string]any)["kty"] != "RSA" || keys[2].(map[string]any)["x"] != base64.RawURLEncoding.EncodeToString(edKey().Public().(ed25519.PublicKey)) {
		t.Errorf("keys are not where their kid says: %v", keys)
	}
	// go-jose, reading the set as a verifier would, finds each key by kid.
	var parsed jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(mustJSON(t, set)), &parsed); err != nil {
		t.Fatal(err)
	}
	if got := parsed.Key("https://touchstone.example/keys/b"); len(got) != 1 || !reflect.DeepEqual(got[0].Key, otherEdKey().Public()) {
		t.Errorf("go-jose finds %v under …/b", got)
	}

	empty, err := vcjwt.JWKS(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(t, empty); got != `{"keys":[]}` {
		t.Errorf("empty JWKS = %s, want {\"keys\":[]}", got)
	}
}

func TestParseJWKRefuses(t *testing.T) {
	privEd, err := jose.JSONWebKey{Key: edKey(), KeyID: edKid}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	privRSA, err := jose.JSONWebKey{Key: rsaKey(), KeyID: rsaKid}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecJWK, err := jose.JSONWebKey{Key: ecKey.Public(), KeyID: "ec"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	weakJWK, err := jose.JSONWebKey{Key: weakRSAKey().Public(), KeyID: "weak"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	edJWK := func(edit func(map[string]any)) []byte {
		m, err := vcjwt.JWK(edKey().Public(), edKid)
		if err != nil {
			t.Fatal(err)
		}
		edit(m)
		return []byte(mustJSON(t, m))
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"Ed25519 private JWK", privEd, vcjwt.ErrKey},
		{"RSA private JWK", privRSA, vcjwt.ErrKey},
		{"symmetric key", []byte(`{"kty":"oct","k":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"}`), vcjwt.ErrKey},
		{"EC key", ecJWK, vcjwt.ErrKey},
		{"RSA-1024", weakJWK, vcjwt.ErrKey},
		{"use enc", edJWK(func(m map[string]any) { m["use"] = "enc" }), vcjwt.ErrKey},
		{"alg does not fit", edJWK(func(m map[string]any) { m["alg"] = "RS256" }), vcjwt.ErrKey},
		{"x too short", edJWK(func(m map[string]any) { m["x"] = "AAAA" }), vcjwt.ErrKey},
		{"unknown kty", []byte(`{"kty":"XYZ"}`), vcjwt.ErrKey},
		{"not JSON", []byte(`kty=OKP`), vcjwt.ErrMalformed},
		{"JSON array", []byte(`[{"kty":"OKP"}]`), vcjwt.ErrMalformed},
		{"null", []byte(`null`), vcjwt.ErrMalformed},
		{"too large", []byte(`{"kty":"OKP","pad":"` + strings.Repeat("x", vcjwt.MaxJWKSize) + `"}`), vcjwt.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kid, pub, err := vcjwt.ParseJWK(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseJWK = %q, %T, %v; want error %v", kid, pub, err, tc.want)
			}
			if pub != nil {
				t.Errorf("ParseJWK returned a key (%T) with error %v", pub, err)
			}
		})
	}
}

// TestThumbprint checks the RFC 7638 thumbprint against the RFCs' own
// examples: RFC 7638 §3.1 (RSA) and RFC 8037 Appendix A.3 (Ed25519).
func TestThumbprint(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pub  crypto.PublicKey
		want string
	}{
		{"RFC 7638 RSA", &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{"RFC 8037 Ed25519", ed25519.PublicKey(x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := vcjwt.Thumbprint(tc.pub)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Thumbprint = %s, want %s", got, tc.want)
			}
		})
	}
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
