// Package blob stores Touchstone's large files — proctoring snapshots, ID
// photos, exports — by key, in a local directory (the embedded default) or in
// an S3-compatible bucket (production, many instances).
//
// The database stays the source of truth: it records which blobs exist and
// what they belong to; a blob store only holds the bytes and their content
// type. Both implementations share the Store interface and one contract test
// suite (package blobtest).
//
// Keys are slash-separated paths of segments made of ASCII letters, digits,
// '.', '_' and '-', each starting with a letter or a digit, such as
// "snapshots/attempt-42/0007.jpg". A key should not also be the directory of
// another ("a/b" and "a/b/c"): S3-compatible servers that keep objects as
// files refuse the second. ValidKey rejects anything else — "..",
// ".", absolute paths, backslashes, empty segments — so that no key, however
// it was built, can name a file outside a local store's directory.
//
// Every store bounds the size of what it accepts (WithMaxSize; DefaultMaxSize
// otherwise) and enforces the bound while streaming: a body that turns out
// larger fails with ErrTooLarge and leaves nothing behind, whatever size its
// sender declared.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"regexp"
	"strings"
	"time"
)

var (
	// ErrNotFound: no blob has the key.
	ErrNotFound = errors.New("blob: not found")
	// ErrTooLarge: the body is larger than the store accepts. Errors
	// returned by Put wrap it in a *TooLargeError that gives the bound.
	ErrTooLarge = errors.New("blob: too large")
	// ErrSizeMismatch: the body's length differs from the size its sender
	// declared.
	ErrSizeMismatch = errors.New("blob: body length differs from the declared size")
	// ErrInvalidKey: the key (or listing prefix) is not of the allowed form.
	ErrInvalidKey = errors.New("blob: invalid key")
	// ErrInvalidContentType: the content type is not a media type.
	ErrInvalidContentType = errors.New("blob: invalid content type")
)

// DefaultMaxSize is the bound on a blob's size when none is configured:
// generous for a webcam snapshot or a photographed ID, small enough that a
// misbehaving client cannot fill the disk in a few requests.
const DefaultMaxSize = 16 << 20

// MaxKeyLength is the longest key accepted, in bytes: well under S3's 1,024
// bytes, leaving room for a bucket prefix.
const MaxKeyLength = 512

// MaxSegmentLength is the longest segment of a key, in bytes: file systems,
// and S3 servers that keep objects as files, limit a name to 255.
const MaxSegmentLength = 200

// TooLargeError is the error Put returns for a body over the bound. It
// matches ErrTooLarge with errors.Is.
type TooLargeError struct {
	// Max is the store's bound in bytes.
	Max int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("blob: too large: more than %d bytes", e.Max)
}

// Is makes errors.Is(err, ErrTooLarge) hold.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// Info describes a stored blob.
type Info struct {
	Key         string
	ContentType string
	// Size is the blob's length in bytes.
	Size int64
	// ModTime is when the blob was last written, as the store's clock saw
	// it (S3 servers keep whole seconds).
	ModTime time.Time
}

// Store is a blob store. Implementations are safe for concurrent use.
type Store interface {
	// Put stores the body under key, replacing any blob there, once it has
	// been read in full: readers never see a partial blob, and a failed Put
	// leaves the previous blob (or none) in place. size is the body's length
	// when known, or -1. A size over the store's bound, or a body that turns
	// out longer than the bound, fails with a *TooLargeError (ErrTooLarge); a
	// body whose length differs from a declared size fails with
	// ErrSizeMismatch. A bad key or content type fails with ErrInvalidKey or
	// ErrInvalidContentType before anything is read.
	Put(ctx context.Context, key, contentType string, body io.Reader, size int64) error
	// Get opens the blob under key; the caller closes the reader. A missing
	// blob is ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Delete removes the blob under key. Deleting a missing blob is not an
	// error, so that a retention sweep interrupted half-way can run again.
	Delete(ctx context.Context, key string) error
	// List returns the blobs whose keys start with prefix, in key order.
	// With a non-zero olderThan it returns only those last written before
	// it, as a retention sweep needs. The prefix is "" or a key's beginning
	// (ErrInvalidKey otherwise). Listed blobs may have no ContentType: S3
	// listings do not carry it.
	List(ctx context.Context, prefix string, olderThan time.Time) ([]Info, error)
}

