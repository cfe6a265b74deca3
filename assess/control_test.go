package assess_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// TestProctorHoldStopsTheClock: while a proctor holds an attempt its time
// left stays as it was, the candidate can neither answer nor submit, and
// no sweep closes it; resuming moves the deadline on by the time held.
func TestProctorHoldStopsTheClock(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		a, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(3 * time.Minute)
		left := a.Timing(f.clock.Now()).Remaining
		held, err := f.svc.Hold(ctx, "proctor", a.ID, "second person in view")
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(30 * time.Minute) // well past the 10-minute deadline
		if tm := held.Timing(f.clock.Now()); !tm.Held || tm.Remaining != left {
			t.Fatalf("held timing %+v, want held with %v left", tm, left)
		}
		item := f.exam.ItemIDs[0]
		if _, err := f.svc.SaveResponse(ctx, a.ID, item, assess.ResponseUpdate{Answer: &items.Answer{Choice: f.keys[item]}, Seq: 1}); !errors.Is(err, assess.ErrHeld) {
			t.Fatalf("answer while held: %v, want ErrHeld", err)
		}
		if _, err := f.svc.Submit(ctx, a.ID, "candidate"); !errors.Is(err, assess.ErrHeld) {
			t.Fatalf("submit while held: %v, want ErrHeld", err)
		}
		if n, err := f.svc.SubmitExpired(ctx); err != nil || n != 0 {
			t.Fatalf("the sweep submitted %d held attempts (%v)", n, err)
		}
		// A sweep (or a page load) that read the attempt as overdue before
		// the hold committed, on this instance or another, closes nothing.
		if _, err := f.svc.Submit(ctx, a.ID, "deadline"); !errors.Is(err, assess.ErrNotDue) {
			t.Fatalf("deadline submit while held: %v, want ErrNotDue", err)
		}
		resumed, err := f.svc.Resume(ctx, "proctor", a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if tm := resumed.Timing(f.clock.Now()); tm.Held || tm.Remaining != left {
			t.Fatalf("resumed timing %+v, want running with %v left", tm, left)
		}
		if _, err := f.svc.SaveResponse(ctx, a.ID, item, assess.ResponseUpdate{Answer: &items.Answer{Choice: f.keys[item]}, Seq: 1}); err != nil {
			t.Fatalf("answer after resuming: %v", err)
		}
		if _, err := f.svc.Submit(ctx, a.ID, "deadline"); !errors.Is(err, assess.ErrNotDue) {
			t.Fatalf("deadline submit with %v left: %v, want ErrNotDue", left, err)
		}

		if _, err := f.svc.AddTime(ctx, "proctor", a.ID, 0, "x"); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("add no time: %v", err)
		}
		if _, err := f.svc.AddTime(ctx, "proctor", a.ID, 5*time.Minute, ""); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("add time without a reason: %v", err)
		}
		more, err := f.svc.AddTime(ctx, "proctor", a.ID, 5*time.Minute, "camera outage")
		if err != nil || more.Timing(f.clock.Now()).Remaining != left+5*time.Minute || more.Added != 5*time.Minute {
			t.Fatalf("after adding 5 minutes: %+v (%v)", more, err)
		}
		recs, err := audit.List(db, "attempt:"+a.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range recs {
			seen[r.Action] = true
		}
		for _, want := range []string{"attempt.hold", "attempt.resume", "attempt.add_time"} {
			if !seen[want] {
				t.Errorf("no %s in the audit log", want)
			}
		}
	})
}

// TestProctorTerminates: a terminated attempt is scored for the record but
// never passes and earns no credential; messages are kept.
func TestProctorTerminates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		// The exam needs an achievement for OnPass to be called.
		db.Exec("UPDATE exams SET achievement_id = ?", "00000000-0000-0000-0000-0000000000a1")
		issued := 0
		f.svc.OnPass = func(context.Context, assess.Pass) (string, error) {
			issued++
			return "00000000-0000-0000-0000-0000000000c1", nil
		}
		a, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		f.answer(t, a.ID, 6)
		if _, err := f.svc.SendMessage(ctx, "proctor", a.ID, "  "); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("an empty message: %v", err)
		}
		if _, err := f.svc.SendMessage(ctx, "proctor", a.ID, "Please keep your face in view."); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Terminate(ctx, "proctor", a.ID, ""); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("terminate without a reason: %v", err)
		}
		res, err := f.svc.Terminate(ctx, "proctor", a.ID, "notes in view after a warning")
		if err != nil {
			t.Fatal(err)
		}
		if res.Passed || !res.Terminated || res.Score != 6 || res.SubmittedBy != "proctor" || issued != 0 {
			t.Fatalf("terminated result %+v, credentials issued %d; want scored 6, not passed, none issued", res, issued)
		}
		if _, err := f.svc.Terminate(ctx, "proctor", a.ID, "again"); !errors.Is(err, assess.ErrClosed) {
			t.Fatalf("terminate twice: %v, want ErrClosed", err)
		}
		if n, err := f.svc.SubmitExpired(ctx); err != nil || n != 0 || issued != 0 {
			t.Fatalf("the sweep after termination: %d submitted, %d issued (%v)", n, issued, err)
		}
		// The same answers without a proctor's termination earn the credential.
		b, err := f.svc.Start(ctx, f.exam.ID, newCandidate(t, db, 300))
		if err != nil {
			t.Fatal(err)
		}
		f.answer(t, b.ID, 6)
		if r, err := f.svc.Submit(ctx, b.ID, "candidate"); err != nil || !r.Passed || issued != 1 {
			t.Fatalf("an ordinary pass: %+v, %d issued (%v)", r, issued, err)
		}
		msgs, err := f.svc.Messages(ctx, a.ID)
		if err != nil || len(msgs) != 1 || msgs[0].Body != "Please keep your face in view." {
			t.Fatalf("messages %+v (%v)", msgs, err)
		}
	})
}
