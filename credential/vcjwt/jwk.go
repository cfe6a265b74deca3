package vcjwt

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// MaxJWKSize is the largest JWK, in bytes, that ParseJWK reads. An RSA-4096
// public JWK is under 1 KiB.
const MaxJWKSize = 64 << 10

// privateMembers are the JWK members (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037
// §2) that carry private or symmetric key material.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// JWK returns the public JSON Web Key (RFC 7517) of pub, an
// ed25519.PublicKey or an *rsa.PublicKey of at least MinRSABits, as a JSON
// object: kty "OKP" with crv "Ed25519" and x (RFC 8037), or kty "RSA" with n
// and e; alg (EdDSA or RS256), use "sig" and kid. The map holds only strings,
// so encoding it gives the same bytes every time. Other keys give ErrKey.
func JWK(pub crypto.PublicKey, kid string) (map[string]any, error) {
	alg, err := publicAlg(pub)
	if err != nil {
		return nil, err
	}
	b, err := jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("vcjwt: JWK: %w", err)
	}
	return m, nil
}

// JWKS returns the JWK Set (RFC 7517 §5) {"keys": [...]} of keys, a map from
// kid to public key, with the keys sorted by kid so that the document is
// stable. An empty map gives {"keys": []}. A key JWK refuses gives ErrKey.
func JWKS(keys map[string]crypto.PublicKey) (map[string]any, error) {
	kids := slices.Sorted(maps.Keys(keys))
	set := make([]any, 0, len(kids))
	for _, kid := range kids {
		jwk, err := JWK(keys[kid], kid)
		if err != nil {
			return nil, fmt.Errorf("kid %q: %w", kid, err)
		}
		set = append(set, jwk)
	}
	return map[string]any{"keys": set}, nil
}

// ParseJWK reads one public JWK, as JSON of at most MaxJWKSize bytes, and
// returns its kid (empty when it has none) and its key: an
// ed25519.PublicKey or an *rsa.PublicKey of at least MinRSABits. A JWK with
// private or symmetric key material, of another key type, whose use is not
// "sig", or whose alg does not fit its key is refused with ErrKey; input that
// is not a JSON object gives ErrMalformed.
func ParseJWK(b []byte) (kid string, pub crypto.PublicKey, err error) {
	if len(b) > MaxJWKSize {
		return "", nil, fmt.Errorf("%w: JWK is %d bytes, more than %d", ErrMalformed, len(b), MaxJWKSize)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil || members == nil {
		return "", nil, fmt.Errorf("%w: JWK is not a JSON object", ErrMalformed)
	}
	// Checked before go-jose parses the key: its UnmarshalJSON accepts
	// private keys, and a private key must never pass for a public one.
	for _, name := range privateMembers {
		if _, ok := members[name]; ok {
			return "", nil, fmt.Errorf("%w: JWK has private member %q", ErrKey, name)
		}
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(b); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	if !k.IsPublic() {
		return "", nil, fmt.Errorf("%w: JWK is not a public key", ErrKey)
	}
	alg, err := publicAlg(k.Key)
	if err != nil {
		return "", nil, err
	}
	if k.Use != "" && k.Use != "sig" {
		return "", nil, fmt.Errorf("%w: JWK use %q, want sig", ErrKey, k.Use)
	}
	if k.Algorithm != "" && k.Algorithm != alg {
		return "", nil, fmt.Errorf("%w: JWK alg %q does not fit its key (%s)", ErrKey, k.Algorithm, alg)
	}
	return k.KeyID, k.Key, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub with SHA-256,
// base64url without padding: a stable name for a key, whatever kid it is
// published under. pub is as for JWK.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	if _, err := publicAlg(pub); err != nil {
		return "", err
	}
	k := jose.JSONWebKey{Key: pub}
	sum, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrKey, err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// publicAlg returns the algorithm a public key verifies, refusing other key
// types and weak RSA keys.
func publicAlg(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrKey, len(k))
		}
		return AlgEdDSA, nil
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", fmt.Errorf("%w: nil RSA key", ErrKey)
		}
		if k.N.BitLen() < MinRSABits {
			return "", fmt.Errorf("%w: RSA key of %d bits, fewer than %d", ErrKey, k.N.BitLen(), MinRSABits)
		}
		return AlgRS256, nil
	case nil:
		return "", fmt.Errorf("%w: no key", ErrKey)
	default:
		name := fmt.Sprintf("%T", pub)
		if strings.Contains(name, "Private") {
			return "", fmt.Errorf("%w: %s is a private key; give its public key", ErrKey, name)
		}
		return "", fmt.Errorf("%w: %s is neither ed25519.PublicKey nor *rsa.PublicKey", ErrKey, name)
	}
}
