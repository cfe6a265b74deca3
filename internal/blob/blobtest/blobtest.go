// Package blobtest is the contract suite that every blob.Store must pass,
// and helpers that open stores for tests, among them an S3-compatible server
// embedded in the test process.
package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/touchstone-assess/touchstone/internal/blob"
)

// patience bounds every wait on a store or a server.
const patience = 10 * time.Second

// suiteMax is the size bound the suite's stores are opened with.
const suiteMax = 64 << 10

// Run runs the contract suite. open is called once per case, in parallel
// subtests, and must return an empty store (or one whose keys no other case
// sees) bounding blobs to maxSize bytes, and arrange its cleanup.
func Run(t *testing.T, open func(t *testing.T, maxSize int64) blob.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"RoundTrip", roundTrip},
		{"ContentTypes", contentTypes},
		{"Replace", replace},
		{"SizeBound", sizeBound},
		{"FailedPutKeepsPrevious", failedPutKeepsPrevious},
		{"NotFound", notFound},
		{"Delete", deleteCase},
		{"Retention", retention},
		{"ListPrefix", listPrefix},
		{"KeyValidation", keyValidation},
		{"ConcurrentPuts", concurrentPuts},
		{"CancelledPut", cancelledPut},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, open(t, suiteMax))
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), patience)
	t.Cleanup(cancel)
	return c
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func put(t *testing.T, s blob.Store, key, ct string, body []byte) {
	t.Helper()
	if err := s.Put(ctx(t), key, ct, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("Put(%s): %v", key, err)
	}
}

// get returns a blob's bytes and Info, failing the test on any error.
func get(t *testing.T, s blob.Store, key string) ([]byte, blob.Info) {
	t.Helper()
	r, info, err := s.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return b, info
}

func wantNotFound(t *testing.T, s blob.Store, key string) {
	t.Helper()
	r, _, err := s.Get(ctx(t), key)
	if err == nil {
		r.Close()
	}
	if !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Get(%s) = %v, want ErrNotFound", key, err)
	}
}

// keys lists the keys under prefix.
func keys(t *testing.T, s blob.Store, prefix string, olderThan time.Time) []string {
	t.Helper()
	list, err := s.List(ctx(t), prefix, olderThan)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	out := []string{}
	for _, b := range list {
		out = append(out, b.Key)
	}
	return out
}

func wantKeys(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("keys = %q, want %q", got, want)
	}
}

func roundTrip(t *testing.T, s blob.Store) {
	body := random(40 << 10)
	before := time.Now().Add(-2 * time.Second) // S3 keeps whole seconds
	put(t, s, "snapshots/attempt-1/0001.jpg", "image/jpeg", body)
	got, info := get(t, s, "snapshots/attempt-1/0001.jpg")
	if !bytes.Equal(got, body) {
		t.Fatalf("Get returned %d bytes that differ from the %d put", len(got), len(body))
	}
	if info.Key != "snapshots/attempt-1/0001.jpg" || info.ContentType != "image/jpeg" || info.Size != int64(len(body)) {
		t.Fatalf("Info = %+v, want key, image/jpeg, size %d", info, len(body))
	}
	if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(2*time.Second)) {
		t.Fatalf("ModTime = %v, want about now (%v)", info.ModTime, time.Now())
	}
	list, err := s.List(ctx(t), "", time.Time{})
	if err != nil || len(list) != 1 || list[0].Key != info.Key || list[0].Size != info.Size {
		t.Fatalf("List = %+v, %v; want the one blob of size %d", list, err, info.Size)
	}
	// An empty blob is a blob.
	put(t, s, "empty", "application/octet-stream", nil)
	if got, info := get(t, s, "empty"); len(got) != 0 || info.Size != 0 {
		t.Fatalf("empty blob: got %d bytes, Info %+v", len(got), info)
	}
}

