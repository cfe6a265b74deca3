package credential

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/touchstone-assess/touchstone/credential/vcjwt"
)

// KeyOption changes how key files are read and written.
type KeyOption func(*keyFiles)

// keyFiles is how the issuer's private keys are kept on disk.
type keyFiles struct {
	seal *age.X25519Identity // nil: plain PKCS #8 PEM
}

// SealedWith keeps key files encrypted at rest with age, to identity's
// recipient: a new key is written sealed, and a plain key file found is
// sealed in place at its first read. A sealed file cannot be read without
// the identity.
func SealedWith(identity *age.X25519Identity) KeyOption {
	return func(k *keyFiles) { k.seal = identity }
}

func keyOptions(opts []KeyOption) keyFiles {
	var k keyFiles
	for _, o := range opts {
		o(&k)
	}
	return k
}

// LoadOrCreateKey reads the issuer's Ed25519 private key from a PKCS #8
// PEM file, creating the file with a new key (mode 0600) when it does not
// exist. Losing the file means new credentials get a new key; credentials
// already issued stay verifiable because every public key is kept in the
// database.
func LoadOrCreateKey(path string, opts ...KeyOption) (ed25519.PrivateKey, error) {
	k, err := keyOptions(opts).loadOrCreate(path, func() (any, error) {
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

// ErrSealed is returned for a sealed key file read without the identity
// that opens it.
var ErrSealed = errors.New("credential: the key file is sealed and no identity to open it was given")

// loadOrCreate reads a PKCS #8 PEM private key, plain or sealed, or creates
// the file with the key generate returns.
func (k keyFiles) loadOrCreate(path string, generate func() (any, error)) (any, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return k.create(path, generate)
	}
	if err != nil {
		return nil, fmt.Errorf("credential: read key: %w", err)
	}
	sealed := bytes.HasPrefix(bytes.TrimSpace(b), []byte(armor.Header))
	if sealed {
		if b, err = k.open(path, b); err != nil {
			return nil, err
		}
	}
	key, err := parseKeyPEM(path, b)
	if err != nil {
		return nil, err
	}
	if !sealed && k.seal != nil {
		if err := k.write(path, b, true); err != nil {
			return nil, fmt.Errorf("credential: seal %s: %w", path, err)
		}
	}
	return key, nil
}

// open decrypts a sealed key file.
func (k keyFiles) open(path string, b []byte) ([]byte, error) {
	if k.seal == nil {
		return nil, fmt.Errorf("%w: %s", ErrSealed, path)
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(b)), k.seal)
	if err != nil {
		return nil, fmt.Errorf("credential: open sealed key %s (is it sealed to another identity?): %w", path, err)
	}
	return io.ReadAll(r)
}

func parseKeyPEM(path string, b []byte) (any, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("credential: %s holds no PKCS #8 private key", path)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("credential: parse key %s: %w", path, err)
	}
	return key, nil
}

func (k keyFiles) create(path string, generate func() (any, error)) (any, error) {
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
	err = k.write(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), false)
	if errors.Is(err, fs.ErrExist) {
		return k.loadOrCreate(path, generate) // another process wrote it first
	}
	if err != nil {
		return nil, fmt.Errorf("credential: create key: %w", err)
	}
	return key, nil
}

// write stores a key's PEM at path (mode 0600), sealed when k says so.
// A new file is created exclusively, so that two processes starting at
// once do not both write a key; replace swaps a file in atomically.
func (k keyFiles) write(path string, keyPEM []byte, replace bool) error {
	data := keyPEM
	if k.seal != nil {
		var buf bytes.Buffer
		a := armor.NewWriter(&buf)
		w, err := age.Encrypt(a, k.seal.Recipient())
		if err != nil {
			return err
		}
		if _, err := w.Write(keyPEM); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		if err := a.Close(); err != nil {
			return err
		}
		data = buf.Bytes()
	}
	target := path
	if replace {
		target = path + ".sealing"
		_ = os.Remove(target)
	}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if replace {
		return os.Rename(target, path)
	}
	return nil
}

// LoadOrCreateRSAKey reads the issuer's RSA private key (RS256 VC-JWTs)
// from a PKCS #8 PEM file, creating a 3072-bit key (mode 0600) when the file
// does not exist.
func LoadOrCreateRSAKey(path string, opts ...KeyOption) (*rsa.PrivateKey, error) {
	k, err := keyOptions(opts).loadOrCreate(path, func() (any, error) { return rsa.GenerateKey(rand.Reader, 3072) })
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
func RotateKey(path string, now time.Time, opts ...KeyOption) (retired string, err error) {
	old, err := keyOptions(opts).loadOrCreate(path, func() (any, error) { return nil, fs.ErrNotExist })
	if err != nil {
		return "", fmt.Errorf("credential: rotate: %w", err)
	}
	retired = path + ".retired-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(path, retired); err != nil {
		return "", fmt.Errorf("credential: rotate: %w", err)
	}
	switch old.(type) {
	case ed25519.PrivateKey:
		_, err = LoadOrCreateKey(path, opts...)
	case *rsa.PrivateKey:
		_, err = LoadOrCreateRSAKey(path, opts...)
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
