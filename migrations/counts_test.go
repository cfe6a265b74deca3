package migrations_test

import (
	"context"
	"encoding/json"
	"maps"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// Migration 00013 gives every attempt with proctoring events a chain head
// carrying the count of each kind: from its events, chained or from before
// the chain; an attempt whose events all predate the chain gets a head at
// place 0.
func TestProctorCountsMigration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		p := gooseOf(t, db)
		if _, err := p.DownTo(ctx, 12); err != nil {
			t.Fatalf("down to 12: %v", err)
		}
		exec := execOn(t, db)
		const (
			program   = "00000000-0000-4000-8000-000000000001"
			exam      = "00000000-0000-4000-8000-000000000002"
			user      = "00000000-0000-4000-8000-000000000003"
			chained   = "00000000-0000-4000-8000-000000000004"
			unchained = "00000000-0000-4000-8000-000000000005"
			quiet     = "00000000-0000-4000-8000-000000000006"
			at        = "2026-01-02 09:00:00+00"
		)
		exec("INSERT INTO programs (id, slug, name, created_at) VALUES (?, 'p', 'P', ?)", program, at)
		exec("INSERT INTO exams (id, program_id, slug, title, duration_seconds, created_at) VALUES (?, ?, 'e', 'E', 600, ?)", exam, program, at)
		exec("INSERT INTO users (id, email, name, created_at) VALUES (?, 'c@example.test', 'C', ?)", user, at)
		for _, a := range []string{chained, unchained, quiet} {
			exec("INSERT INTO attempts (id, exam_id, candidate_id, status, started_at, deadline) VALUES (?, ?, ?, 'submitted', ?, ?)", a, exam, user, at, at)
		}
		event := func(attempt, kind string, seq any) {
			t.Helper()
			exec("INSERT INTO proctor_events (attempt_id, kind, detail, received_at, seq) VALUES (?, ?, '', ?, ?)", attempt, kind, at, seq)
		}
		event(chained, "focus_lost", nil) // from before the chain
		event(chained, "copy", 1)
		event(chained, "copy", 2)
		event(chained, "heartbeat", 3)
		exec("INSERT INTO proctor_chains (attempt_id, seq, hash) VALUES (?, 3, 'h3')", chained)
		event(unchained, "paste", nil)
		event(unchained, "paste", nil)

		if _, err := p.UpTo(ctx, 13); err != nil {
			t.Fatalf("up to 13: %v", err)
		}
		want := map[string]struct {
			seq    int64
			hash   string
			counts map[string]int
		}{
			chained:   {3, "h3", map[string]int{"focus_lost": 1, "copy": 2, "heartbeat": 1}},
			unchained: {0, "", map[string]int{"paste": 2}},
		}
		var heads []struct {
			AttemptID string
			Seq       int64
			Hash      string
			Counts    string
		}
		if err := db.Raw("SELECT attempt_id, seq, hash, counts FROM proctor_chains ORDER BY attempt_id").Scan(&heads).Error; err != nil {
			t.Fatal(err)
		}
		if len(heads) != len(want) {
			t.Fatalf("chain heads after 00013: %+v, want one for each attempt with events", heads)
		}
		for _, h := range heads {
			w := want[h.AttemptID]
			var counts map[string]int
			if err := json.Unmarshal([]byte(h.Counts), &counts); err != nil || h.Seq != w.seq || h.Hash != w.hash || !maps.Equal(counts, w.counts) {
				t.Errorf("head of %s after 00013: %+v (%v), want seq %d, hash %q, counts %v", h.AttemptID, h, err, w.seq, w.hash, w.counts)
			}
		}
		if _, err := p.DownTo(ctx, 12); err != nil {
			t.Fatalf("down to 12: %v", err)
		}
		var left int64
		if err := db.Raw("SELECT count(*) FROM proctor_chains").Scan(&left).Error; err != nil || left != 1 {
			t.Errorf("heads after the Down: %d (%v), want the one that was there", left, err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("up again: %v", err)
		}
	})
}
