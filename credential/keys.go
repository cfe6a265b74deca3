package credential

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/touchstone-assess/touchstone/credential/vcjwt"
)

// LoadOrCreateKey reads the issuer's Ed25519 private key from a PKCS #8
// PEM file, creating the file with a new key (mode 0600) when it does not
// exist. Losing the file means new credentials get a new key; credentials
// already issued stay verifiable because every public key is kept in the
// database.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	k, err := loadOrCreate(path, func() (any, error) {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		return key, err
	})
	if err != nil {
		return nil, err
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("credential: %s is not an Ed25519 key", path)
	}
	return key, nil
}

// loadOrCreate reads a PKCS #8 PEM private key, or creates the file with
// the key generate returns.
func loadOrCreate(path string, generate func() (any, error)) (any, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path, generate)
	}
	if err != nil {
		return nil, fmt.Errorf("credential: read key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("credential: %s holds no PKCS #8 private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("credential: parse key %s: %w", path, err)
	}
	return k, nil
}

func createKey(path string, generate func() (any, error)) (any, error) {
	key, err := generate()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("credential: key directory: %w", err)
	}
	// O_EXCL: two processes starting at once must not both write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadOrCreate(path, generate)
	}
	if err != nil {
		return nil, fmt.Errorf("credential: create key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("credential: write key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

// LoadOrCreateRSAKey reads the issuer's RSA private key (RS256 VC-JWTs)
// from a PKCS #8 PEM file, creating a 3072-bit key (mode 0600) when the file
// does not exist.
func LoadOrCreateRSAKey(path string) (*rsa.PrivateKey, error) {
	k, err := loadOrCreate(path, func() (any, error) { return rsa.GenerateKey(rand.Reader, 3072) })
	if err != nil {
		return nil, err
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("credential: %s is not an RSA key", path)
	}
	if key.N.BitLen() < 2048 {
		return nil, fmt.Errorf("credential: %s: an RSA key of %d bits is too weak; use 2048 or more", path, key.N.BitLen())
	}
	return key, nil
}

// RotateKey moves the key file at path aside (to path + ".retired-" + the
// time) and creates a new key of the same kind in its place. The server
// registers the new public key at its next start and retires the old one:
// credentials signed with it stay verifiable, because every public key stays
// published.
func RotateKey(path string, now time.Time) (retired string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("credential: rotate: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return "", fmt.Errorf("credential: rotate: %s holds no PEM key", path)
	}
	old, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("credential: rotate: %w", err)
	}
	retired = path + ".retired-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(path, retired); err != nil {
		return "", fmt.Errorf("credential: rotate: %w", err)
	}
	switch old.(type) {
	case ed25519.PrivateKey:
		_, err = LoadOrCreateKey(path)
	case *rsa.PrivateKey:
		_, err = LoadOrCreateRSAKey(path)
	default:
		err = fmt.Errorf("credential: rotate: %s holds an unsupported key type %T", path, old)
	}
	if err != nil {
		_ = os.Rename(retired, path) // put the old key back: never leave no key
		return "", err
	}
	return retired, nil
}

// rsaJWK returns the JWK thumbprint (RFC 7638) of pub, which is the key's
// id, and its public JWK as JSON.
func rsaJWK(pub *rsa.PublicKey) (kid, jwk string, err error) {
	kid, err = vcjwt.Thumbprint(pub)
	if err != nil {
		return "", "", err
	}
	m, err := vcjwt.JWK(pub, kid)
	if err != nil {
		return "", "", err
	}
	b, err := json.Marshal(m)
	return kid, string(b), err
}
