package assess_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

func TestBacklog(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		want := func(what string, w assess.Backlog) {
			t.Helper()
			got, err := f.svc.Backlog(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got != w {
				t.Errorf("%s: got %+v, want %+v", what, got, w)
			}
		}
		want("nothing started", assess.Backlog{})

		open, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		// A pass of an exam that awards nothing waits for no credential.
		passer := newCandidate(t, db, 2)
		passed, err := f.svc.Start(ctx, f.exam.ID, passer)
		if err != nil {
			t.Fatal(err)
		}
		f.answer(t, passed.ID, len(f.exam.ItemIDs))
		if r, err := f.svc.Submit(ctx, passed.ID, "candidate"); err != nil || !r.Passed {
			t.Fatalf("submit: %+v, %v; want a pass", r, err)
		}
		if _, err := f.svc.OpenReview(ctx, "proctor", passed.ID, []string{"a second voice"}); err != nil {
			t.Fatal(err)
		}
		want("one attempt open, one passed under review", assess.Backlog{InProgress: 1, PendingReviews: 1})

		// A check-in submitted under an exam whose proctor admits candidates.
		if _, err := f.svc.SetProctoring(ctx, "pm", f.exam.ID, assess.ProctoringPolicy{CheckIn: true, Admission: assess.AdmitByProctor}); err != nil {
			t.Fatal(err)
		}
		checkingIn := newCandidate(t, db, 3)
		ci, err := f.svc.OpenCheckin(ctx, f.exam.ID, checkingIn)
		if err != nil {
			t.Fatal(err)
		}
		checkinComplete(t, f, newCheckinPhotos(t, db, f), ci.ID, checkingIn)
		if _, err := f.svc.SubmitCheckin(ctx, ci.ID, checkingIn); err != nil {
			t.Fatal(err)
		}
		want("a check-in waiting", assess.Backlog{InProgress: 1, PendingReviews: 1, PendingCheckins: 1})

		// Past its deadline and grace, the open attempt is overdue until the
		// sweeper submits it.
		f.clock.Advance(f.exam.Duration + f.svc.Grace + time.Second)
		want("past the deadline", assess.Backlog{InProgress: 1, Overdue: 1, PendingReviews: 1, PendingCheckins: 1})
		if n, err := f.svc.SubmitExpired(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: submitted %d (%v), want %s", n, err, open.ID)
		}
		want("swept", assess.Backlog{PendingReviews: 1, PendingCheckins: 1})
	})
}
