// Package migrations holds Touchstone's versioned SQL schema, one folder per
// dialect (postgres/, sqlite/), embedded in the binary and applied by goose.
//
// Open is the one way the rest of the program gets a database: it connects,
// applies every pending migration and returns a *gorm.DB. A URL that starts
// with postgres:// or postgresql:// selects PostgreSQL (through pgx); anything
// else is a SQLite file path (pure-Go driver, no cgo), optionally prefixed
// with sqlite: or file:.
//
// Because it knows the schema, the package also moves whole databases:
// OpenSnapshot dumps every table, from one consistent view, as JSON Lines
// that both dialects read, and PrepareLoad and Loader write such a dump
// into an empty database in one transaction (touchstone backup / restore).
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialect names a supported SQL engine.
type Dialect string

// The supported dialects; each has its own folder of migrations.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// ErrBadURL is returned when a database URL cannot be understood.
var ErrBadURL = errors.New("migrations: bad database url")

// DialectOf reports which engine a database URL selects.
func DialectOf(dbURL string) Dialect {
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// Files returns the migrations of one dialect.
func Files(d Dialect) fs.FS {
	sub, err := fs.Sub(files, string(d))
	if err != nil {
		panic(err) // the folders are embedded above; a miss is a build defect
	}
	return sub
}

// Open connects to dbURL, applies all pending migrations and returns the
// database. SQLite files are opened in WAL mode with synchronous=FULL and
// foreign keys on, so that a committed answer survives a power cut.
func Open(ctx context.Context, dbURL string) (*gorm.DB, error) {
	db, err := Connect(dbURL)
	if err != nil {
		return nil, err
	}
	if _, err := Up(ctx, db); err != nil {
		Close(db)
		return nil, err
	}
	return db, nil
}

// Connect opens dbURL without migrating it.
func Connect(dbURL string) (*gorm.DB, error) {
	cfg := &gorm.Config{
		Logger:                 logger.Default.LogMode(logger.Silent),
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		TranslateError:         true,
	}
	var dialector gorm.Dialector
	switch DialectOf(dbURL) {
	case Postgres:
		dialector = postgres.Open(withConnectTimeout(dbURL))
	default:
		dsn, err := sqliteDSN(dbURL)
		if err != nil {
			return nil, err
		}
		dialector = sqlite.Open(dsn)
	}
	db, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, fmt.Errorf("migrations: connect: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// Every open connection may stay idle: under load, a pool that keeps
	// fewer closes connections after each burst and opens them again (a
	// new PostgreSQL backend each time), which cost more than half the
	// answer-save throughput in the load test. Idle ones close after a
	// few quiet minutes.
	open := 32
	if DialectOf(dbURL) == SQLite {
		// One writer at a time is SQLite's rule; a small pool of readers
		// is enough and keeps busy waits short.
		open = 8
	}
	sqlDB.SetMaxOpenConns(open)
	sqlDB.SetMaxIdleConns(open)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	if err := sqlDB.Ping(); err != nil {
		Close(db)
		return nil, fmt.Errorf("migrations: connect: %w", err)
	}
	return db, nil
}

// connectTimeout bounds a new PostgreSQL connection when the URL does not
// say otherwise: while the server restarts or fails over, a request that
// needs a connection fails within seconds (and answers 503) instead of
// hanging until the browser gives up.
const connectTimeout = "5"

// withConnectTimeout adds connect_timeout to a PostgreSQL URL that lacks
// it; a URL it cannot parse is returned as it is, for the driver to report.
func withConnectTimeout(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	q := u.Query()
	if q.Has("connect_timeout") {
		return dbURL
	}
	q.Set("connect_timeout", connectTimeout)
	u.RawQuery = q.Encode()
	return u.String()
}

// Close releases the database's connections.
func Close(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

// sqliteDSN turns a path (optionally "sqlite:" or "file:" prefixed) into a
// driver DSN with the pragmas Touchstone relies on. Transactions begin
// IMMEDIATE so that a read followed by a write never fails with SQLITE_BUSY.
func sqliteDSN(dbURL string) (string, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite:"), "file:")
	path = strings.TrimPrefix(path, "//")
	if path == "" {
		return "", fmt.Errorf("%w: empty sqlite path", ErrBadURL)
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return "", fmt.Errorf("%w: sqlite path %q must not carry options", ErrBadURL, path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return "", fmt.Errorf("migrations: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode(), nil
}

func provider(db *gorm.DB) (*goose.Provider, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if db.Dialector.Name() != "postgres" {
		return goose.NewProvider(goose.DialectSQLite3, sqlDB, Files(SQLite))
	}
	// Instances of one deployment start together and each migrates: an
	// advisory lock lets one apply the migrations while the others wait,
	// then find nothing left to do. The lock is named after the database
	// and schema, so that deployments (and tests) in other schemas of the
	// same server do not wait for each other.
	var where string
	if err := db.Raw("SELECT current_database() || '.' || current_schema()").Scan(&where).Error; err != nil {
		return nil, fmt.Errorf("migrations: schema: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("touchstone migrations " + where))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, uint64(migrateWait/time.Second)))
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, sqlDB, Files(Postgres), goose.WithSessionLocker(locker))
}

// migrateWait is how long an instance waits for another to finish
// migrating the same PostgreSQL schema.
const migrateWait = 10 * time.Minute

// Up applies all pending migrations and returns the schema version reached.
func Up(ctx context.Context, db *gorm.DB) (int64, error) {
	p, err := provider(db)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrations: up: %w", err)
	}
	return p.GetDBVersion(ctx)
}

// Status describes one migration: its version, file and whether it is applied.
type Status struct {
	Version   int64
	Source    string
	Applied   bool
	AppliedAt time.Time
}

// Statuses lists every known migration of db's dialect with its state.
func Statuses(ctx context.Context, db *gorm.DB) ([]Status, error) {
	p, err := provider(db)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	all, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: status: %w", err)
	}
	out := make([]Status, 0, len(all))
	for _, s := range all {
		out = append(out, Status{
			Version:   s.Source.Version,
			Source:    filepath.Base(s.Source.Path),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}

// Latest returns the newest version embedded for a dialect.
func Latest(d Dialect) (int64, error) {
	var latest int64
	entries, err := fs.ReadDir(Files(d), ".")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%05d_", &v); err == nil && v > latest {
			latest = v
		}
	}
	return latest, nil
}
