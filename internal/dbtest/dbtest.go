// Package dbtest gives tests real databases: a fresh, migrated SQLite file
// always, and a fresh PostgreSQL schema when TOUCHSTONE_TEST_DATABASE_URL
// names a server. With TOUCHSTONE_REQUIRE_SERVICES=1 (CI) a missing server
// fails the test instead of skipping it.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/migrations"
)

// EnvDatabaseURL names the PostgreSQL server the store tests also run on.
const EnvDatabaseURL = "TOUCHSTONE_TEST_DATABASE_URL"

// RequireServices reports whether a missing service is a failure (CI).
func RequireServices() bool { return os.Getenv("TOUCHSTONE_REQUIRE_SERVICES") == "1" }

// Each runs fn as a subtest on every available backend: "sqlite", and
// "postgres" when EnvDatabaseURL is set. Each run gets an empty, migrated
// database of its own.
func Each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite returns a migrated database in a new file under tb.TempDir.
func SQLite(tb testing.TB) *gorm.DB {
	tb.Helper()
	db, err := migrations.Open(context.Background(), filepath.Join(tb.TempDir(), "touchstone.db"))
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { migrations.Close(db) })
	return db
}

// Postgres returns a migrated database in a fresh schema of the server named
// by EnvDatabaseURL, dropped when the test ends. It skips when the variable
// is unset, unless RequireServices.
func Postgres(tb testing.TB) *gorm.DB {
	tb.Helper()
	db, _ := PostgresURL(tb)
	return db
}

// PostgresURL is Postgres that also returns the URL of the fresh schema, for
// tests that start the whole server on it.
func PostgresURL(tb testing.TB) (*gorm.DB, string) {
	tb.Helper()
	base := os.Getenv(EnvDatabaseURL)
	if base == "" {
		if RequireServices() {
			tb.Fatalf("%s is not set and TOUCHSTONE_REQUIRE_SERVICES=1", EnvDatabaseURL)
		}
		tb.Skipf("PostgreSQL tests need %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvDatabaseURL)
	}
	admin, err := migrations.Connect(base)
	if err != nil {
		tb.Fatalf("connect %s: %v", EnvDatabaseURL, err)
	}
	tb.Cleanup(func() { migrations.Close(admin) })

	schema := "t_" + randomHex(tb, 8)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })

	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse %s: %v", EnvDatabaseURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	db, err := migrations.Open(context.Background(), u.String())
	if err != nil {
		tb.Fatalf("open postgres schema %s: %v", schema, err)
	}
	tb.Cleanup(func() { migrations.Close(db) })
	return db, u.String()
}

func randomHex(tb testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// OnStatements calls fn after every statement made through db from now on
// (reads, writes and raw SQL; a transaction's BEGIN and COMMIT aside), for
// tests that count or record them. Each test may register once.
func OnStatements(tb testing.TB, db *gorm.DB, fn func(tx *gorm.DB)) {
	tb.Helper()
	name := "dbtest:statements-" + tb.Name()
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register(name, fn),
		cb.Row().After("gorm:row").Register(name, fn),
		cb.Raw().After("gorm:raw").Register(name, fn),
		cb.Create().After("gorm:create").Register(name, fn),
		cb.Update().After("gorm:update").Register(name, fn),
		cb.Delete().After("gorm:delete").Register(name, fn),
	} {
		if err != nil {
			tb.Fatal(err)
		}
	}
}