func contentTypes(t *testing.T, s blob.Store) {
	for i, ct := range []string{"image/png", "image/webp", "application/json; charset=utf-8", "text/csv"} {
		key := fmt.Sprintf("types/%d", i)
		put(t, s, key, ct, []byte("x"))
		if _, info := get(t, s, key); info.ContentType != ct {
			t.Errorf("content type of %s = %q, want %q", key, info.ContentType, ct)
		}
	}
	for _, ct := range []string{"", "jpeg", "image/png\r\nX-Evil: 1", "image/png\nimage/gif"} {
		err := s.Put(ctx(t), "types/bad", ct, strings.NewReader("x"), 1)
		if !errors.Is(err, blob.ErrInvalidContentType) {
			t.Errorf("Put with content type %q = %v, want ErrInvalidContentType", ct, err)
		}
	}
	wantNotFound(t, s, "types/bad")
}

func replace(t *testing.T, s blob.Store) {
	put(t, s, "id/photo.jpg", "image/jpeg", []byte("first"))
	put(t, s, "id/photo.jpg", "image/png", []byte("second, longer"))
	got, info := get(t, s, "id/photo.jpg")
	if string(got) != "second, longer" || info.ContentType != "image/png" || info.Size != 14 {
		t.Fatalf("after a replacing Put: %q, %+v; want the second body and type", got, info)
	}
	wantKeys(t, keys(t, s, "", time.Time{}), "id/photo.jpg")
}

// unread fails the test if it is read: a size over the bound is refused
// before the body is touched.
type unread struct{ t *testing.T }

func (u unread) Read([]byte) (int, error) {
	u.t.Error("the body was read, though its declared size is over the bound")
	return 0, io.EOF
}

func sizeBound(t *testing.T, s blob.Store) {
	over := random(suiteMax + 1)
	for _, tc := range []struct {
		name string
		body io.Reader
		size int64
		want error
	}{
		{"declared over the bound", unread{t}, suiteMax + 1, blob.ErrTooLarge},
		{"undeclared, over the bound", bytes.NewReader(over), -1, blob.ErrTooLarge},
		{"undeclared, far over the bound, in small reads", iotest.OneByteReader(bytes.NewReader(random(3 * suiteMax))), -1, blob.ErrTooLarge},
		{"longer than declared", bytes.NewReader(over), 1000, blob.ErrSizeMismatch},
		{"one byte longer than declared, in small reads", iotest.HalfReader(bytes.NewReader(random(1001))), 1000, blob.ErrSizeMismatch},
		{"shorter than declared", bytes.NewReader(random(500)), 1000, blob.ErrSizeMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "bound/" + strings.ReplaceAll(strings.ReplaceAll(tc.name, " ", "-"), ",", "")
			err := s.Put(ctx(t), key, "image/jpeg", tc.body, tc.size)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Put = %v, want %v", err, tc.want)
			}
			var tl *blob.TooLargeError
			if tc.want == blob.ErrTooLarge && (!errors.As(err, &tl) || tl.Max != suiteMax) {
				t.Fatalf("Put = %v, want a *TooLargeError with Max %d", err, suiteMax)
			}
			wantNotFound(t, s, key)
		})
	}
	// Exactly the bound is accepted, declared or not.
	exact := random(suiteMax)
	if err := s.Put(ctx(t), "bound/exact-declared", "image/jpeg", bytes.NewReader(exact), suiteMax); err != nil {
		t.Fatalf("Put of exactly the bound, declared: %v", err)
	}
	if err := s.Put(ctx(t), "bound/exact-undeclared", "image/jpeg", iotest.HalfReader(bytes.NewReader(exact)), -1); err != nil {
		t.Fatalf("Put of exactly the bound, undeclared: %v", err)
	}
	if got, _ := get(t, s, "bound/exact-undeclared"); !bytes.Equal(got, exact) {
		t.Fatalf("the blob of exactly the bound came back different (%d bytes)", len(got))
	}
	// Nothing of the failed Puts is left, not even in a listing.
	wantKeys(t, keys(t, s, "", time.Time{}), "bound/exact-declared", "bound/exact-undeclared")
}

func failedPutKeepsPrevious(t *testing.T, s blob.Store) {
	put(t, s, "keep", "image/jpeg", []byte("original"))
	if err := s.Put(ctx(t), "keep", "image/png", bytes.NewReader(random(suiteMax+10)), -1); !errors.Is(err, blob.ErrTooLarge) {
		t.Fatalf("oversized Put = %v, want ErrTooLarge", err)
	}
	if err := s.Put(ctx(t), "keep", "image/png", iotest.ErrReader(errors.New("connection reset")), -1); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	got, info := get(t, s, "keep")
	if string(got) != "original" || info.ContentType != "image/jpeg" {
		t.Fatalf("after failed Puts: %q %q, want the original blob", got, info.ContentType)
	}
}

func notFound(t *testing.T, s blob.Store) {
	wantNotFound(t, s, "missing")
	wantNotFound(t, s, "snapshots/missing/0001.jpg")
	if err := s.Delete(ctx(t), "missing"); err != nil {
		t.Fatalf("Delete of a missing blob = %v, want nil", err)
	}
	wantKeys(t, keys(t, s, "", time.Time{}))
	wantKeys(t, keys(t, s, "nothing/here/", time.Time{}))
}

func deleteCase(t *testing.T, s blob.Store) {
	put(t, s, "snapshots/a/1.jpg", "image/jpeg", []byte("1"))
	put(t, s, "snapshots/a/2.jpg", "image/jpeg", []byte("2"))
	if err := s.Delete(ctx(t), "snapshots/a/1.jpg"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, s, "snapshots/a/1.jpg")
	wantKeys(t, keys(t, s, "", time.Time{}), "snapshots/a/2.jpg")
	if err := s.Delete(ctx(t), "snapshots/a/1.jpg"); err != nil {
		t.Fatalf("Delete again: %v", err)
	}
	if err := s.Delete(ctx(t), "snapshots/a/2.jpg"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantKeys(t, keys(t, s, "", time.Time{}))
	// The key can be used again.
	put(t, s, "snapshots/a/1.jpg", "image/jpeg", []byte("again"))
	if got, _ := get(t, s, "snapshots/a/1.jpg"); string(got) != "again" {
		t.Fatalf("after delete and put: %q", got)
	}
}

// retention writes old blobs, lets the clock pass a whole second (S3 servers
// keep modification times in whole seconds), takes the cut, writes new ones,
// and sweeps.
func retention(t *testing.T, s blob.Store) {
	put(t, s, "snapshots/old-1/0001.jpg", "image/jpeg", []byte("o1"))
	put(t, s, "snapshots/old-2/0001.jpg", "image/jpeg", []byte("o2"))
	put(t, s, "idphotos/old.jpg", "image/jpeg", []byte("id"))
	written := time.Now()
	next := written.Truncate(time.Second).Add(time.Second + 50*time.Millisecond)
	time.Sleep(time.Until(next))
	cut := time.Now().Truncate(time.Second)
	put(t, s, "snapshots/new/0001.jpg", "image/jpeg", []byte("n1"))

	wantKeys(t, keys(t, s, "snapshots/", cut), "snapshots/old-1/0001.jpg", "snapshots/old-2/0001.jpg")
	wantKeys(t, keys(t, s, "snapshots/", time.Time{}), "snapshots/new/0001.jpg", "snapshots/old-1/0001.jpg", "snapshots/old-2/0001.jpg")
	wantKeys(t, keys(t, s, "", cut), "idphotos/old.jpg", "snapshots/old-1/0001.jpg", "snapshots/old-2/0001.jpg")
	list, err := s.List(ctx(t), "snapshots/", cut)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		if !b.ModTime.Before(cut) || b.Size != 2 {
			t.Errorf("listed %+v: want ModTime before %v and size 2", b, cut)
		}
	}

	n, err := blob.DeleteOlderThan(ctx(t), s, "snapshots/", cut)
	if err != nil || n != 2 {
		t.Fatalf("DeleteOlderThan = %d, %v; want 2, nil", n, err)
	}
	wantKeys(t, keys(t, s, "", time.Time{}), "idphotos/old.jpg", "snapshots/new/0001.jpg")
	if n, err := blob.DeleteOlderThan(ctx(t), s, "snapshots/", cut); err != nil || n != 0 {
		t.Fatalf("DeleteOlderThan again = %d, %v; want 0, nil", n, err)
	}
}

