package vcjwt_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/touchstone-assess/touchstone/credential/vcjwt"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	edKid  = "https://touchstone.example/issuers/board/keys/ed25519-1"
	rsaKid = "https://touchstone.example/issuers/board/keys/rsa-1"

	// Unix seconds of the test credential's validFrom (2025-03-01T09:30:00Z)
	// and validUntil (2028-03-01T09:30:00Z).
	testNbf = 1740821400
	testExp = 1835515800
)

// edKey is the fixed Ed25519 key of the golden test: seed 0x01, 0x02, …, 0x20.
func edKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	return ed25519.NewKeyFromSeed(seed)
}

// otherEdKey is an Ed25519 key that is not edKey.
func otherEdKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
}

// RSA keys take a moment to generate: one of each size per test binary.
var (
	rsaKey      = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	otherRSAKey = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	weakRSAKey  = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(1024) })
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

// testCredential returns a fresh copy of testdata/credential.json.
func testCredential(tb testing.TB) map[string]any {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "credential.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatal(err)
	}
	return doc
}

// resolver serves keys by kid and counts the lookups.
type resolver struct {
	keys  map[string]crypto.PublicKey
	calls int
}

var errUnknownKid = errors.New("unknown kid")

func (r *resolver) resolve(kid string) (crypto.PublicKey, error) {
	r.calls++
	k, ok := r.keys[kid]
	if !ok {
		return nil, errUnknownKid
	}
	return k, nil
}

func issuerKeys() *resolver {
	return &resolver{keys: map[string]crypto.PublicKey{
		edKid:  edKey().Public(),
		rsaKid: rsaKey().Public(),
	}}
}

// segment decodes part i (0 header, 1 payload) of a compact JWS as JSON.
func segment(tb testing.TB, token string, i int) map[string]any {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d segments, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("segment %d is not a JSON object: %v", i, err)
	}
	return m
}

// encode returns the base64url of v as JSON.
func encode(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// signRaw signs payload as it is, with whatever header, bypassing Sign's
// checks: the way a careless or hostile issuer would make a token.
func signRaw(tb testing.TB, payload []byte, alg jose.SignatureAlgorithm, key any, headers map[string]any) string {
	tb.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range headers {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return token
}

// claimsPayload returns the test credential with the registered claims Sign
// would add, as JSON, after edit has changed it.
func claimsPayload(tb testing.TB, edit func(map[string]any)) []byte {
	tb.Helper()
	p := testCredential(tb)
	p["iss"] = "https://touchstone.example/issuers/board"
	p["jti"] = p["id"]
	p["sub"] = "did:example:candidate-0042"
	p["nbf"] = testNbf
	p["exp"] = testExp
	if edit != nil {
		edit(p)
	}
	b, err := json.Marshal(p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
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
			doc := testCredential(t)
			token, err := vcjwt.Sign(doc, tc.key, tc.kid)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(doc, testCredential(t)) {
				t.Fatal("Sign modified the credential it was given")
			}

			header := segment(t, token, 0)
			wantHeader := map[string]any{"alg": tc.alg, "kid": tc.kid, "typ": "JWT"}
			if !reflect.DeepEqual(header, wantHeader) {
				t.Errorf("header = %v, want exactly %v", header, wantHeader)
			}

			payload := segment(t, token, 1)
			for claim, want := range map[string]any{
				"iss": "https://touchstone.example/issuers/board",
				"jti": "https://touchstone.example/credentials/6b1f0d2e-8c1a-4b5e-9a43-2f7d1c0e9b11",
				"sub": "did:example:candidate-0042",
				"nbf": float64(testNbf),
				"exp": float64(testExp),
			} {
				if got := payload[claim]; got != want {
					t.Errorf("payload %s = %v, want %v", claim, got, want)
				}
			}
			if _, ok := payload["vc"]; ok {
				t.Error(`payload has a "vc" wrapper; the credential's members belong at the top level`)
			}
			for name, want := range doc {
				if !reflect.DeepEqual(payload[name], want) {
					t.Errorf("payload %s = %v, want the credential's %v", name, payload[name], want)
				}
			}
			if len(payload) != len(doc)+5 {
				t.Errorf("payload has %d members, want the credential's %d and 5 claims", len(payload), len(doc))
			}

			got, h, err := vcjwt.Verify(token, issuerKeys().resolve)
			if err != nil {
				t.Fatal(err)
			}
			if want := (vcjwt.Header{Alg: tc.alg, Kid: tc.kid, Typ: "JWT"}); h != want {
				t.Errorf("header = %+v, want %+v", h, want)
			}
			if !reflect.DeepEqual(got, doc) {
				t.Errorf("Verify returned\n%v\nwant the credential signed\n%v", got, doc)
			}
		})
	}
}

