package proof

import (
	"crypto/ed25519"
	"fmt"

	"github.com/mr-tron/base58"
)

// ed25519PubHeader is the multicodec prefix of an Ed25519 public key
// (ed25519-pub, 0xed, as an unsigned varint: 0xed 0x01).
var ed25519PubHeader = [2]byte{0xed, 0x01}

// EncodeMultikey returns the publicKeyMultibase form of an Ed25519 public key
// (W3C Controlled Identifiers, "Multikey"): "z" followed by the base58btc
// encoding of 0xed 0x01 ‖ key. It panics if pub is not
// ed25519.PublicKeySize bytes long.
func EncodeMultikey(pub ed25519.PublicKey) string {
	if len(pub) != ed25519.PublicKeySize {
		panic(fmt.Sprintf("proof: EncodeMultikey: public key of %d bytes, want %d", len(pub), ed25519.PublicKeySize))
	}
	b := make([]byte, 0, len(ed25519PubHeader)+len(pub))
	b = append(b, ed25519PubHeader[:]...)
	b = append(b, pub...)
	return "z" + base58.Encode(b)
}

// DecodeMultikey parses a publicKeyMultibase value made by EncodeMultikey. It
// returns an error wrapping ErrInvalidMultikey unless s is "z" followed by
// base58btc of the ed25519-pub multicodec header and 32 key bytes.
func DecodeMultikey(s string) (ed25519.PublicKey, error) {
	if len(s) < 2 || s[0] != 'z' {
		return nil, fmt.Errorf("%w: not multibase base58btc (no leading 'z')", ErrInvalidMultikey)
	}
	b, err := base58.Decode(s[1:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidMultikey, err)
	}
	if len(b) != len(ed25519PubHeader)+ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidMultikey, len(b), len(ed25519PubHeader)+ed25519.PublicKeySize)
	}
	if b[0] != ed25519PubHeader[0] || b[1] != ed25519PubHeader[1] {
		return nil, fmt.Errorf("%w: multicodec header %#x %#x is not ed25519-pub", ErrInvalidMultikey, b[0], b[1])
	}
	return ed25519.PublicKey(b[len(ed25519PubHeader):]), nil
}
