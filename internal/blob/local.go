package blob

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Option configures a store.
type Option func(*options)

type options struct {
	maxSize int64
}

// WithMaxSize bounds the size of a blob in bytes (DefaultMaxSize when not
// given or not positive).
func WithMaxSize(n int64) Option { return func(o *options) { o.maxSize = n } }

func buildOptions(opts []Option) options {
	o := options{maxSize: DefaultMaxSize}
	for _, f := range opts {
		f(&o)
	}
	if o.maxSize <= 0 {
		o.maxSize = DefaultMaxSize
	}
	return o
}

const (
	// fileSuffix ends the name of every blob file. '~' cannot occur in a
	// key, so the file of key "a" ("a~") never collides with the directory
	// of key "a/b" ("a/"), as S3 allows both.
	fileSuffix = "~"
	// header opens every blob file, followed by the content type and a
	// newline: the content type is written with the bytes, in one rename,
	// so a blob never has a type from another write.
	header = "touchstone-blob/1 "
	// tempPrefix starts temporary files; no key segment starts with '.'.
	tempPrefix = ".tmp-"
)

// Local is a Store in a directory of the local file system: the embedded
// default. Each blob is a file at the key's path (directories 0700, files
// 0600), written to a temporary file, synced, and renamed into place, so a
// crash leaves either the old blob or the new one.
type Local struct {
	root string
	max  int64
}

var _ Store = (*Local)(nil)

// NewLocal returns a store in dir, creating it (0700) if missing.
func NewLocal(dir string, opts ...Option) (*Local, error) {
	o := buildOptions(opts)
	if dir == "" {
		return nil, errors.New("blob: no directory for the local store")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create the store directory: %w", err)
	}
	return &Local{root: abs, max: o.maxSize}, nil
}

// Dir returns the store's directory.
func (l *Local) Dir() string { return l.root }

// MaxSize returns the store's bound on a blob's size in bytes.
func (l *Local) MaxSize() int64 { return l.max }

// path returns the file of a valid key.
func (l *Local) path(key string) string {
	return filepath.Join(l.root, filepath.FromSlash(key)) + fileSuffix
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, key, contentType string, body io.Reader, size int64) error {
	if err := checkPut(key, contentType, size, l.max); err != nil {
		return err
	}
	dst := l.path(key)
	dir := filepath.Dir(dst)
	var tmp *os.File
	// A concurrent Delete may remove an emptied directory between MkdirAll
	// and CreateTemp: try again.
	for range 3 {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("blob: put %s: %w", key, err)
		}
		var err error
		if tmp, err = os.CreateTemp(dir, tempPrefix+"*"); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("blob: put %s: %w", key, err)
		}
	}
	if tmp == nil {
		return fmt.Errorf("blob: put %s: its directory keeps disappearing", key)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.WriteString(tmp, header+contentType+"\n"); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	if _, err := io.Copy(tmp, ctxReader{ctx, newBounded(body, size, l.max)}); err != nil {
		if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrSizeMismatch) || errors.Is(err, ctx.Err()) {
			return err
		}
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	committed = true
	// The rename is durable once the directory is.
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return fmt.Errorf("blob: put %s: sync directory: %w", key, err)
		}
	}
	return nil
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Get implements Store.
func (l *Local) Get(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	if err := checkKey(key); err != nil {
		return nil, Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Info{}, fmt.Errorf("%w: %s", ErrNotFound, key)
	} else if err != nil {
		return nil, Info{}, fmt.Errorf("blob: get %s: %w", key, err)
	}
	info, br, err := readHeader(f, key)
	if err != nil {
		f.Close()
		return nil, Info{}, err
	}
	return struct {
		io.Reader
		io.Closer
	}{br, f}, info, nil
}

// readHeader reads a blob file's header and returns the blob's Info and a
// reader positioned at its first byte.
func readHeader(f *os.File, key string) (Info, *bufio.Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return Info{}, nil, fmt.Errorf("blob: get %s: %w", key, err)
	}
	br := bufio.NewReader(f)
	line, err := br.ReadString('\n')
	ct, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), header)
	if err != nil || !ok {
		return Info{}, nil, fmt.Errorf("blob: get %s: not a blob file (bad header)", key)
	}
	return Info{Key: key, ContentType: ct, Size: st.Size() - int64(len(line)), ModTime: st.ModTime()}, br, nil
}

// Delete implements Store. It also removes the directories the deletion
// leaves empty, up to the store's root.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := l.path(key)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	for dir := filepath.Dir(p); dir != l.root && strings.HasPrefix(dir, l.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty, or already gone
			break
		}
	}
	return nil
}

// List implements Store.
func (l *Local) List(ctx context.Context, prefix string, olderThan time.Time) ([]Info, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	// Walk only the directory the prefix is in.
	start := l.root
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = filepath.Join(l.root, filepath.FromSlash(prefix[:i]))
	}
	var out []Info
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // the prefix's directory does not exist, or went away
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), fileSuffix) {
			return nil
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		key := strings.TrimSuffix(filepath.ToSlash(rel), fileSuffix)
		if !strings.HasPrefix(key, prefix) || !ValidKey(key) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted since the directory was read
		} else if err != nil {
			return err
		}
		if !olderThan.IsZero() && !fi.ModTime().Before(olderThan) {
			return nil
		}
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		info, _, err := readHeader(f, key)
		f.Close()
		if err != nil {
			return err
		}
		out = append(out, info)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blob: list %q: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