// DeleteOlderThan deletes the blobs under prefix last written before t and
// returns how many it deleted: the retention sweep. It stops at the first
// failure, having deleted some; running it again carries on.
func DeleteOlderThan(ctx context.Context, s Store, prefix string, t time.Time) (int, error) {
	if t.IsZero() {
		return 0, errors.New("blob: DeleteOlderThan needs a time")
	}
	old, err := s.List(ctx, prefix, t)
	if err != nil {
		return 0, err
	}
	for i, b := range old {
		if err := s.Delete(ctx, b.Key); err != nil {
			return i, err
		}
	}
	return len(old), nil
}

var segment = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidKey reports whether key may name a blob: see the package comment.
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLength {
		return false
	}
	for s := range strings.SplitSeq(key, "/") {
		if len(s) > MaxSegmentLength || !segment.MatchString(s) {
			return false
		}
	}
	return true
}

// checkKey returns ErrInvalidKey, naming the key, unless ValidKey.
func checkKey(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	return nil
}

// checkPrefix accepts "" and every beginning of a valid key that cannot
// reach outside the store: "snapshots/", "snapshots/att".
func checkPrefix(prefix string) error {
	if prefix != "" && !ValidKey(prefix+"0") {
		return fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
	}
	return nil
}

// checkContentType accepts a media type with optional parameters, on one
// line: what a local store writes in its header and S3 in a header.
func checkContentType(ct string) error {
	if strings.ContainsAny(ct, "\r\n") || len(ct) > 255 {
		return fmt.Errorf("%w: %q", ErrInvalidContentType, ct)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrInvalidContentType, ct, err)
	}
	if typ, sub, ok := strings.Cut(mt, "/"); !ok || typ == "" || sub == "" {
		return fmt.Errorf("%w: %q is not type/subtype", ErrInvalidContentType, ct)
	}
	return nil
}

// checkPut validates Put's arguments before any byte is read.
func checkPut(key, contentType string, size, max int64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := checkContentType(contentType); err != nil {
		return err
	}
	if size > max {
		return &TooLargeError{Max: max}
	}
	return nil
}

// bounded reads a body that must not exceed max bytes and, when declared
// (>= 0), must be exactly declared bytes long. It hands over the last bytes
// only once it has seen the end of the body, so that a consumer that stops
// reading at the declared length — an HTTP client sending a fixed
// Content-Length — still gets the error before it commits.
type bounded struct {
	r        io.Reader
	left     int64 // bytes still allowed
	declared bool
	max      int64
	err      error
}

func newBounded(r io.Reader, size, max int64) *bounded {
	b := &bounded{r: r, left: max, max: max}
	if size >= 0 {
		b.left, b.declared = size, true
	}
	return b
}

func (b *bounded) overflow() error {
	if b.declared {
		return ErrSizeMismatch
	}
	return &TooLargeError{Max: b.max}
}

func (b *bounded) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	if int64(n) > b.left {
		b.err = b.overflow()
		return 0, b.err
	}
	b.left -= int64(n)
	if err == io.EOF {
		if b.declared && b.left > 0 {
			b.err = fmt.Errorf("%w: %d bytes missing", ErrSizeMismatch, b.left)
			return 0, b.err
		}
		b.err = io.EOF
		return n, io.EOF
	}
	if err != nil {
		b.err = err
		return n, err
	}
	if b.left == 0 && n > 0 {
		// The allowance is spent: the body must end here.
		var one [1]byte
		for {
			m, perr := b.r.Read(one[:])
			if m > 0 {
				b.err = b.overflow()
				return 0, b.err
			}
			if perr == io.EOF {
				b.err = io.EOF
				return n, io.EOF
			}
			if perr != nil {
				b.err = perr
				return 0, perr
			}
		}
	}
	return n, nil
}

// Secret is a credential in the configuration. It prints and logs as
// "[redacted]", so that printing a configuration never shows it.
type Secret string

// String hides the secret.
func (Secret) String() string { return "[redacted]" }

// GoString hides the secret from %#v.
func (Secret) GoString() string { return `"[redacted]"` }

// LogValue hides the secret from log/slog.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// MarshalText hides the secret from encoders.
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }
