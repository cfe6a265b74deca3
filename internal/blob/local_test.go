package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/internal/blob/blobtest"
)

func TestLocal(t *testing.T) {
	blobtest.Run(t, func(t *testing.T, max int64) blob.Store {
		s, err := blob.NewLocal(t.TempDir(), blob.WithMaxSize(max))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// tree lists every file and directory under dir with its permissions.
func tree(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = fi.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLocalFiles(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "blobs")
	s, err := blob.NewLocal(dir, blob.WithMaxSize(1000))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Put(ctx, "snapshots/a1/0001.jpg", "image/jpeg", strings.NewReader("jpeg"), 4); err != nil {
		t.Fatal(err)
	}
	// Failures of every kind leave no temporary file behind.
	_ = s.Put(ctx, "snapshots/a1/0002.jpg", "image/jpeg", bytes.NewReader(make([]byte, 2000)), -1)
	_ = s.Put(ctx, "snapshots/a1/0003.jpg", "image/jpeg", strings.NewReader("short"), 10)
	for _, k := range blobtest.BadKeys {
		_ = s.Put(ctx, k, "image/jpeg", strings.NewReader("x"), 1)
	}
	got := tree(t, parent)
	want := map[string]fs.FileMode{
		".": fs.ModeDir | 0o700, "blobs": fs.ModeDir | 0o700, "blobs/snapshots": fs.ModeDir | 0o700,
		"blobs/snapshots/a1": fs.ModeDir | 0o700, "blobs/snapshots/a1/0001.jpg~": 0o600,
	}
	delete(got, ".") // t.TempDir's own mode is not ours
	delete(want, ".")
	if len(got) != len(want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
	for p, m := range want {
		if got[p] != m {
			t.Errorf("%s: mode %v, want %v (all: %v)", p, got[p], m, got)
		}
	}

	// Deleting the last blob of a directory removes the emptied directories.
	if err := s.Delete(ctx, "snapshots/a1/0001.jpg"); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dir); len(got) != 1 {
		t.Fatalf("after deleting the only blob: %v, want the empty root", got)
	}

	// A stray file that no Put wrote is not a blob.
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if list, err := s.List(ctx, "", time.Time{}); err != nil || len(list) != 0 {
		t.Fatalf("List = %v, %v; want nothing", list, err)
	}
}

// TestLocalNestedKeys: unlike some S3 servers, the local store accepts a key
// that is another's directory.
func TestLocalNestedKeys(t *testing.T) {
	s, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, k := range []string{"a", "a/b", "a/b/c"} {
		if err := s.Put(ctx, k, "text/plain", strings.NewReader(k), -1); err != nil {
			t.Fatalf("Put(%s): %v", k, err)
		}
	}
	list, err := s.List(ctx, "a", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, b := range list {
		keys = append(keys, b.Key)
	}
	if !slices.Equal(keys, []string{"a", "a/b", "a/b/c"}) {
		t.Fatalf("List = %q", keys)
	}
}

func TestLocalCorruptFile(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x~"), []byte("no header"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(context.Background(), "x"); err == nil || errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Get of a file without a header = %v, want an error other than not found", err)
	}
}
