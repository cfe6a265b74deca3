package migrations_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/migrations"
)

// fill writes rows that exercise every kind of column and the awkward
// cases: a self-reference to a later row, a serial id, NULLs, JSON, a
// time with microseconds, booleans, and the seeded audit head.
func fill(t *testing.T, db *gorm.DB) {
	t.Helper()
	stmts := []string{
		`INSERT INTO users (id, email, name, simulated, created_at) VALUES ('00000000-0000-4000-8000-000000000001', 'a@example.com', 'Ann "Quote" Ó', true, '2026-03-01 10:00:00.123456+00')`,
		`INSERT INTO programs (id, slug, name, created_at) VALUES ('00000000-0000-4000-8000-000000000002', 'p', 'P', '2026-03-01 10:00:00+00')`,
		`INSERT INTO items (id, program_id, domain, status, current_version, created_at, updated_at, irt_a) VALUES ('00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000002', 'd', 'draft', 1, '2026-03-01 10:00:00+00', '2026-03-01 10:00:00+00', 1.25)`,
		`INSERT INTO item_versions (id, item_id, version, stem, options, answer_key, created_at, content) VALUES ('00000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000003', 1, 'line one
line two', '[]', 'A', '2026-03-01 10:00:00+00', '{"key": "A", "kind": "single_choice"}')`,
		`INSERT INTO exams (id, program_id, slug, title, duration_seconds, created_at) VALUES ('00000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000002', 'e', 'E', 600, '2026-03-01 10:00:00+00')`,
		// The anchored run sorts before its anchor.
		`INSERT INTO calibration_runs (id, exam_id, version, model, status, created_at) VALUES ('00000000-0000-4000-8000-0000000000f0', '00000000-0000-4000-8000-000000000005', 1, '2PL', 'done', '2026-03-01 10:00:00+00')`,
		`INSERT INTO calibration_runs (id, exam_id, version, model, status, anchor_run_id, created_at) VALUES ('00000000-0000-4000-8000-0000000000a0', '00000000-0000-4000-8000-000000000005', 2, '2PL', 'done', '00000000-0000-4000-8000-0000000000f0', '2026-03-01 10:00:00+00')`,
		`INSERT INTO attempts (id, exam_id, candidate_id, status, started_at, deadline, passed) VALUES ('00000000-0000-4000-8000-000000000006', '00000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000001', 'submitted', '2026-03-01 10:00:00+00', '2026-03-01 10:10:00+00', false)`,
		`INSERT INTO proctor_events (attempt_id, kind, received_at) VALUES ('00000000-0000-4000-8000-000000000006', 'blur', '2026-03-01 10:01:00+00')`,
		`INSERT INTO proctor_events (attempt_id, kind, received_at) VALUES ('00000000-0000-4000-8000-000000000006', 'focus', '2026-03-01 10:02:00+00')`,
		`INSERT INTO audit_log (seq, pos, at, actor, action, subject, prev_hash, hash) VALUES (1, 1, '2026-03-01 10:00:00+00', 'a', 'b', 'c', '', 'h')`,
		`UPDATE audit_head SET seq = 1, hash = 'h'`,
	}
	for _, s := range stmts {
		if err := db.Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	// Enough users for several full batches and a partial one.
	if err := db.Transaction(func(tx *gorm.DB) error {
		for i := range 1234 {
			if err := tx.Exec(`INSERT INTO users (id, email, name, created_at) VALUES (?, ?, 'U', '2026-03-01 10:00:00+00')`,
				fmt.Sprintf("10000000-0000-4000-8000-%012d", i), fmt.Sprintf("u%d@example.com", i)).Error; err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// dump returns every table's JSON Lines and the snapshot's tables.
func dump(t *testing.T, db *gorm.DB) (map[string]string, *migrations.Snapshot) {
	t.Helper()
	ctx := context.Background()
	s, err := migrations.OpenSnapshot(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	out := map[string]string{}
	for _, tb := range s.Tables() {
		var b bytes.Buffer
		if _, err := s.Dump(ctx, tb, &b); err != nil {
			t.Fatal(err)
		}
		out[tb.Name] = b.String()
	}
	return out, s
}

// load writes a snapshot's tables into db.
func load(t *testing.T, db *gorm.DB, s *migrations.Snapshot, data map[string]string) error {
	t.Helper()
	ctx := context.Background()
	if err := migrations.PrepareLoad(ctx, db, s.Version()); err != nil {
		return err
	}
	l, err := migrations.BeginLoad(ctx, db)
	if err != nil {
		return err
	}
	defer l.Rollback()
	for _, tb := range s.Tables() {
		if _, err := l.Load(ctx, tb.Name, tb.Columns, strings.NewReader(data[tb.Name])); err != nil {
			return err
		}
	}
	if err := l.Commit(ctx); err != nil {
		return err
	}
	_, err = migrations.Up(ctx, db)
	return err
}

func TestDumpAndLoadRoundTrip(t *testing.T) {
	open := map[string]func(testing.TB) *gorm.DB{"sqlite": dbtest.SQLite, "postgres": dbtest.Postgres}
	for _, c := range []struct{ from, to string }{{"sqlite", "sqlite"}, {"postgres", "postgres"}, {"sqlite", "postgres"}, {"postgres", "sqlite"}} {
		t.Run(c.from+" to "+c.to, func(t *testing.T) {
			src, dst := open[c.from](t), open[c.to](t)
			fill(t, src)
			data, snap := dump(t, src)
			if !strings.Contains(data["proctor_events"], `"kind":"focus"`) || !strings.Contains(data["users"], `"simulated":true`) {
				t.Fatalf("dump lacks rows: %q %q", data["proctor_events"], data["users"])
			}
			if err := load(t, dst, snap, data); err != nil {
				t.Fatalf("load: %v", err)
			}
			got, _ := dump(t, dst)
			for name, want := range data {
				if got[name] != want {
					t.Errorf("table %s after the round trip:\n got %s\nwant %s", name, got[name], want)
				}
			}
			// The serial id carries on after the loaded rows.
			if err := dst.Exec(`INSERT INTO proctor_events (attempt_id, kind, received_at) VALUES ('00000000-0000-4000-8000-000000000006', 'next', '2026-03-01 10:03:00+00')`).Error; err != nil {
				t.Fatalf("insert after load: %v", err)
			}
			var id int64
			if err := dst.Raw(`SELECT id FROM proctor_events WHERE kind = 'next'`).Scan(&id).Error; err != nil || id != 3 {
				t.Errorf("next proctor event id = %d (%v), want 3", id, err)
			}
		})
	}
}

func TestLoadRefusesADatabaseWithData(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		fill(t, db)
		v, err := migrations.Version(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		err = migrations.PrepareLoad(context.Background(), db, v)
		if !errors.Is(err, migrations.ErrNotEmpty) || !strings.Contains(err.Error(), "table attempts has rows") {
			t.Fatalf("PrepareLoad on a filled database: %v, want ErrNotEmpty naming table attempts", err)
		}
		err = migrations.PrepareLoad(context.Background(), db, v+1)
		if !errors.Is(err, migrations.ErrNewerSchema) {
			t.Fatalf("PrepareLoad of a newer schema: %v, want ErrNewerSchema", err)
		}
	})
}

func TestLoadOfABadRowKeepsNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, dst *gorm.DB) {
		src := dbtest.SQLite(t)
		fill(t, src)
		data, snap := dump(t, src)
		data["proctor_events"] = strings.Replace(data["proctor_events"], `"kind":"focus"`, `"kind":7`, 1)
		err := load(t, dst, snap, data)
		if !errors.Is(err, migrations.ErrBadRow) || !strings.Contains(err.Error(), "proctor_events line 2, column kind") {
			t.Fatalf("load of a bad row: %v, want ErrBadRow naming proctor_events line 2, column kind", err)
		}
		if err := migrations.CheckEmpty(context.Background(), dst); err != nil {
			t.Fatalf("after the failed load: %v", err)
		}
	})
}

// An older dump loads into the schema it came from, then migrates up,
// even into a database already migrated further.
func TestLoadOfAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	old, err := migrations.Connect(filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer migrations.Close(old)
	latest, err := migrations.Latest(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrations.UpTo(ctx, old, latest-1); err != nil {
		t.Fatal(err)
	}
	if err := old.Exec(`INSERT INTO users (id, email, name, created_at) VALUES ('00000000-0000-4000-8000-000000000001', 'a@example.com', 'A', '2026-03-01 10:00:00+00')`).Error; err != nil {
		t.Fatal(err)
	}
	data, snap := dump(t, old)
	if snap.Version() != latest-1 {
		t.Fatalf("snapshot version %d, want %d", snap.Version(), latest-1)
	}
	dbtest.Each(t, func(t *testing.T, dst *gorm.DB) {
		if err := load(t, dst, snap, data); err != nil {
			t.Fatalf("load: %v", err)
		}
		if v, err := migrations.Version(ctx, dst); err != nil || v != latest {
			t.Fatalf("version after load %d (%v), want %d", v, err, latest)
		}
		var n int64
		dst.Raw(`SELECT COUNT(*) FROM users`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d users after load, want 1", n)
		}
	})
}
