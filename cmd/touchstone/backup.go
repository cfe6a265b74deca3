package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age/armor"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/migrations"
)

// archiveFormat names the layout of a backup archive: a gzip-compressed tar
// of manifest.json first, then tables/<table>.jsonl in load order, then
// keys/<file>, then blobs/<key>.
const archiveFormat = "touchstone-backup/1"

// Bounds on the archive's small members, so that a hostile archive cannot
// make restore read a huge manifest or key into memory.
const (
	maxManifestBytes = 256 << 20
	maxKeyBytes      = 1 << 20
)

// manifest describes an archive: what it holds and how to check it.
type manifest struct {
	Format        string          `json:"format"`
	SchemaVersion int64           `json:"schema_version"`
	Dialect       string          `json:"dialect"`
	CreatedAt     time.Time       `json:"created_at"`
	Tables        []manifestTable `json:"tables"`
	Keys          []manifestFile  `json:"keys"`
	Blobs         []manifestBlob  `json:"blobs"`
}

type manifestTable struct {
	Name    string              `json:"name"`
	File    string              `json:"file"`
	Rows    int64               `json:"rows"`
	Size    int64               `json:"size"`
	SHA256  string              `json:"sha256"`
	Columns []migrations.Column `json:"columns"`
}

// manifestFile is an issuer key file, kept exactly as on disk.
type manifestFile struct {
	// Role is "issuer-key" (Ed25519) or "issuer-rsa-key".
	Role   string `json:"role"`
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Sealed says the file is encrypted with age (TOUCHSTONE_KEY_SEAL):
	// the restored deployment needs the same identity to read it.
	Sealed bool `json:"sealed"`
}

