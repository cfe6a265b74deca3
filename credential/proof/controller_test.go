package proof_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/touchstone-assess/touchstone/credential/proof"
)

// TestControllerDocumentTestVector rebuilds 1EdTech's issuer controller
// document from its key.
func TestControllerDocumentTestVector(t *testing.T) {
	requireShared(t)
	want := readJSON(t, filepath.Join(sharedDir, "testvectors", "issuer-controller-document.json"))
	pub, err := proof.DecodeMultikey("z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(proof.ControllerDocument("https://example.edu/issuers/565049", pub))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ControllerDocument =\n%s\nwant issuer-controller-document.json", b)
	}
	// It is valid JSON-LD under the embedded contexts.
	if _, err := proof.Canonicalize(got); err != nil {
		t.Errorf("Canonicalize(ControllerDocument) = %v", err)
	}
}

func TestAssertionKey(t *testing.T) {
	pub := testKey().Public().(ed25519.PublicKey)
	const id = "https://touchstone.example/issuers/1"
	vm := proof.VerificationMethodID(id, pub)
	cd := proof.ControllerDocument(id, pub)
	got, err := proof.AssertionKey(cd, vm)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(got) {
		t.Errorf("AssertionKey = %x, want %x", got, pub)
	}

	edit := func(f func(cd, m map[string]any)) map[string]any {
		b, _ := json.Marshal(proof.ControllerDocument(id, pub))
		var cd map[string]any
		_ = json.Unmarshal(b, &cd)
		f(cd, cd["verificationMethod"].([]any)[0].(map[string]any))
		return cd
	}
	for _, tc := range []struct {
		name string
		cd   map[string]any
		vm   string
		want error
	}{
		{"unknown method", cd, id + "#other", proof.ErrVerificationMethod},
		{"not for assertions", edit(func(cd, _ map[string]any) { cd["assertionMethod"] = []any{} }), vm, proof.ErrVerificationMethod},
		{"listed but absent", edit(func(cd, _ map[string]any) { delete(cd, "verificationMethod") }), vm, proof.ErrVerificationMethod},
		{"other controller", edit(func(_, m map[string]any) { m["controller"] = "https://evil.example/" }), vm, proof.ErrVerificationMethod},
		{"other type", edit(func(_, m map[string]any) { m["type"] = "JsonWebKey" }), vm, proof.ErrVerificationMethod},
		{"bad key", edit(func(_, m map[string]any) { m["publicKeyMultibase"] = "zzz" }), vm, proof.ErrInvalidMultikey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := proof.AssertionKey(tc.cd, tc.vm); !errors.Is(err, tc.want) {
				t.Errorf("AssertionKey = %v, want %v", err, tc.want)
			}
		})
	}
}
