package migrations_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/pressly/goose/v3"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/migrations"
)

// gooseOf returns a goose provider on db, to move it between versions.
// execOn returns a function that runs a statement on db, failing the test
// with the statement when it fails.
func execOn(t *testing.T, db *gorm.DB) func(q string, args ...any) {
	return func(q string, args ...any) {
		t.Helper()
		if err := db.Exec(q, args...).Error; err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func gooseOf(t *testing.T, db *gorm.DB) *goose.Provider {
	t.Helper()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	d, dialect := migrations.SQLite, goose.DialectSQLite3
	if db.Dialector.Name() == "postgres" {
		d, dialect = migrations.Postgres, goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, sqlDB, migrations.Files(d))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Migration 00004 renames 'active' to 'approved', marks active and retired
// items published at their current version, takes the kind from the
// content, and keeps every row that points at an item; its Down undoes it.
func TestItemWorkflowMigration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		p := gooseOf(t, db)
		if _, err := p.DownTo(ctx, 3); err != nil {
			t.Fatalf("down to 3: %v", err)
		}
		exec := execOn(t, db)
		const program = "00000000-0000-4000-8000-000000000001"
		exec("INSERT INTO programs (id, slug, name, created_at) VALUES (?, 'p', 'P', '2026-01-01 00:00:00+00')", program)
		ids := map[string]string{
			"active":  "00000000-0000-4000-8000-0000000000a1",
			"draft":   "00000000-0000-4000-8000-0000000000a2",
			"retired": "00000000-0000-4000-8000-0000000000a3",
		}
		for status, id := range ids {
			exec(`INSERT INTO items (id, program_id, domain, status, current_version, created_at, updated_at, exposure_count)
				VALUES (?, ?, 'D1', ?, 2, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00', 7)`, id, program, status)
			for v := 1; v <= 2; v++ {
				content := `{"kind":"numeric","domain":"D1","stem":"s","numeric":{"value":1}}`
				if status != "draft" {
					content = `{"domain":"D1","stem":"s","options":[],"key":""}`
				}
				exec(`INSERT INTO item_versions (id, item_id, version, stem, options, answer_key, created_at, content)
					VALUES (?, ?, ?, 's', '[]', '', '2026-01-01 00:00:00+00', ?)`, fmt.Sprintf("00000000-0000-4000-8000-0000000001%s%d", id[len(id)-1:], v), id, v, content)
			}
		}
		exec("INSERT INTO item_enemies (item_id, enemy_id) VALUES (?, ?)", ids["active"], ids["draft"])

		if _, err := p.UpTo(ctx, 4); err != nil {
			t.Fatalf("up to 4: %v", err)
		}
		type row struct {
			ID               string
			Status           string
			PublishedVersion *int
			Kind             string
			ExposureCount    int
		}
		want := map[string]row{
			"active":  {Status: "approved", PublishedVersion: ptr(2), Kind: "single_choice", ExposureCount: 7},
			"draft":   {Status: "draft", Kind: "numeric", ExposureCount: 7},
			"retired": {Status: "retired", PublishedVersion: ptr(2), Kind: "single_choice", ExposureCount: 7},
		}
		for old, id := range ids {
			var got row
			if err := db.Raw("SELECT id, status, published_version, kind, exposure_count FROM items WHERE id = ?", id).Scan(&got).Error; err != nil {
				t.Fatal(err)
			}
			w := want[old]
			if got.Status != w.Status || got.Kind != w.Kind || got.ExposureCount != w.ExposureCount ||
				(got.PublishedVersion == nil) != (w.PublishedVersion == nil) ||
				(got.PublishedVersion != nil && *got.PublishedVersion != *w.PublishedVersion) {
				t.Errorf("%s item after 00004: got %+v (published %v), want %+v (published %v)", old, got, deref(got.PublishedVersion), w, deref(w.PublishedVersion))
			}
		}
		var n int64
		db.Raw("SELECT count(*) FROM item_versions").Scan(&n)
		if n != 6 {
			t.Errorf("item versions after 00004: got %d, want 6", n)
		}
		db.Raw("SELECT count(*) FROM item_enemies").Scan(&n)
		if n != 1 {
			t.Errorf("enemy pairs after 00004: got %d, want 1", n)
		}
		// The new CHECK holds, and references still point at items.
		if err := db.Exec("UPDATE items SET status = 'active' WHERE id = ?", ids["draft"]).Error; err == nil {
			t.Error("status 'active' accepted after 00004, want the CHECK to refuse it")
		}
		if err := db.Exec("UPDATE items SET status = 'in_review' WHERE id = ?", ids["draft"]).Error; err != nil {
			t.Errorf("status 'in_review' refused after 00004: %v", err)
		}
		if err := db.Exec("INSERT INTO item_enemies (item_id, enemy_id) VALUES (?, ?)", ids["active"], "00000000-0000-4000-8000-0000000000ff").Error; err == nil {
			t.Error("an enemy pair naming no item was accepted: the foreign key to items is lost")
		}

		if _, err := p.DownTo(ctx, 3); err != nil {
			t.Fatalf("down to 3: %v", err)
		}
		var statuses []string
		db.Raw("SELECT status FROM items ORDER BY id").Scan(&statuses)
		if got := statuses; len(got) != 3 || got[0] != "active" || got[1] != "draft" || got[2] != "retired" {
			t.Errorf("statuses after down: got %v, want [active draft retired]", got)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
	})
}

func ptr(i int) *int { return &i }

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
