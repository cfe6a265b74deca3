package assess_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

func TestAttemptLimitAndRetakeWait(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixtureWithPolicy(t, db, assess.Policy{MaxAttempts: 2, RetakeWait: 24 * time.Hour})
		if got := f.exam.Policy; got.MaxAttempts != 2 || got.RetakeWait != 24*time.Hour {
			t.Fatalf("stored policy %+v", got)
		}
		first, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		// Starting again while the attempt is open resumes it.
		if again, err := f.svc.Start(ctx, f.exam.ID, f.candidate); err != nil || again.ID != first.ID {
			t.Fatalf("resume: got %v, %v; want attempt %s", again.ID, err, first.ID)
		}
		if _, err := f.svc.Submit(ctx, first.ID, f.candidate); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(23 * time.Hour)
		if _, err := f.svc.Start(ctx, f.exam.ID, f.candidate); !errors.Is(err, assess.ErrRetakeWait) {
			t.Fatalf("23 h after submitting: got %v, want ErrRetakeWait", err)
		}
		f.clock.Advance(time.Hour)
		second, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatalf("24 h after submitting: %v", err)
		}
		if second.ID == first.ID {
			t.Fatal("retake resumed the submitted attempt")
		}
		// The second attempt runs out without a submit; the wait counts from
		// its deadline, and the limit of two is then reached anyway.
		f.clock.Advance(48 * time.Hour)
		if _, err := f.svc.Start(ctx, f.exam.ID, f.candidate); !errors.Is(err, assess.ErrAttemptLimit) {
			t.Fatalf("third attempt: got %v, want ErrAttemptLimit", err)
		}
	})
}

func TestAvailabilityWindow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		opens := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) // the fixture's clock starts at 09:00
		closes := opens.Add(2 * time.Hour)
		f := newFixtureWithPolicy(t, db, assess.Policy{OpensAt: &opens, ClosesAt: &closes})
		if got := f.exam.Policy; got.OpensAt == nil || !got.OpensAt.Equal(opens) || !got.ClosesAt.Equal(closes) {
			t.Fatalf("stored window %v – %v, want %v – %v", got.OpensAt, got.ClosesAt, opens, closes)
		}
		if _, err := f.svc.Start(ctx, f.exam.ID, f.candidate); !errors.Is(err, assess.ErrNotAvailable) {
			t.Fatalf("before the window: got %v, want ErrNotAvailable", err)
		}
		f.clock.Advance(3 * time.Hour)
		if _, err := f.svc.Start(ctx, f.exam.ID, f.candidate); err != nil {
			t.Fatalf("inside the window: %v", err)
		}
		f.clock.Advance(2 * time.Hour)
		other := newCandidate(t, db, 2)
		if _, err := f.svc.Start(ctx, f.exam.ID, other); !errors.Is(err, assess.ErrNotAvailable) {
			t.Fatalf("after the window: got %v, want ErrNotAvailable", err)
		}
	})
}

func TestPolicyValidation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		tests := []struct {
			policy assess.Policy
			field  string
		}{
			{assess.Policy{MaxAttempts: -1}, "policy.max_attempts"},
			{assess.Policy{RetakeWait: -time.Second}, "policy.retake_wait_seconds"},
			{assess.Policy{OpensAt: &at, ClosesAt: &at}, "policy.closes_at"},
		}
		for _, tt := range tests {
			e := f.exam
			e.Slug, e.Policy = "other", tt.policy
			_, err := f.svc.CreateExam(context.Background(), e)
			var v *valid.Error
			if !errors.As(err, &v) || v.Field != tt.field {
				t.Errorf("policy %+v: got %v, want a validation error on %s", tt.policy, err, tt.field)
			}
		}
	})
}
