package assess_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// TestLiveAttempts: the console lists the attempts in progress of the
// exams asked for, newest first; submitted attempts and other exams' are
// not listed, and an empty filter lists nothing rather than everything.
func TestLiveAttempts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		var started []string
		for i := range 3 {
			a, err := f.svc.Start(ctx, f.exam.ID, newCandidate(t, db, 300+i))
			if err != nil {
				t.Fatal(err)
			}
			started = append(started, a.ID)
			f.clock.Advance(time.Minute)
		}
		if _, err := f.svc.Submit(ctx, started[1], "candidate"); err != nil {
			t.Fatal(err)
		}
		ids := func(as []assess.Attempt) []string {
			out := make([]string, len(as))
			for i, a := range as {
				out[i] = a.ID
			}
			return out
		}
		for _, tc := range []struct {
			name   string
			filter assess.LiveFilter
			want   []string
		}{
			{"the exam", assess.LiveFilter{ExamIDs: []string{f.exam.ID}}, []string{started[2], started[0]}},
			{"every exam", assess.LiveFilter{All: true}, []string{started[2], started[0]}},
			{"limited", assess.LiveFilter{All: true, Limit: 1}, []string{started[2]}},
			{"another exam", assess.LiveFilter{ExamIDs: []string{uuid.NewString()}}, []string{}},
			{"no exam", assess.LiveFilter{}, []string{}},
		} {
			got, err := f.svc.LiveAttempts(ctx, tc.filter)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if g := ids(got); !slices.Equal(g, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, g, tc.want)
			}
		}
	})
}
