package assess_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

func TestAttemptOwner(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		candidate := newCandidate(t, db, 101)
		a, err := f.svc.Start(ctx, f.exam.ID, candidate)
		if err != nil {
			t.Fatal(err)
		}
		want := assess.AttemptOwner{AttemptID: a.ID, CandidateID: candidate, ExamID: f.exam.ID}
		for _, when := range []string{"first read", "remembered"} {
			if got, err := f.svc.AttemptOwner(ctx, a.ID); err != nil || got != want || a.Owner() != want {
				t.Errorf("%s: AttemptOwner = %+v, %v; Owner() = %+v; want %+v", when, got, err, a.Owner(), want)
			}
		}
		for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
			if _, err := f.svc.AttemptOwner(ctx, id); !errors.Is(err, assess.ErrNotFound) {
				t.Errorf("AttemptOwner(%q) = %v, want ErrNotFound", id, err)
			}
		}
	})
}