// A credential whose issuer is a string, whose subject has no id (identity
// by identifier, as Touchstone's own) and which does not expire: no sub, no
// exp.
func TestRoundTripMinimalClaims(t *testing.T) {
	doc := testCredential(t)
	doc["issuer"] = "https://touchstone.example/issuers/board"
	delete(doc["credentialSubject"].(map[string]any), "id")
	delete(doc, "validUntil")
	doc["validFrom"] = "2025-03-01T10:30:00.75+01:00" // same second as testNbf, with a fraction

	token, err := vcjwt.Sign(doc, edKey(), edKid)
	if err != nil {
		t.Fatal(err)
	}
	payload := segment(t, token, 1)
	for _, claim := range []string{"sub", "exp"} {
		if v, ok := payload[claim]; ok {
			t.Errorf("payload has %s = %v, want none", claim, v)
		}
	}
	if payload["iss"] != doc["issuer"] || payload["nbf"] != float64(testNbf) {
		t.Errorf("iss, nbf = %v, %v; want %v, %d", payload["iss"], payload["nbf"], doc["issuer"], testNbf)
	}
	got, _, err := vcjwt.Verify(token, issuerKeys().resolve)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, doc) {
		t.Errorf("Verify returned %v, want %v", got, doc)
	}
}

func TestSignRefuses(t *testing.T) {
	edit := func(f func(map[string]any)) map[string]any {
		doc := testCredential(t)
		f(doc)
		return doc
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		doc  map[string]any
		key  crypto.Signer
		kid  string
		want error
	}{
		{"proof", edit(func(d map[string]any) { d["proof"] = map[string]any{"type": "DataIntegrityProof"} }), edKey(), edKid, vcjwt.ErrMalformed},
		{"registered claim as member", edit(func(d map[string]any) { d["exp"] = 1 }), edKey(), edKid, vcjwt.ErrMalformed},
		{"no id", edit(func(d map[string]any) { delete(d, "id") }), edKey(), edKid, vcjwt.ErrMalformed},
		{"no issuer id", edit(func(d map[string]any) { d["issuer"] = map[string]any{"name": "Board"} }), edKey(), edKid, vcjwt.ErrMalformed},
		{"no validFrom", edit(func(d map[string]any) { delete(d, "validFrom") }), edKey(), edKid, vcjwt.ErrMalformed},
		{"validFrom without time zone", edit(func(d map[string]any) { d["validFrom"] = "2025-03-01T09:30:00" }), edKey(), edKid, vcjwt.ErrMalformed},
		{"validUntil not a date", edit(func(d map[string]any) { d["validUntil"] = "soon" }), edKey(), edKid, vcjwt.ErrMalformed},
		{"subject array", edit(func(d map[string]any) { d["credentialSubject"] = []any{d["credentialSubject"]} }), edKey(), edKid, vcjwt.ErrMalformed},
		{"subject id not a string", edit(func(d map[string]any) { d["credentialSubject"].(map[string]any)["id"] = 42 }), edKey(), edKid, vcjwt.ErrMalformed},
		{"not JSON", edit(func(d map[string]any) { d["name"] = make(chan int) }), edKey(), edKid, vcjwt.ErrMalformed},
		{"nil credential", nil, edKey(), edKid, vcjwt.ErrMalformed},
		{"too large", edit(func(d map[string]any) { d["description"] = strings.Repeat("x", vcjwt.MaxTokenSize) }), edKey(), edKid, vcjwt.ErrMalformed},
		{"nil key", testCredential(t), nil, edKid, vcjwt.ErrKey},
		{"ECDSA key", testCredential(t), ecKey, edKid, vcjwt.ErrKey},
		{"RSA-1024", testCredential(t), weakRSAKey(), rsaKid, vcjwt.ErrKey},
		{"empty kid", testCredential(t), edKey(), "", vcjwt.ErrKey},
		{"relative kid", testCredential(t), edKey(), "keys/ed25519-1", vcjwt.ErrKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token, err := vcjwt.Sign(tc.doc, tc.key, tc.kid)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Sign = %.40q, %v; want error %v", token, err, tc.want)
			}
			t.Logf("refused as expected: %v", err)
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	good, err := vcjwt.Sign(testCredential(t), edKey(), edKid)
	if err != nil {
		t.Fatal(err)
	}
	goodRSA, err := vcjwt.Sign(testCredential(t), rsaKey(), rsaKid)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	edHeader := map[string]any{"kid": edKid, "typ": "JWT"}

	tamperedPayload := func() string {
		p := segment(t, good, 1)
		p["name"] = "Something Else Entirely"
		return parts[0] + "." + encode(t, p) + "." + parts[2]
	}()
	// The classic confusion attack: an HMAC keyed with the bytes of the
	// issuer's public key, which anyone can fetch.
	rsaPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(rsaKey().Public()))})
	hsWithEdPub := signRaw(t, claimsPayload(t, nil), jose.HS256, []byte(edKey().Public().(ed25519.PublicKey)), edHeader)
	hsWithRSAPub := signRaw(t, claimsPayload(t, nil), jose.HS256, rsaPubPEM, map[string]any{"kid": rsaKid, "typ": "JWT"})
	algNone := encode(t, map[string]any{"alg": "none", "kid": edKid, "typ": "JWT"}) + "." + parts[1] + "."
	// The header says RS256 for the Ed25519 kid; the signature is untouched.
	algSwitched := encode(t, map[string]any{"alg": "RS256", "kid": edKid, "typ": "JWT"}) + "." + parts[1] + "." + parts[2]

	claimsToken := func(edit func(map[string]any)) string {
		return signRaw(t, claimsPayload(t, edit), jose.EdDSA, edKey(), edHeader)
	}
	oversize := signRaw(t, claimsPayload(t, func(p map[string]any) {
		p["description"] = strings.Repeat("x", vcjwt.MaxTokenSize)
	}), jose.EdDSA, edKey(), edHeader)

	keys := func(k crypto.PublicKey) map[string]crypto.PublicKey {
		return map[string]crypto.PublicKey{edKid: k, rsaKid: k}
	}
	for _, tc := range []struct {
		name  string
		token string
		keys  map[string]crypto.PublicKey // default: issuerKeys
		want  error
		// lookup says whether the resolver may be asked: a token refused for
		// its header must be refused before any key is fetched.
		lookup bool
	}{
		{"tampered payload", tamperedPayload, nil, vcjwt.ErrSignature, true},
		{"tampered signature", parts[0] + "." + parts[1] + "." + encode(t, "AAAA"), nil, vcjwt.ErrSignature, true},
		{"alg none", algNone, nil, vcjwt.ErrSignature, false},
		{"HS256 keyed with the Ed25519 public key", hsWithEdPub, nil, vcjwt.ErrSignature, false},
		{"HS256 keyed with the RSA public key PEM", hsWithRSAPub, nil, vcjwt.ErrSignature, false},
		{"alg switched to RS256", algSwitched, nil, vcjwt.ErrKey, true},
		{"wrong Ed25519 key", good, keys(otherEdKey().Public()), vcjwt.ErrSignature, true},
		{"wrong RSA key", goodRSA, keys(otherRSAKey().Public()), vcjwt.ErrSignature, true},
		{"RSA key for EdDSA", good, keys(rsaKey().Public()), vcjwt.ErrKey, true},
		{"Ed25519 key for RS256", goodRSA, keys(edKey().Public()), vcjwt.ErrKey, true},
		{"weak RSA key", signRaw(t, claimsPayload(t, nil), jose.RS256, weakRSAKey(), map[string]any{"kid": rsaKid}), keys(weakRSAKey().Public()), vcjwt.ErrKey, true},
		{"kid does not resolve", good, map[string]crypto.PublicKey{}, vcjwt.ErrKey, true},
		{"resolver gives no key", good, keys(nil), vcjwt.ErrKey, true},
		{"resolver gives a private key", good, keys(edKey()), vcjwt.ErrKey, true},

		{"nbf is not validFrom", claimsToken(func(p map[string]any) { p["nbf"] = testNbf + 3600 }), nil, vcjwt.ErrClaims, true},
		{"nbf missing", claimsToken(func(p map[string]any) { delete(p, "nbf") }), nil, vcjwt.ErrClaims, true},
		{"nbf a string", claimsToken(func(p map[string]any) { p["nbf"] = "2025-03-01T09:30:00Z" }), nil, vcjwt.ErrClaims, true},
		{"exp is not validUntil", claimsToken(func(p map[string]any) { p["exp"] = testExp + 86400 }), nil, vcjwt.ErrClaims, true},
		{"exp without validUntil", claimsToken(func(p map[string]any) { delete(p, "validUntil") }), nil, vcjwt.ErrClaims, true},
		{"validUntil without exp", claimsToken(func(p map[string]any) { delete(p, "exp") }), nil, vcjwt.ErrClaims, true},
		{"iss is not the issuer", claimsToken(func(p map[string]any) { p["iss"] = "https://evil.example/issuer" }), nil, vcjwt.ErrClaims, true},
		{"iss missing", claimsToken(func(p map[string]any) { delete(p, "iss") }), nil, vcjwt.ErrClaims, true},
		{"jti is not the id", claimsToken(func(p map[string]any) { p["jti"] = "urn:uuid:00000000-0000-0000-0000-000000000000" }), nil, vcjwt.ErrClaims, true},
		{"sub is not the subject", claimsToken(func(p map[string]any) { p["sub"] = "did:example:someone-else" }), nil, vcjwt.ErrClaims, true},
		{"sub missing", claimsToken(func(p map[string]any) { delete(p, "sub") }), nil, vcjwt.ErrClaims, true},
		{"sub without a subject id", claimsToken(func(p map[string]any) { delete(p["credentialSubject"].(map[string]any), "id") }), nil, vcjwt.ErrClaims, true},
		{"no validFrom", claimsToken(func(p map[string]any) { delete(p, "validFrom") }), nil, vcjwt.ErrClaims, true},

		{"oversize", oversize, nil, vcjwt.ErrMalformed, false},
		{"empty", "", nil, vcjwt.ErrMalformed, false},
		{"garbage", "this is not a token", nil, vcjwt.ErrMalformed, false},
		{"two segments", parts[0] + "." + parts[1], nil, vcjwt.ErrMalformed, false},
		{"four segments", good + ".AAAA", nil, vcjwt.ErrMalformed, false},
		{"JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, nil, vcjwt.ErrMalformed, false},
		{"padded base64", parts[0] + "=." + parts[1] + "." + parts[2], nil, vcjwt.ErrMalformed, false},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("{alg:EdDSA")) + "." + parts[1] + "." + parts[2], nil, vcjwt.ErrMalformed, false},
		{"header an array", encode(t, []string{"EdDSA"}) + "." + parts[1] + "." + parts[2], nil, vcjwt.ErrMalformed, false},
		{"no kid", signRaw(t, claimsPayload(t, nil), jose.EdDSA, edKey(), map[string]any{"typ": "JWT"}), nil, vcjwt.ErrMalformed, false},
		{"kid not a string", signRaw(t, claimsPayload(t, nil), jose.EdDSA, edKey(), map[string]any{"kid": 1}), nil, vcjwt.ErrMalformed, false},
		{"typ vc+jwt", signRaw(t, claimsPayload(t, nil), jose.EdDSA, edKey(), map[string]any{"kid": edKid, "typ": "vc+jwt"}), nil, vcjwt.ErrMalformed, false},
		{"crit header", signRaw(t, claimsPayload(t, nil), jose.EdDSA, edKey(), map[string]any{"kid": edKid, "crit": []string{"exp"}}), nil, vcjwt.ErrMalformed, false},
		{"extra header", signRaw(t, claimsPayload(t, nil), jose.EdDSA, edKey(), map[string]any{"kid": edKid, "x5u": "https://evil.example/cert"}), nil, vcjwt.ErrMalformed, false},
		{"vc wrapper (VC data model 1.1)", signRaw(t, []byte(mustJSON(t, map[string]any{
			"iss": "https://touchstone.example/issuers/board", "jti": "urn:uuid:1", "nbf": testNbf, "vc": testCredential(t),
		})), jose.EdDSA, edKey(), edHeader), nil, vcjwt.ErrMalformed, true},
		{"payload not an object", signRaw(t, []byte(`["a","b"]`), jose.EdDSA, edKey(), edHeader), nil, vcjwt.ErrMalformed, true},
		{"payload not JSON", signRaw(t, []byte(`hello`), jose.EdDSA, edKey(), edHeader), nil, vcjwt.ErrMalformed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := issuerKeys()
			if tc.keys != nil {
				r.keys = tc.keys
			}
			cred, h, err := vcjwt.Verify(tc.token, r.resolve)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, %+v, %v; want error %v", cred != nil, h, err, tc.want)
			}
			if cred != nil || h != (vcjwt.Header{}) {
				t.Errorf("Verify returned a credential or header (%+v) with error %v", h, err)
			}
			if !tc.lookup && r.calls != 0 {
				t.Errorf("resolver called %d times for a token refused by its header", r.calls)
			}
			t.Logf("refused as expected: %v", err)
		})
	}
}