func listPrefix(t *testing.T, s blob.Store) {
	for _, k := range []string{"snap.jpg", "snapshots/b/2.jpg", "snapshots/a/1.jpg", "snapshots/a/10.jpg", "snapshotsX", "other/snapshots/1"} {
		put(t, s, k, "image/jpeg", []byte(k))
	}
	wantKeys(t, keys(t, s, "snapshots/", time.Time{}), "snapshots/a/1.jpg", "snapshots/a/10.jpg", "snapshots/b/2.jpg")
	wantKeys(t, keys(t, s, "snapshots/a/1", time.Time{}), "snapshots/a/1.jpg", "snapshots/a/10.jpg")
	wantKeys(t, keys(t, s, "snap", time.Time{}), "snap.jpg", "snapshots/a/1.jpg", "snapshots/a/10.jpg", "snapshots/b/2.jpg", "snapshotsX")
	wantKeys(t, keys(t, s, "", time.Time{}), "other/snapshots/1", "snap.jpg", "snapshots/a/1.jpg", "snapshots/a/10.jpg", "snapshots/b/2.jpg", "snapshotsX")
}

// BadKeys are keys every store must refuse: each would escape a directory,
// or is ambiguous between file systems and S3.
var BadKeys = []string{
	"", "/", "/etc/passwd", "../outside", "a/../../outside", "a/..", "..", ".", "./a", "a/./b", "a//b", "a/", "/a",
	".hidden", "a/.hidden", `a\..\b`, `..\outside`, "C:/windows", "a b", "a\x00b", "a\nb", "snapshot~", "ünïcode", "a?b", "a%2F..",
	strings.Repeat("a", blob.MaxSegmentLength+1), strings.Repeat("a123456789/", 47) + "a",
}

func keyValidation(t *testing.T, s blob.Store) {
	for _, k := range BadKeys {
		if err := s.Put(ctx(t), k, "image/jpeg", unread{t}, 1); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", k, err)
		}
		if _, _, err := s.Get(ctx(t), k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Get(%q) = %v, want ErrInvalidKey", k, err)
		}
		if err := s.Delete(ctx(t), k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
	for _, p := range []string{"/", "../", "a/../", "..", "a/.", "a//", `..\`, "/etc"} {
		if _, err := s.List(ctx(t), p, time.Time{}); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("List(%q) = %v, want ErrInvalidKey", p, err)
		}
	}
	wantKeys(t, keys(t, s, "", time.Time{}))
	good := []string{"a", "A-1_b.c/d", "snapshots/0b1f4e2a-77c4-4a55-9a0e-3c2f6b1d9e10/0001.jpg", strings.Repeat("a", blob.MaxSegmentLength), strings.Repeat("a123456789/", 46) + "a12345"}
	for _, k := range good {
		put(t, s, k, "image/jpeg", []byte("ok"))
	}
	if got := keys(t, s, "", time.Time{}); len(got) != len(good) {
		t.Fatalf("listed %d keys after putting %d: %q", len(got), len(good), got)
	}
}

func concurrentPuts(t *testing.T, s blob.Store) {
	const n = 16
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = random(1000 + 997*i)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("snapshots/attempt-%d/0001.jpg", i%4) // shared directories
			if i >= 4 {
				key = fmt.Sprintf("snapshots/attempt-%d/%04d.jpg", i%4, i)
			}
			errs[i] = s.Put(ctx(t), key, "image/jpeg", bytes.NewReader(bodies[i]), -1)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	for i := range n {
		key := fmt.Sprintf("snapshots/attempt-%d/0001.jpg", i%4)
		if i >= 4 {
			key = fmt.Sprintf("snapshots/attempt-%d/%04d.jpg", i%4, i)
		}
		if got, info := get(t, s, key); !bytes.Equal(got, bodies[i]) || info.Size != int64(len(bodies[i])) {
			t.Errorf("%s came back as %d bytes (Info %+v), want the %d put", key, len(got), info, len(bodies[i]))
		}
	}
	if got := keys(t, s, "snapshots/", time.Time{}); len(got) != n {
		t.Fatalf("listed %d blobs, want %d: %q", len(got), n, got)
	}
}

func cancelledPut(t *testing.T, s blob.Store) {
	c, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Put(c, "cancelled", "image/jpeg", bytes.NewReader(random(1000)), 1000); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	wantNotFound(t, s, "cancelled")
}
