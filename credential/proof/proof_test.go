package proof_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/credential/proof"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// readJSON decodes the JSON object in the file at path.
func readJSON(tb testing.TB, path string) map[string]any {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return m
}

// withoutProof returns doc's members except proof, and the proof.
func withoutProof(doc map[string]any) (map[string]any, map[string]any) {
	out := map[string]any{}
	for k, v := range doc {
		if k != "proof" {
			out[k] = v
		}
	}
	p, _ := doc["proof"].(map[string]any)
	return out, p
}

// keyFrom returns a resolver that answers with the assertion keys of the
// controller document cd.
func keyFrom(cd map[string]any) func(string) (ed25519.PublicKey, error) {
	return func(vm string) (ed25519.PublicKey, error) { return proof.AssertionKey(cd, vm) }
}

// TestVector checks canonicalization and verification against 1EdTech's
// published eddsa-rdfc-2022 test vector for Open Badges 3.0.
func TestVector(t *testing.T) {
	requireShared(t)
	dir := filepath.Join(sharedDir, "testvectors")
	signed := readJSON(t, filepath.Join(dir, "signed-credential.json"))
	controller := readJSON(t, filepath.Join(dir, "issuer-controller-document.json"))
	wantDoc, err := os.ReadFile(filepath.Join(dir, "document-canon.txt"))
	if err != nil {
		t.Fatal(err)
	}
	wantProof, err := os.ReadFile(filepath.Join(dir, "proof-canon.txt"))
	if err != nil {
		t.Fatal(err)
	}

	doc, p := withoutProof(signed)
	got, err := proof.Canonicalize(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(wantDoc) {
		t.Errorf("canonical document differs from document-canon.txt\ngot:\n%s\nwant:\n%s", got, wantDoc)
	}

	config := map[string]any{"@context": signed["@context"]}
	for k, v := range p {
		if k != "proofValue" {
			config[k] = v
		}
	}
	got, err = proof.Canonicalize(config)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(wantProof) {
		t.Errorf("canonical proof configuration differs from proof-canon.txt\ngot:\n%s\nwant:\n%s", got, wantProof)
	}

	if err := proof.Verify(signed, keyFrom(controller)); err != nil {
		t.Fatalf("Verify(signed-credential.json) = %v, want nil", err)
	}

	// One character changed in the document.
	tampered := readJSON(t, filepath.Join(dir, "signed-credential.json"))
	tampered["name"] = "Teamwork Badgf"
	if err := proof.Verify(tampered, keyFrom(controller)); !errors.Is(err, proof.ErrInvalidSignature) {
		t.Errorf("Verify(tampered name) = %v, want ErrInvalidSignature", err)
	}
	// One character changed in the proof configuration.
	tampered = readJSON(t, filepath.Join(dir, "signed-credential.json"))
	tampered["proof"].(map[string]any)["created"] = "2010-01-01T19:23:25Z"
	if err := proof.Verify(tampered, keyFrom(controller)); !errors.Is(err, proof.ErrInvalidSignature) {
		t.Errorf("Verify(tampered created) = %v, want ErrInvalidSignature", err)
	}
}

// created is the fixed signing time of the tests.
var created = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)

const issuer = "https://touchstone.example/issuers/1"

func signTestdata(tb testing.TB) (map[string]any, map[string]any) {
	tb.Helper()
	key := testKey()
	pub := key.Public().(ed25519.PublicKey)
	doc := readJSON(tb, "testdata/unsigned.json")
	signed, err := proof.Sign(doc, key, proof.VerificationMethodID(issuer, pub), created.Add(999*time.Millisecond))
	if err != nil {
		tb.Fatal(err)
	}
	return signed, proof.ControllerDocument(issuer, pub)
}

