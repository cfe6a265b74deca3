package migrations_test

import (
	"context"
	"fmt"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// Migration 00018 counts each form's attempts from those already started,
// then as attempts are inserted; attempts without a form count nowhere.
func TestFormDeliveriesMigration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		p := gooseOf(t, db)
		if _, err := p.DownTo(ctx, 17); err != nil {
			t.Fatalf("down to 17: %v", err)
		}
		exec := execOn(t, db)
		const (
			program = "00000000-0000-4000-8000-000000000001"
			exam    = "00000000-0000-4000-8000-000000000002"
			user    = "00000000-0000-4000-8000-000000000003"
			formA   = "00000000-0000-4000-8000-00000000000a"
			formB   = "00000000-0000-4000-8000-00000000000b"
			at      = "2026-01-02 09:00:00+00"
		)
		exec("INSERT INTO programs (id, slug, name, created_at) VALUES (?, 'p', 'P', ?)", program, at)
		exec("INSERT INTO exams (id, program_id, slug, title, duration_seconds, created_at) VALUES (?, ?, 'e', 'E', 600, ?)", exam, program, at)
		exec("INSERT INTO users (id, email, name, created_at) VALUES (?, 'c@example.test', 'C', ?)", user, at)
		for i, f := range []string{formA, formB} {
			exec("INSERT INTO exam_forms (id, exam_id, name, position, created_at) VALUES (?, ?, ?, ?, ?)", f, exam, f[len(f)-1:], i, at)
		}
		n := 0
		attempt := func(form any) {
			t.Helper()
			n++
			id := fmt.Sprintf("00000000-0000-4000-9000-%012d", n)
			exec("INSERT INTO attempts (id, exam_id, candidate_id, status, started_at, deadline, form_id) VALUES (?, ?, ?, 'submitted', ?, ?, ?)",
				id, exam, user, at, at, form)
		}
		attempt(formA)
		attempt(formA)
		attempt(formB)
		attempt(nil)

		if _, err := p.UpTo(ctx, 18); err != nil {
			t.Fatalf("up to 18: %v", err)
		}
		delivered := func() map[string]int64 {
			t.Helper()
			var rows []struct {
				FormID    string
				Delivered int64
			}
			if err := db.Raw("SELECT form_id, delivered FROM form_deliveries").Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			out := map[string]int64{}
			for _, r := range rows {
				out[r.FormID] = r.Delivered
			}
			return out
		}
		if got := delivered(); len(got) != 2 || got[formA] != 2 || got[formB] != 1 {
			t.Errorf("after 00018: %v, want form A 2, form B 1", got)
		}
		attempt(formB)
		attempt(formB)
		attempt(nil)
		if got := delivered(); len(got) != 2 || got[formA] != 2 || got[formB] != 3 {
			t.Errorf("after three more attempts: %v, want form A 2, form B 3", got)
		}
	})
}
