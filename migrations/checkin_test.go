package migrations_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// Migration 00010 leaves each candidate at most one active check-in per
// exam: of duplicates from before, the furthest along and then the newest
// stays, and the others are rejected with a note; used and rejected
// check-ins are left alone. After it the database refuses a second active
// check-in; its Down lifts the rule.
func TestOneActiveCheckinMigration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		p := gooseOf(t, db)
		if _, err := p.DownTo(ctx, 9); err != nil {
			t.Fatalf("down to 9: %v", err)
		}
		exec := execOn(t, db)
		const (
			program = "00000000-0000-4000-8000-000000000001"
			exam    = "00000000-0000-4000-8000-000000000002"
		)
		exec("INSERT INTO programs (id, slug, name, created_at) VALUES (?, 'p', 'P', '2026-01-01 00:00:00+00')", program)
		exec("INSERT INTO exams (id, program_id, slug, title, duration_seconds, created_at) VALUES (?, ?, 'e', 'E', 600, '2026-01-01 00:00:00+00')", exam, program)
		checkin := func(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-0000000001%02d", n) }
		// Each candidate's check-ins, oldest first, and the status each
		// should have after the migration.
		cases := map[int][]struct{ status, want string }{
			1: {{"admitted", "admitted"}, {"open", "rejected"}},                          // the admitted one stays, though older
			2: {{"open", "rejected"}, {"open", "open"}},                                  // the newer stays
			3: {{"used", "used"}, {"rejected", "rejected"}, {"pending", "pending"}},      // one active: nothing changes
			4: {{"pending", "rejected"}, {"open", "rejected"}, {"admitted", "admitted"}}, // three at once
		}
		n := 0
		for c, list := range cases {
			user := fmt.Sprintf("00000000-0000-4000-8000-0000000000%02d", c)
			exec("INSERT INTO users (id, email, name, created_at) VALUES (?, ?, 'C', '2026-01-01 00:00:00+00')", user, fmt.Sprintf("c%d@example.test", c))
			for i, ci := range list {
				n++
				exec("INSERT INTO proctor_checkins (id, exam_id, candidate_id, status, created_at) VALUES (?, ?, ?, ?, ?)",
					checkin(c*10+i), exam, user, ci.status, time.Date(2026, 1, 2, 9, i, 0, 0, time.UTC))
			}
		}

		if _, err := p.UpTo(ctx, 10); err != nil {
			t.Fatalf("up to 10: %v", err)
		}
		type row struct {
			Status    string
			DecidedBy string
			DecidedAt *time.Time
			Note      string
		}
		for c, list := range cases {
			for i, ci := range list {
				var got row
				if err := db.Raw("SELECT status, decided_by, decided_at, note FROM proctor_checkins WHERE id = ?", checkin(c*10+i)).Scan(&got).Error; err != nil {
					t.Fatal(err)
				}
				closed := ci.want == "rejected" && ci.status != "rejected"
				if got.Status != ci.want || closed != (got.DecidedBy == "system:migration") || (closed && (got.DecidedAt == nil || got.Note == "")) {
					t.Errorf("candidate %d's %s check-in after 00010: %+v, want %s", c, ci.status, got, ci.want)
				}
			}
		}
		var total int64
		if err := db.Raw("SELECT count(*) FROM proctor_checkins").Scan(&total).Error; err != nil || total != int64(n) {
			t.Errorf("check-ins after 00010: %d (%v), want all %d kept", total, err, n)
		}

		second := func() error {
			return db.Exec("INSERT INTO proctor_checkins (id, exam_id, candidate_id, status, created_at) VALUES (?, ?, ?, 'open', ?)",
				checkin(99), exam, "00000000-0000-4000-8000-000000000002", time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)).Error
		}
		if err := second(); err == nil {
			t.Error("a second active check-in was accepted after 00010")
		}
		if _, err := p.DownTo(ctx, 9); err != nil {
			t.Fatalf("down to 9: %v", err)
		}
		if err := second(); err != nil {
			t.Errorf("a second active check-in after the Down: %v, want it accepted", err)
		}
		exec("DELETE FROM proctor_checkins WHERE id = ?", checkin(99))
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
	})
}