func TestSignVerify(t *testing.T) {
	doc := readJSON(t, "testdata/unsigned.json")
	signed, controller := signTestdata(t)

	if _, ok := doc["proof"]; ok {
		t.Fatal("Sign modified its input")
	}
	set, ok := signed["proof"].([]any)
	if !ok || len(set) != 1 {
		t.Fatalf("proof = %#v, want an array of one proof", signed["proof"])
	}
	p := set[0].(map[string]any)
	for k, want := range map[string]string{
		"type":               "DataIntegrityProof",
		"cryptosuite":        "eddsa-rdfc-2022",
		"proofPurpose":       "assertionMethod",
		"created":            "2025-03-01T09:30:00Z",
		"verificationMethod": issuer + "#" + proof.EncodeMultikey(testKey().Public().(ed25519.PublicKey)),
	} {
		if p[k] != want {
			t.Errorf("proof.%s = %v, want %s", k, p[k], want)
		}
	}
	if err := proof.Verify(signed, keyFrom(controller)); err != nil {
		t.Fatalf("Verify(Sign(doc)) = %v", err)
	}

	// A JSON round trip, as a verifier receives the credential, keeps it valid.
	b, err := json.Marshal(signed)
	if err != nil {
		t.Fatal(err)
	}
	var received map[string]any
	if err := json.Unmarshal(b, &received); err != nil {
		t.Fatal(err)
	}
	if err := proof.Verify(received, keyFrom(controller)); err != nil {
		t.Fatalf("Verify after a JSON round trip = %v", err)
	}

	// Another key, published by the same controller id, does not verify.
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	wrongKey := func(string) (ed25519.PublicKey, error) { return other.Public().(ed25519.PublicKey), nil }
	if err := proof.Verify(signed, wrongKey); !errors.Is(err, proof.ErrInvalidSignature) {
		t.Errorf("Verify with another key = %v, want ErrInvalidSignature", err)
	}

	if _, err := proof.Sign(signed, testKey(), "https://x.example/#k", created); !errors.Is(err, proof.ErrAlreadySigned) {
		t.Errorf("Sign(signed) = %v, want ErrAlreadySigned", err)
	}
}

