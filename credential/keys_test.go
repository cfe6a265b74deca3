package credential_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/touchstone-assess/touchstone/credential"
)

// TestSealedKeyFiles: with an age identity, the issuer's private keys are
// never on disk in the clear — new keys are written sealed, a plain key
// file is sealed in place at its first read, rotation keeps both sealed —
// and a sealed file opens with that identity only.
func TestSealedKeyFiles(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	sealed := credential.SealedWith(id)
	dir := t.TempDir()
	isSealed := func(path string) {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("-----BEGIN AGE ENCRYPTED FILE-----")) || bytes.Contains(b, []byte("PRIVATE KEY")) {
			t.Errorf("%s is not sealed:\n%.120s", filepath.Base(path), b)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", filepath.Base(path), fi.Mode().Perm(), err)
		}
	}

	// A new key is written sealed, and reads back only with the identity.
	edPath := filepath.Join(dir, "issuer-key.pem")
	ed, err := credential.LoadOrCreateKey(edPath, sealed)
	if err != nil {
		t.Fatal(err)
	}
	isSealed(edPath)
	if again, err := credential.LoadOrCreateKey(edPath, sealed); err != nil || !again.Equal(ed) {
		t.Errorf("sealed key read back: %v, same key %v", err, err == nil && again.Equal(ed))
	}
	if _, err := credential.LoadOrCreateKey(edPath); !errors.Is(err, credential.ErrSealed) {
		t.Errorf("sealed key read without the identity: %v, want ErrSealed", err)
	}
	if _, err := credential.LoadOrCreateKey(edPath, credential.SealedWith(other)); err == nil {
		t.Error("a key sealed to one identity opened with another")
	}

	// A deployment that turns sealing on: its plain key is sealed in place.
	rsaPath := filepath.Join(dir, "issuer-rsa-key.pem")
	plain, err := credential.LoadOrCreateRSAKey(rsaPath)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(rsaPath); !bytes.Contains(b, []byte("BEGIN PRIVATE KEY")) {
		t.Fatal("without an identity the key file should be plain PEM")
	}
	if got, err := credential.LoadOrCreateRSAKey(rsaPath, sealed); err != nil || !got.Equal(plain) {
		t.Fatalf("plain key read with sealing on: %v", err)
	}
	isSealed(rsaPath)
	if got, err := credential.LoadOrCreateRSAKey(rsaPath, sealed); err != nil || !got.Equal(plain) {
		t.Errorf("the key sealed in place reads back: %v", err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*.sealing")); len(leftovers) != 0 {
		t.Errorf("left behind: %v", leftovers)
	}

	// Rotation keeps the new key and the retired one sealed.
	retired, err := credential.RotateKey(edPath, time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC), sealed)
	if err != nil {
		t.Fatal(err)
	}
	isSealed(edPath)
	isSealed(retired)
	if old, err := credential.LoadOrCreateKey(retired, sealed); err != nil || !old.Equal(ed) {
		t.Errorf("the retired file does not hold the old key: %v", err)
	}
	if cur, err := credential.LoadOrCreateKey(edPath, sealed); err != nil || cur.Equal(ed) {
		t.Errorf("rotation did not give a new key: %v", err)
	}
}
