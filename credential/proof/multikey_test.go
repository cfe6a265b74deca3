package proof_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/touchstone-assess/touchstone/credential/proof"
)

// testKey returns the fixed key the tests sign with.
func testKey() ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func TestMultikeyRoundTrip(t *testing.T) {
	pub := testKey().Public().(ed25519.PublicKey)
	mk := proof.EncodeMultikey(pub)
	if mk[:4] != "z6Mk" {
		t.Errorf("EncodeMultikey = %s, want the z6Mk prefix of every Ed25519 Multikey", mk)
	}
	got, err := proof.DecodeMultikey(mk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pub) {
		t.Errorf("DecodeMultikey(EncodeMultikey(pub)) = %x, want %x", got, pub)
	}
}

func TestDecodeMultikeyTestVector(t *testing.T) {
	const mk = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
	pub, err := proof.DecodeMultikey(mk)
	if err != nil {
		t.Fatal(err)
	}
	if got := proof.EncodeMultikey(pub); got != mk {
		t.Errorf("EncodeMultikey(DecodeMultikey(%s)) = %s", mk, got)
	}
}

func TestDecodeMultikeyErrors(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"no multibase prefix", "6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"},
		{"base64url multibase", "u7QE"},
		{"not base58", "z0OIl"},
		{"too short", "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hw"},
		// 0xe7 0x01 ‖ 33 bytes: a secp256k1 public key Multikey.
		{"secp256k1", "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := proof.DecodeMultikey(tc.in); !errors.Is(err, proof.ErrInvalidMultikey) {
				t.Errorf("DecodeMultikey(%q) error = %v, want ErrInvalidMultikey", tc.in, err)
			}
		})
	}
}