func TestVerifyResolverError(t *testing.T) {
	token, err := vcjwt.Sign(testCredential(t), edKey(), edKid)
	if err != nil {
		t.Fatal(err)
	}
	r := &resolver{}
	_, _, err = vcjwt.Verify(token, r.resolve)
	if !errors.Is(err, vcjwt.ErrKey) || !errors.Is(err, errUnknownKid) {
		t.Fatalf("Verify = %v; want ErrKey wrapping the resolver's error", err)
	}
	if r.calls != 1 {
		t.Errorf("resolver called %d times, want once", r.calls)
	}
	if _, _, err := vcjwt.Verify(token, nil); !errors.Is(err, vcjwt.ErrKey) {
		t.Errorf("Verify with a nil resolver = %v, want ErrKey", err)
	}
}

// Tokens from other issuers may omit typ or spell it as a media type; they
// may carry sub, nbf and exp with a fraction of a second, and claims this
// profile does not use (iat).
func TestVerifyAcceptsOtherIssuers(t *testing.T) {
	payload := claimsPayload(t, func(p map[string]any) {
		p["nbf"] = testNbf + 0.5
		p["iat"] = testNbf
	})
	for _, tc := range []struct {
		name    string
		headers map[string]any
		typ     string
	}{
		{"no typ", map[string]any{"kid": edKid}, ""},
		{"application/jwt", map[string]any{"kid": edKid, "typ": "application/jwt"}, "application/jwt"},
		{"lower-case jwt", map[string]any{"kid": edKid, "typ": "jwt"}, "jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := signRaw(t, payload, jose.EdDSA, edKey(), tc.headers)
			cred, h, err := vcjwt.Verify(token, issuerKeys().resolve)
			if err != nil {
				t.Fatal(err)
			}
			if h.Typ != tc.typ {
				t.Errorf("typ = %q, want %q", h.Typ, tc.typ)
			}
			if !reflect.DeepEqual(cred, testCredential(t)) {
				t.Errorf("credential = %v, want the payload without its registered claims", cred)
			}
		})
	}
}