type manifestBlob struct {
	Key         string `json:"key"`
	File        string `json:"file"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// keyRoles are the issuer key files a backup carries, by role.
func keyRoles(cfg config) map[string]string {
	return map[string]string{"issuer-key": cfg.IssuerKey, "issuer-rsa-key": cfg.IssuerRSAKey}
}

// takeFlag removes --name VALUE or --name=VALUE (one or two dashes) from
// args and returns its value.
func takeFlag(args []string, name string) (value string, found bool, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, p := range []string{"-" + name, "--" + name} {
			if a == p {
				if i+1 >= len(args) {
					return "", false, nil, usageError(fmt.Sprintf("flag needs an argument: %s", p))
				}
				return args[i+1], true, append(append([]string{}, args[:i]...), args[i+2:]...), nil
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v, true, append(append([]string{}, args[:i]...), args[i+1:]...), nil
			}
		}
	}
	return "", false, args, nil
}

// backupCmd runs `touchstone backup --out FILE [flags]`.
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	out, found, rest, err := takeFlag(args, "out")
	if err != nil {
		return err
	}
	cfg, err := parseConfig("backup --out FILE", rest, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if !found || out == "" {
		return usageError("touchstone backup: --out FILE is required (- writes the archive to standard output)")
	}
	if migrations.DialectOf(cfg.DatabaseURL) == migrations.SQLite {
		path := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(cfg.DatabaseURL, "sqlite:"), "file:"), "//")
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("backup: no database at %s (set --data-dir or --database-url as for serve): %w", path, err)
		}
	}
	db, err := migrations.Connect(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer migrations.Close(db)
	blobs, err := openBlobs(ctx, cfg.Blob)
	if err != nil {
		return err
	}
	if out == "-" {
		_, err := writeBackup(ctx, db, blobs, keyRoles(cfg), stdout, time.Now().UTC())
		return err
	}
	// Write beside the target and rename, so that a failed backup never
	// leaves a half archive under the name.
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil { // it holds the private keys
		tmp.Close()
		return fmt.Errorf("backup: %w", err)
	}
	m, err := writeBackup(ctx, db, blobs, keyRoles(cfg), tmp, time.Now().UTC())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	var rows, bytes int64
	for _, t := range m.Tables {
		rows += t.Rows
	}
	for _, b := range m.Blobs {
		bytes += b.Size
	}
	fmt.Fprintf(stdout, "backed up %d tables (%d rows) at schema version %d, %d files (%d bytes) and %d key files to %s\n",
		len(m.Tables), rows, m.SchemaVersion, len(m.Blobs), bytes, len(m.Keys), out)
	return nil
}

// hashingWriter counts and hashes what passes through it.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func newHashingWriter(w io.Writer) *hashingWriter { return &hashingWriter{w: w, h: sha256.New()} }

func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

func (hw *hashingWriter) sum() string { return hex.EncodeToString(hw.h.Sum(nil)) }

// writeBackup writes the archive of a deployment to w and returns its
// manifest. The database is read in one snapshot; the blobs are listed
// after it is taken, so every blob a row of the snapshot refers to is in
// the archive (a blob deleted meanwhile by the retention sweep is left
// out). Each blob is read twice — once to hash it for the manifest, which
// comes first, once to copy it — rather than staged on local disk.
func writeBackup(ctx context.Context, db *gorm.DB, blobs blob.Store, keys map[string]string, w io.Writer, now time.Time) (manifest, error) {
	m := manifest{Format: archiveFormat, CreatedAt: now}
	snap, err := migrations.OpenSnapshot(ctx, db)
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	defer snap.Close()
	m.SchemaVersion, m.Dialect = snap.Version(), string(snap.Dialect())

	dir, err := os.MkdirTemp("", "touchstone-backup-*")
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(dir)
	for _, t := range snap.Tables() {
		f, err := os.Create(filepath.Join(dir, t.Name+".jsonl"))
		if err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
		bw := bufio.NewWriterSize(f, 1<<16)
		hw := newHashingWriter(bw)
		rows, err := snap.Dump(ctx, t, hw)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
		m.Tables = append(m.Tables, manifestTable{Name: t.Name, File: "tables/" + t.Name + ".jsonl", Rows: rows, Size: hw.n, SHA256: hw.sum(), Columns: t.Columns})
	}

	keyData := map[string][]byte{}
	for _, role := range []string{"issuer-key", "issuer-rsa-key"} {
		path := keys[role]
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // never created: the server makes one at its first start
		}
		if err != nil {
			return m, fmt.Errorf("backup: issuer key: %w", err)
		}
		sum := sha256.Sum256(b)
		keyData[role] = b
		m.Keys = append(m.Keys, manifestFile{Role: role, File: "keys/" + role + ".pem", Size: int64(len(b)),
			SHA256: hex.EncodeToString(sum[:]), Sealed: bytes.HasPrefix(bytes.TrimSpace(b), []byte(armor.Header))})
	}

	list, err := blobs.List(ctx, "", time.Time{})
	if err != nil {
		return m, fmt.Errorf("backup: list files: %w", err)
	}
	for _, info := range list {
		r, got, err := blobs.Get(ctx, info.Key)
		if errors.Is(err, blob.ErrNotFound) {
			continue
		}
		if err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
		hw := newHashingWriter(io.Discard)
		_, err = io.Copy(hw, r)
		r.Close()
		if err != nil {
			return m, fmt.Errorf("backup: read file %s: %w", info.Key, err)
		}
		m.Blobs = append(m.Blobs, manifestBlob{Key: info.Key, File: "blobs/" + info.Key, ContentType: got.ContentType, Size: hw.n, SHA256: hw.sum()})
	}
	if err := snap.Close(); err != nil {
		return m, fmt.Errorf("backup: end the snapshot: %w", err)
	}

	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	entry := func(name string, size int64, body io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: now, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := io.Copy(tw, body)
		return err
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := entry("manifest.json", int64(len(mb)), bytes.NewReader(mb)); err != nil {
		return m, fmt.Errorf("backup: write: %w", err)
	}
	for _, t := range m.Tables {
		f, err := os.Open(filepath.Join(dir, t.Name+".jsonl"))
		if err != nil {
			return m, fmt.Errorf("backup: %w", err)
		}
		err = entry(t.File, t.Size, f)
		f.Close()
		if err != nil {
			return m, fmt.Errorf("backup: write %s: %w", t.File, err)
		}
	}
	for _, k := range m.Keys {
		if err := entry(k.File, k.Size, bytes.NewReader(keyData[k.Role])); err != nil {
			return m, fmt.Errorf("backup: write %s: %w", k.File, err)
		}
	}
	for _, b := range m.Blobs {
		r, _, err := blobs.Get(ctx, b.Key)
		if err != nil {
			return m, fmt.Errorf("backup: file %s went away while it was backed up: %w", b.Key, err)
		}
		h := sha256.New()
		err = entry(b.File, b.Size, io.TeeReader(r, h))
		r.Close()
		if err != nil {
			return m, fmt.Errorf("backup: write %s (did it change while it was backed up?): %w", b.File, err)
		}
		if hex.EncodeToString(h.Sum(nil)) != b.SHA256 {
			return m, fmt.Errorf("backup: file %s changed while it was backed up", b.Key)
		}
	}
	if err := tw.Close(); err != nil {
		return m, fmt.Errorf("backup: write: %w", err)
	}
	if err := gz.Close(); err != nil {
		return m, fmt.Errorf("backup: write: %w", err)
	}
	return m, nil
}

// restoreCmd runs `touchstone restore FILE [flags]`.
func restoreCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var file string
	if len(args) > 0 && (args[0] == "-" || !strings.HasPrefix(args[0], "-")) {
		file, args = args[0], args[1:]
	}
	cfg, rest, err := parseConfigArgs("restore FILE", args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if file == "" && len(rest) == 1 {
		file, rest = rest[0], nil
	}
	if file == "" || len(rest) > 0 {
		return usageError("usage: touchstone restore FILE [flags] (FILE is an archive from touchstone backup; - reads standard input)")
	}
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		defer f.Close()
		r = f
	}
	db, err := migrations.Connect(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer migrations.Close(db)
	openStore := func(maxSize int64) (blob.Store, error) {
		c := cfg.Blob
		c.MaxSize = max(c.MaxSize, maxSize)
		return openBlobs(ctx, c)
	}
	res, err := restoreArchive(ctx, r, db, openStore, keyRoles(cfg))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %d tables (%d rows) from a %s database at schema version %d, %d files and %d key files; the database is at version %d and its audit log (%d entries) verifies\n",
		res.tables, res.rows, res.manifest.Dialect, res.manifest.SchemaVersion, len(res.manifest.Blobs), res.keysWritten, res.version, res.auditEntries)
	for _, k := range res.manifest.Keys {
		if k.Sealed {
			fmt.Fprintf(stdout, "the %s file is sealed: the server needs the same TOUCHSTONE_KEY_SEAL to read it\n", k.Role)
		}
	}
	return nil
}

// restored sums up a restore.
type restored struct {
	manifest     manifest
	tables       int
	rows         int64
	keysWritten  int
	version      int64
	auditEntries int64
}

// errCorrupt marks an archive that does not match its manifest.
var errCorrupt = errors.New("restore: the archive is damaged")

// restoreArchive restores the archive read from r into db (empty: a new
// database, or an empty migrated one), the blob store openStore opens
// (empty) and the key files at keys (absent, or identical). It verifies
// every member against the manifest before committing anything: on any
// error, the database is left empty and the files it wrote are removed.
func restoreArchive(ctx context.Context, r io.Reader, db *gorm.DB, openStore func(maxSize int64) (blob.Store, error), keys map[string]string) (res restored, err error) {
	gz, err := gzip.NewReader(bufio.NewReaderSize(r, 1<<16))
	if err != nil {
		return res, fmt.Errorf("restore: not a Touchstone backup (not gzip-compressed): %w", err)
	}
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "manifest.json" {
		return res, errors.New("restore: not a Touchstone backup: the archive does not start with manifest.json")
	}
	mb, err := io.ReadAll(io.LimitReader(tr, maxManifestBytes+1))
	if err != nil {
		return res, fmt.Errorf("%w: manifest.json: %v", errCorrupt, err)
	}
	m := &res.manifest
	if err := json.Unmarshal(mb, m); err != nil || len(mb) > maxManifestBytes {
		return res, fmt.Errorf("%w: manifest.json does not read: %v", errCorrupt, err)
	}
	if m.Format != archiveFormat {
		return res, fmt.Errorf("restore: the archive's format is %q; this program reads %q", m.Format, archiveFormat)
	}

	// Everything an archive member may be, by name.
	tables := map[string]manifestTable{}
	keyFiles := map[string]manifestFile{}
	blobs := map[string]manifestBlob{}
	var maxBlob int64
	for _, t := range m.Tables {
		tables[t.File] = t
	}
	for _, k := range m.Keys {
		if _, ok := keys[k.Role]; !ok {
			return res, fmt.Errorf("%w: manifest.json names an unknown key file role %q", errCorrupt, k.Role)
		}
		keyFiles[k.File] = k
	}
	for _, b := range m.Blobs {
		if !blob.ValidKey(b.Key) {
			return res, fmt.Errorf("%w: manifest.json names a file with an invalid key %q", errCorrupt, b.Key)
		}
		blobs[b.File] = b
		maxBlob = max(maxBlob, b.Size)
	}

	// Refuse a target that is not empty before touching anything.
	identicalKey := map[string]bool{}
	for _, k := range m.Keys {
		path := keys[k.Role]
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("restore: %w", err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != k.SHA256 {
			return res, fmt.Errorf("restore: the issuer key file %s exists and differs from the archive's: restore into a new data directory, or move the file away", path)
		}
		identicalKey[k.Role] = true
	}
	store, err := openStore(maxBlob)
	if err != nil {
		return res, err
	}
	if existing, err := store.List(ctx, "", time.Time{}); err != nil {
		return res, fmt.Errorf("restore: list the file store: %w", err)
	} else if len(existing) > 0 {
		return res, fmt.Errorf("restore: the file store already holds %d files (the first is %s): restore needs an empty one", len(existing), existing[0].Key)
	}
	if err := migrations.PrepareLoad(ctx, db, m.SchemaVersion); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}

	loader, err := migrations.BeginLoad(ctx, db)
	if err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	var putKeys, wroteKeys []string
	committed := false
	defer func() {
		if committed {
			return
		}
		loader.Rollback()
		for _, k := range putKeys {
			_ = store.Delete(context.WithoutCancel(ctx), k)
		}
		for _, p := range wroteKeys {
			_ = os.Remove(p)
		}
	}()

	seen := map[string]bool{}
	keyData := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("%w: %v", errCorrupt, err)
		}
		name := hdr.Name
		if seen[name] {
			return res, fmt.Errorf("%w: %s comes twice", errCorrupt, name)
		}
		seen[name] = true
		h := sha256.New()
		body := io.TeeReader(tr, h)
		switch {
		case tables[name].File != "":
			t := tables[name]
			rows, lerr := loader.Load(ctx, t.Name, t.Columns, body)
			// Hash the whole member even when a row failed: a damaged
			// archive is reported as such rather than as a bad row.
			if _, err := io.Copy(h, tr); err != nil {
				return res, fmt.Errorf("%w: %s: %v", errCorrupt, name, err)
			}
			if sum := hex.EncodeToString(h.Sum(nil)); sum != t.SHA256 {
				return res, fmt.Errorf("%w: %s does not match its SHA-256 in the manifest", errCorrupt, name)
			}
			if lerr != nil {
				return res, fmt.Errorf("restore: %w", lerr)
			}
			if rows != t.Rows {
				return res, fmt.Errorf("%w: %s has %d rows, the manifest says %d", errCorrupt, name, rows, t.Rows)
			}
			res.tables++
			res.rows += rows
		case keyFiles[name].File != "":
			k := keyFiles[name]
			b, err := io.ReadAll(io.LimitReader(body, maxKeyBytes))
			if err != nil {
				return res, fmt.Errorf("%w: %s: %v", errCorrupt, name, err)
			}
			if sum := hex.EncodeToString(h.Sum(nil)); sum != k.SHA256 || int64(len(b)) != k.Size {
				return res, fmt.Errorf("%w: %s does not match its SHA-256 in the manifest", errCorrupt, name)
			}
			keyData[k.Role] = b
		case blobs[name].File != "":
			b := blobs[name]
			putKeys = append(putKeys, b.Key)
			if err := store.Put(ctx, b.Key, b.ContentType, body, b.Size); err != nil {
				if errors.Is(err, blob.ErrSizeMismatch) {
					return res, fmt.Errorf("%w: %s is not the size the manifest says: %v", errCorrupt, name, err)
				}
				return res, fmt.Errorf("restore: file %s: %w", b.Key, err)
			}
			if sum := hex.EncodeToString(h.Sum(nil)); sum != b.SHA256 {
				return res, fmt.Errorf("%w: %s does not match its SHA-256 in the manifest", errCorrupt, name)
			}
		default:
			return res, fmt.Errorf("%w: %s is not in the manifest", errCorrupt, name)
		}
	}
	for name := range tables {
		if !seen[name] {
			return res, fmt.Errorf("%w: %s is missing", errCorrupt, name)
		}
	}
	for name := range keyFiles {
		if !seen[name] {
			return res, fmt.Errorf("%w: %s is missing", errCorrupt, name)
		}
	}
	for name := range blobs {
		if !seen[name] {
			return res, fmt.Errorf("%w: %s is missing", errCorrupt, name)
		}
	}
	// Drain gzip's trailer, whose checksum covers the whole stream.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return res, fmt.Errorf("%w: %v", errCorrupt, err)
	}

	for _, k := range m.Keys {
		if identicalKey[k.Role] {
			continue
		}
		path := keys[k.Role]
		if err := writeNewFile(path, keyData[k.Role]); err != nil {
			return res, fmt.Errorf("restore: %w", err)
		}
		wroteKeys = append(wroteKeys, path)
		res.keysWritten++
	}
	if err := loader.Commit(ctx); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	committed = true
	if res.version, err = migrations.Up(ctx, db); err != nil {
		return res, fmt.Errorf("restore: the data is restored, but migrating it up failed: %w", err)
	}
	// A backup of PostgreSQL may hold entries written but not yet placed in
	// the chain.
	if _, err := audit.Chain(ctx, db); err != nil {
		return res, fmt.Errorf("restore: the data is restored, but placing its newest audit entries failed: %w", err)
	}
	if err := audit.Verify(db.WithContext(ctx)); err != nil {
		return res, fmt.Errorf("restore: the data is restored, but its audit log does not verify: %w", err)
	}
	if err := db.WithContext(ctx).Raw("SELECT COUNT(*) FROM audit_log").Scan(&res.auditEntries).Error; err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	return res, nil
}

// writeNewFile writes a file that must not exist yet, mode 0600, durably.
func writeNewFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
