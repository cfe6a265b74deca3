package proctor

import (
	"slices"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// TestRecentEvents: each attempt's newest events, newest first, without
// heartbeats or snapshot records, in one query for many attempts.
func TestRecentEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
		log := NewLog(db, clk.Now)
		a, b, quiet := newAttempt(t, db), newAttempt(t, db), newAttempt(t, db)
		for _, k := range []string{FocusLost, Heartbeat, FocusGained, Paste, Heartbeat, Copy, Print, Heartbeat} {
			if _, err := log.Record(ctx, a, []Event{{Kind: k}}); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Second)
		}
		if _, err := log.Record(ctx, b, []Event{{Kind: Hidden}, {Kind: Heartbeat}}); err != nil {
			t.Fatal(err)
		}
		if err := db.Transaction(func(tx *gorm.DB) error {
			_, _, err := appendChain(tx, b, []Event{{Kind: SnapshotTaken, Detail: "webcam"}, {Kind: NoFace}}, clk.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got, err := log.Recent(ctx, []string{a, b, quiet}, 3)
		if err != nil {
			t.Fatal(err)
		}
		kinds := func(es []Event) []string {
			out := []string{}
			for _, e := range es {
				out = append(out, e.Kind)
			}
			return out
		}
		for _, tc := range []struct {
			attempt string
			want    []string
		}{
			{a, []string{Print, Copy, Paste}},
			{b, []string{NoFace, Hidden}},
			{quiet, []string{}},
		} {
			if g := kinds(got[tc.attempt]); !slices.Equal(g, tc.want) {
				t.Errorf("recent of %s: got %v, want %v", tc.attempt, g, tc.want)
			}
		}
		if e := got[a][0]; e.AttemptID != a || e.Seq == 0 || e.Hash == "" || !e.ReceivedAt.Equal(time.Date(2026, 12, 4, 9, 0, 6, 0, time.UTC)) {
			t.Errorf("newest event of a: %+v, want it as stored, received at 09:00:06", e)
		}
		if got, err := log.Recent(ctx, nil, 3); err != nil || len(got) != 0 {
			t.Errorf("Recent(no attempts) = %v, %v; want nothing", got, err)
		}
	})
}
