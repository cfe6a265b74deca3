package migrations_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/migrations"
)

func TestBothDialectsReachTheSameVersion(t *testing.T) {
	pg, err := migrations.Latest(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := migrations.Latest(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if pg != lite || pg == 0 {
		t.Fatalf("latest postgres migration %d, sqlite %d: want equal and non-zero", pg, lite)
	}
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		statuses, err := migrations.Statuses(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range statuses {
			if !s.Applied {
				t.Errorf("migration %s not applied", s.Source)
			}
		}
		if got := statuses[len(statuses)-1].Version; got != pg {
			t.Errorf("database at version %d, want %d", got, pg)
		}
	})
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		if err := db.Exec(`INSERT INTO audit_log (seq, pos, at, actor, action, subject, prev_hash, hash) VALUES (1, 1, ?, 'a', 'b', 'c', '', 'h')`, "2026-01-01 00:00:00+00").Error; err != nil {
			t.Fatalf("insert: %v", err)
		}
		if err := db.Exec(`UPDATE audit_log SET actor = 'x'`).Error; err == nil {
			t.Error("UPDATE audit_log succeeded, want an error")
		}
		if err := db.Exec(`DELETE FROM audit_log`).Error; err == nil {
			t.Error("DELETE FROM audit_log succeeded, want an error")
		}

		// An entry written unplaced may be placed once, as it is.
		if err := db.Exec(`INSERT INTO audit_log (seq, at, actor, action, subject) VALUES (2, ?, 'a', 'b', 'c')`, "2026-01-01 00:00:00+00").Error; err != nil {
			t.Fatalf("insert unplaced: %v", err)
		}
		for _, bad := range []string{
			`UPDATE audit_log SET pos = 2, prev_hash = 'h', hash = 'i', actor = 'x' WHERE seq = 2`,
			`UPDATE audit_log SET pos = 2, prev_hash = 'h' WHERE seq = 2`,
		} {
			if err := db.Exec(bad).Error; err == nil {
				t.Errorf("%s succeeded, want an error", bad)
			}
		}
		if err := db.Exec(`UPDATE audit_log SET pos = 2, prev_hash = 'h', hash = 'i' WHERE seq = 2`).Error; err != nil {
			t.Fatalf("placing an entry: %v", err)
		}
		if err := db.Exec(`UPDATE audit_log SET pos = 3, prev_hash = 'h', hash = 'j' WHERE seq = 2`).Error; err == nil {
			t.Error("placing an entry twice succeeded, want an error")
		}
	})
}

func TestSQLiteSettings(t *testing.T) {
	db := dbtest.SQLite(t)
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1"} {
		var got string
		if err := db.Raw("PRAGMA " + pragma).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

// TestConcurrentUpOnPostgres: instances of one deployment that start
// together on an empty schema all come up migrated; one applies each
// migration and the others wait for it.
func TestConcurrentUpOnPostgres(t *testing.T) {
	_, base := dbtest.PostgresURL(t) // a schema of our own, to reach the server
	admin, err := migrations.Connect(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { migrations.Close(admin) })
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b)
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	latest, err := migrations.Latest(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	errs := make([]error, n)
	versions := make([]int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := migrations.Connect(u.String())
			if err != nil {
				errs[i] = err
				return
			}
			defer migrations.Close(db)
			versions[i], errs[i] = migrations.Up(context.Background(), db)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || versions[i] != latest {
			t.Errorf("instance %d: version %d, %v; want %d, nil", i, versions[i], errs[i], latest)
		}
	}
}
