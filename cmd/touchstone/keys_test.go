package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/touchstone-assess/touchstone/credential"
)

func TestKeysRotate(t *testing.T) {
	dir := t.TempDir()
	getenv := env(map[string]string{"TOUCHSTONE_DATA_DIR": dir})
	edPath, rsaPath := filepath.Join(dir, "issuer-key.pem"), filepath.Join(dir, "issuer-rsa-key.pem")
	oldEd, err := credential.LoadOrCreateKey(edPath)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"keys", "rotate"}, getenv, &out); err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "issuer-rsa-key.pem: no key yet") || !strings.Contains(out.String(), "the old one is kept as") {
		t.Errorf("output:\n%s", out.String())
	}
	newEd, err := credential.LoadOrCreateKey(edPath)
	if err != nil {
		t.Fatal(err)
	}
	if newEd.Equal(oldEd) {
		t.Error("the Ed25519 key did not change")
	}
	retired, _ := filepath.Glob(edPath + ".retired-*")
	if len(retired) != 1 {
		t.Fatalf("retired key files: %v", retired)
	}
	if kept, err := credential.LoadOrCreateKey(retired[0]); err != nil || !kept.Equal(oldEd) {
		t.Errorf("the retired file does not hold the old key: %v", err)
	}
	if _, err := os.Stat(rsaPath); err == nil {
		t.Error("rotate created an RSA key that did not exist")
	}
}

func TestKeysReissueNeedsAReason(t *testing.T) {
	err := run(context.Background(), []string{"keys", "reissue", "z6MkExample"}, env(map[string]string{"TOUCHSTONE_DATA_DIR": t.TempDir()}), &bytes.Buffer{})
	if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--reason") {
		t.Errorf("reissue without a reason: %v", err)
	}
}

func TestKeysReissueSignedByUnknownKey(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"keys", "reissue", "z6MkUnknown", "--reason", "drill"},
		env(map[string]string{"TOUCHSTONE_DATA_DIR": t.TempDir()}), &out)
	if err != nil || !strings.Contains(out.String(), "re-issued 0 credentials") {
		t.Errorf("reissue of an unknown key: %v\n%s", err, out.String())
	}
}

// TestKeysRotateSealed: with TOUCHSTONE_KEY_SEAL set, `keys rotate` leaves
// no private key in the clear, not even the retired one that was plain.
func TestKeysRotateSealed(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	edPath := filepath.Join(dir, "issuer-key.pem")
	if _, err := credential.LoadOrCreateKey(edPath); err != nil { // plain, from before sealing was on
		t.Fatal(err)
	}
	getenv := env(map[string]string{"TOUCHSTONE_DATA_DIR": dir, "TOUCHSTONE_KEY_SEAL": id.String()})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"keys", "rotate"}, getenv, &out); err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, out.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "issuer-key.pem*"))
	if len(files) != 2 {
		t.Fatalf("key files: %v, want the new key and the retired one", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("PRIVATE KEY")) {
			t.Errorf("%s holds a private key in the clear", filepath.Base(f))
		}
		if _, err := credential.LoadOrCreateKey(f, credential.SealedWith(id)); err != nil {
			t.Errorf("%s does not open with the identity: %v", filepath.Base(f), err)
		}
	}
}
