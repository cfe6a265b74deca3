package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/internal/blob/blobtest"
)

// TestMain stops the S3 server embedded for the tests, if one started.
// Started with childArgsEnv set, the test binary is a server process of
// the fault tests instead (see launchProcess).
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childArgsEnv); ok {
		os.Exit(runChild(args))
	}
	code := m.Run()
	blobtest.Shutdown()
	os.Exit(code)
}

// TestOpenBlobsLocal: by default files go to <data-dir>/blobs, a directory
// only the server's user can read.
func TestOpenBlobsLocal(t *testing.T) {
	dir := t.TempDir()
	cfg, err := parseConfig("serve", nil, env(map[string]string{"TOUCHSTONE_DATA_DIR": dir}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := openBlobs(t.Context(), cfg.Blob)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "idphotos/c1.jpg", "image/jpeg", bytes.NewReader([]byte("photo")), 5); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "blobs"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("blobs directory: %v, %v; want mode 0700", fi, err)
	}
}

// TestOpenBlobsS3 opens the configured bucket on a real S3 server, and
// refuses to start with a wrong secret or a missing bucket.
func TestOpenBlobsS3(t *testing.T) {
	// The embedded S3 server's file backend changes the process's working
	// directory to its root; the other tests of this package find their
	// files (npm packages, the proctoring assets) relative to it, so it is
	// put back once this test is done with the server.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Chdir(wd); err != nil {
			t.Errorf("restore the working directory: %v", err)
		}
	})
	good := blobtest.S3Config(t)
	s, err := openBlobs(t.Context(), blobConfig{S3: &good, MaxSize: 10})
	if err != nil {
		t.Fatalf("openBlobs: %v", err)
	}
	t.Cleanup(func() { _ = s.Delete(t.Context(), "c1.txt") })
	var tl *blob.TooLargeError
	if err := s.Put(t.Context(), "c1.txt", "text/plain", bytes.NewReader(make([]byte, 11)), -1); !errors.As(err, &tl) || tl.Max != 10 {
		t.Fatalf("Put over the configured bound = %v, want ErrTooLarge", err)
	}
	if err := s.Put(t.Context(), "c1.txt", "text/plain", bytes.NewReader([]byte("ok")), 2); err != nil {
		t.Fatal(err)
	}
	r, _, err := s.Get(t.Context(), "c1.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	r.Close()
	if string(b) != "ok" {
		t.Fatalf("Get = %q", b)
	}

	wrong := good
	wrong.SecretKey = "not-the-secret"
	if _, err := openBlobs(t.Context(), blobConfig{S3: &wrong, MaxSize: 10}); err == nil {
		t.Fatal("openBlobs with a wrong secret succeeded")
	}
	missing := good
	missing.Bucket = "no-such-bucket"
	if _, err := openBlobs(t.Context(), blobConfig{S3: &missing, MaxSize: 10}); err == nil {
		t.Fatal("openBlobs of a missing bucket succeeded")
	}
}
