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
		// The instance that started the attempt knows its owner without a
		// read; another reads it once.
		other := assess.NewService(db, f.bank, f.clock.Now)
		reads := countStatements(t, db)
		for _, svc := range []struct {
			name  string
			s     *assess.Service
			reads int64
		}{{"starter", f.svc, 0}, {"starter again", f.svc, 0}, {"other", other, 1}, {"other again", other, 0}} {
			before := reads.Load()
			if got, err := svc.s.AttemptOwner(ctx, a.ID); err != nil || got != want || a.Owner() != want {
				t.Errorf("%s: AttemptOwner = %+v, %v; Owner() = %+v; want %+v", svc.name, got, err, a.Owner(), want)
			}
			if n := reads.Load() - before; n != svc.reads {
				t.Errorf("%s: AttemptOwner made %d statements, want %d", svc.name, n, svc.reads)
			}
		}
		for _, id := range []string{uuid.NewString(), "not-a-uuid"} {
			if _, err := f.svc.AttemptOwner(ctx, id); !errors.Is(err, assess.ErrNotFound) {
				t.Errorf("AttemptOwner(%q) = %v, want ErrNotFound", id, err)
			}
		}
	})
}