// TestGolden pins the exact token for a fixed key and credential: EdDSA is
// deterministic, so any change in header, payload encoding or claims shows
// here. Run with -update to rewrite testdata/credential.eddsa.jwt.
func TestGolden(t *testing.T) {
	token, err := vcjwt.Sign(testCredential(t), edKey(), edKid)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "credential.eddsa.jwt")
	if *update {
		if err := os.WriteFile(golden, []byte(token+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if token != strings.TrimSpace(string(want)) {
		t.Errorf("token differs from %s:\ngot  %s\nwant %s", golden, token, want)
	}
	// The golden token must itself verify: it would otherwise pin a bug.
	if _, _, err := vcjwt.Verify(string(want), issuerKeys().resolve); err != nil {
		t.Errorf("golden token does not verify: %v", err)
	}
}

func TestLooksLikeJWT(t *testing.T) {
	token, err := vcjwt.Sign(testCredential(t), edKey(), edKid)
	if err != nil {
		t.Fatal(err)
	}
	credJSON, err := os.ReadFile(filepath.Join("testdata", "credential.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   string
		want bool
	}{
		{"token", token, true},
		{"token with new line", "\n" + token + "\r\n", true},
		{"credential JSON", string(credJSON), false},
		{"PNG signature", "\x89PNG\r\n\x1a\n", false},
		{"empty", "", false},
		{"three dotted words", "a.b.c", false},
		{"header without alg", encode(t, map[string]any{"kid": edKid}) + ".e30.c2ln", false},
		{"empty signature", strings.Join(strings.Split(token, ".")[:2], ".") + ".", false},
		{"four segments", token + ".AAAA", false},
		{"base64 padding", token + "==", false},
		{"space inside", strings.Replace(token, ".", ". ", 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := vcjwt.LooksLikeJWT([]byte(tc.in)); got != tc.want {
				t.Errorf("LooksLikeJWT(%.40q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzVerify checks that Verify never panics, that every refusal wraps one
// of the package's errors, and that what it accepts is a credential.
func FuzzVerify(f *testing.F) {
	good, err := vcjwt.Sign(testCredential(f), edKey(), edKid)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add("e30.e30.e30")
	f.Add("eyJhbGciOiJFZERTQSIsImtpZCI6IngifQ.W10.AAAA")
	f.Add("")
	f.Add("...")
	keys := map[string]crypto.PublicKey{edKid: edKey().Public(), "x": edKey().Public()}
	resolve := func(kid string) (crypto.PublicKey, error) {
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("kid %q: %w", kid, errUnknownKid)
	}
	f.Fuzz(func(t *testing.T, token string) {
		cred, h, err := vcjwt.Verify(token, resolve)
		if err != nil {
			if !errors.Is(err, vcjwt.ErrMalformed) && !errors.Is(err, vcjwt.ErrSignature) &&
				!errors.Is(err, vcjwt.ErrClaims) && !errors.Is(err, vcjwt.ErrKey) {
				t.Fatalf("error %v wraps none of the package's errors", err)
			}
			return
		}
		if cred == nil || h.Alg != vcjwt.AlgEdDSA || h.Kid == "" {
			t.Fatalf("accepted with credential %v, header %+v", cred, h)
		}
		if _, ok := cred["id"].(string); !ok {
			t.Fatalf("accepted a credential without id: %v", cred)
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func benchmarkSign(b *testing.B, key crypto.Signer, kid string) {
	doc := testCredential(b)
	for b.Loop() {
		if _, err := vcjwt.Sign(doc, key, kid); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkVerify(b *testing.B, key crypto.Signer, kid string) {
	token, err := vcjwt.Sign(testCredential(b), key, kid)
	if err != nil {
		b.Fatal(err)
	}
	resolve := issuerKeys().resolve
	b.SetBytes(int64(len(token)))
	for b.Loop() {
		if _, _, err := vcjwt.Verify(token, resolve); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignEdDSA(b *testing.B)   { benchmarkSign(b, edKey(), edKid) }
func BenchmarkVerifyEdDSA(b *testing.B) { benchmarkVerify(b, edKey(), edKid) }
func BenchmarkSignRS256(b *testing.B)   { benchmarkSign(b, rsaKey(), rsaKid) }
func BenchmarkVerifyRS256(b *testing.B) { benchmarkVerify(b, rsaKey(), rsaKid) }