// TestSignGolden pins the signed form of testdata/unsigned.json under the
// fixed key and time. Ed25519 is deterministic, so any change in the output is
// a change in canonicalization or in the proof. Rewrite with -update.
func TestSignGolden(t *testing.T) {
	signed, controller := signTestdata(t)
	for _, g := range []struct {
		file string
		v    any
	}{
		{"testdata/signed.golden.json", signed},
		{"testdata/controller.golden.json", controller},
	} {
		got, err := json.MarshalIndent(g.v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		if *update {
			if err := os.WriteFile(g.file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(g.file)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs (run go test -update after checking why):\ngot:\n%s", g.file, got)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	signed, controller := signTestdata(t)
	resolve := keyFrom(controller)
	// edit returns a copy of the signed document changed by f.
	edit := func(f func(doc, p map[string]any)) map[string]any {
		b, _ := json.Marshal(signed)
		var doc map[string]any
		_ = json.Unmarshal(b, &doc)
		p := doc["proof"].([]any)[0].(map[string]any)
		f(doc, p)
		return doc
	}
	for _, tc := range []struct {
		name    string
		doc     map[string]any
		resolve func(string) (ed25519.PublicKey, error)
		want    error
	}{
		{"no proof", edit(func(d, _ map[string]any) { delete(d, "proof") }), resolve, proof.ErrNoProof},
		{"lone proof object", edit(func(d, p map[string]any) { d["proof"] = p }), resolve, nil},
		{"proof set", edit(func(d, p map[string]any) { d["proof"] = []any{p, p} }), resolve, proof.ErrMalformedProof},
		{"empty proof set", edit(func(d, _ map[string]any) { d["proof"] = []any{} }), resolve, proof.ErrMalformedProof},
		{"other type", edit(func(_, p map[string]any) { p["type"] = "Ed25519Signature2020" }), resolve, proof.ErrUnsupportedCryptosuite},
		{"other cryptosuite", edit(func(_, p map[string]any) { p["cryptosuite"] = "eddsa-jcs-2022" }), resolve, proof.ErrUnsupportedCryptosuite},
		{"authentication purpose", edit(func(_, p map[string]any) { p["proofPurpose"] = "authentication" }), resolve, proof.ErrProofPurpose},
		{"no verificationMethod", edit(func(_, p map[string]any) { delete(p, "verificationMethod") }), resolve, proof.ErrMalformedProof},
		{"bad created", edit(func(_, p map[string]any) { p["created"] = "yesterday" }), resolve, proof.ErrMalformedProof},
		{"no proofValue", edit(func(_, p map[string]any) { delete(p, "proofValue") }), resolve, proof.ErrMalformedProof},
		{"base64url proofValue", edit(func(_, p map[string]any) { p["proofValue"] = "uAAAA" }), resolve, proof.ErrMalformedProof},
		{"short proofValue", edit(func(_, p map[string]any) { p["proofValue"] = p["proofValue"].(string)[:40] }), resolve, proof.ErrMalformedProof},
		{"changed proofValue", edit(func(_, p map[string]any) {
			v := []byte(p["proofValue"].(string))
			v[10] = map[bool]byte{true: '2', false: '3'}[v[10] == '3']
			p["proofValue"] = string(v)
		}), resolve, proof.ErrInvalidSignature},
		{"changed subject", edit(func(d, _ map[string]any) {
			d["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["name"] = "Blood Gas Interpretatiom"
		}), resolve, proof.ErrInvalidSignature},
		{"added member", edit(func(d, _ map[string]any) { d["description"] = "extra" }), resolve, proof.ErrInvalidSignature},
		{"undefined term added", edit(func(d, _ map[string]any) { d["score"] = "99" }), resolve, proof.ErrCanonicalize},
		{"foreign verification method", edit(func(_, p map[string]any) {
			p["verificationMethod"] = "https://evil.example/issuers/1#" + proof.EncodeMultikey(testKey().Public().(ed25519.PublicKey))
		}), resolve, proof.ErrVerificationMethod},
		{"resolver error", signed, func(string) (ed25519.PublicKey, error) { return nil, errors.New("offline") }, proof.ErrVerificationMethod},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := proof.Verify(tc.doc, tc.resolve)
			if !errors.Is(err, tc.want) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestCanonicalizeSafeMode(t *testing.T) {
	base := func(extra map[string]any) map[string]any {
		doc := map[string]any{
			"@context": []any{"https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"},
			"id":       "https://touchstone.example/credentials/1",
			"type":     []any{"VerifiableCredential", "OpenBadgeCredential"},
			"name":     "ok",
		}
		for k, v := range extra {
			doc[k] = v
		}
		return doc
	}
	if _, err := proof.Canonicalize(base(nil)); err != nil {
		t.Fatalf("Canonicalize(valid document) = %v", err)
	}
	for _, tc := range []struct {
		name string
		doc  map[string]any
		want error
	}{
		{"undefined term", base(map[string]any{"score": 16}), proof.ErrCanonicalize},
		{"undefined type", base(map[string]any{"type": []any{"VerifiableCredential", "Diploma"}}), proof.ErrCanonicalize},
		{"relative id", base(map[string]any{"id": "credentials/1"}), proof.ErrCanonicalize},
		{"control character", base(map[string]any{"name": "bell\a"}), proof.ErrCanonicalize},
		{"space in IRI", base(map[string]any{"id": "https://touchstone.example/a b"}), proof.ErrCanonicalize},
		{"unknown context", base(map[string]any{"@context": []any{"https://www.w3.org/ns/credentials/v2", "https://example.com/ctx.jsonld"}}), proof.ErrUnknownContext},
		{"no context", map[string]any{"name": "x"}, proof.ErrCanonicalize},
		{"states nothing", map[string]any{"@context": []any{"https://www.w3.org/ns/credentials/v2"}, "id": "https://touchstone.example/1"}, proof.ErrCanonicalize},
		{"not JSON", base(map[string]any{"name": func() {}}), proof.ErrCanonicalize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := proof.Canonicalize(tc.doc)
			if !errors.Is(err, tc.want) {
				t.Errorf("Canonicalize = %q, %v; want error %v", got, err, tc.want)
			}
		})
	}
}

// TestCanonicalizeEscapes pins the N-Quads escaping of the characters that
// Canonicalize accepts in strings.
func TestCanonicalizeEscapes(t *testing.T) {
	doc := map[string]any{
		"@context": []any{"https://www.w3.org/ns/credentials/v2"},
		"id":       "https://touchstone.example/credentials/1",
		"name":     "a\tb\nc\rd\"e\\f ü",
	}
	got, err := proof.Canonicalize(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `<https://touchstone.example/credentials/1> <https://schema.org/name> "a\tb\nc\rd\"e\\f ü" .` + "\n"
	if got != want {
		t.Errorf("Canonicalize = %q, want %q", got, want)
	}
}

func ExampleSign() {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := key.Public().(ed25519.PublicKey)
	const issuer = "https://issuer.example/profile"
	doc := map[string]any{
		"@context":          []any{"https://www.w3.org/ns/credentials/v2"},
		"type":              []any{"VerifiableCredential"},
		"issuer":            issuer,
		"validFrom":         "2025-01-01T00:00:00Z",
		"credentialSubject": map[string]any{"id": "did:example:alice"},
	}
	signed, err := proof.Sign(doc, key, proof.VerificationMethodID(issuer, pub), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	controller := proof.ControllerDocument(issuer, pub)
	err = proof.Verify(signed, func(vm string) (ed25519.PublicKey, error) { return proof.AssertionKey(controller, vm) })
	fmt.Println(strings.HasPrefix(signed["proof"].([]any)[0].(map[string]any)["proofValue"].(string), "z"), err)
	// Output: true <nil>
}
