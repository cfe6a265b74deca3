package assess_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// TestSaveAtOnceOnPostgres: on PostgreSQL, a save to an item this process
// has saved to before is one UPDATE, with no read; whatever it cannot
// apply is decided as before — a replay, a stranger (404 even with a bad
// answer), a hold, the attempt's whole time as the cap, a submitted
// attempt.
func TestSaveAtOnceOnPostgres(t *testing.T) {
	db := dbtest.Postgres(t)
	var reads atomic.Int64
	countReads := func(tx *gorm.DB) {
		if strings.HasPrefix(strings.TrimSpace(strings.ToUpper(tx.Statement.SQL.String())), "SELECT") {
			reads.Add(1)
		}
	}
	if err := db.Callback().Query().After("gorm:query").Register("test:reads", countReads); err != nil {
		t.Fatal(err)
	}
	if err := db.Callback().Row().After("gorm:row").Register("test:reads", countReads); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	f := newFixture(t, db)
	candidate, stranger := newCandidate(t, db, 201), newCandidate(t, db, 202)
	a, err := f.svc.Start(ctx, f.exam.ID, candidate)
	if err != nil {
		t.Fatal(err)
	}
	item := f.exam.ItemIDs[0]
	// save returns the outcome and the reads it took.
	save := func(u assess.ResponseUpdate) (assess.Saved, int64, error) {
		t.Helper()
		before := reads.Load()
		saved, err := f.svc.SaveResponse(ctx, a.ID, item, u)
		return saved, reads.Load() - before, err
	}
	choice := func(c string) *items.Answer { return &items.Answer{Choice: c} }
	secs := func(s float64) *float64 { return &s }

	if _, _, err := save(assess.ResponseUpdate{Answer: choice(f.wrong[item]), Seq: 1, Candidate: candidate}); err != nil {
		t.Fatal(err)
	}
	got, n, err := save(assess.ResponseUpdate{Answer: choice(f.keys[item]), Seq: 2, Seconds: secs(12.5), Candidate: candidate})
	if err != nil || !got.Applied || got.Seq != 2 || n != 0 {
		t.Fatalf("second save: %+v, %v, %d reads; want applied at seq 2 with no read", got, err, n)
	}
	if got, _, err := save(assess.ResponseUpdate{Answer: choice(f.wrong[item]), Seq: 2, Candidate: candidate}); err != nil || got.Applied || got.Seq != 2 {
		t.Errorf("replay: %+v, %v; want not applied, seq 2", got, err)
	}
	for _, ans := range []*items.Answer{choice(f.wrong[item]), choice("no-such-option")} {
		if _, _, err := save(assess.ResponseUpdate{Answer: ans, Seq: 9, Candidate: stranger}); !errors.Is(err, assess.ErrNotFound) {
			t.Errorf("a stranger's save of %+v: %v, want ErrNotFound", ans, err)
		}
	}
	var fe *valid.Error
	if _, _, err := save(assess.ResponseUpdate{Answer: choice("no-such-option"), Seq: 3, Candidate: candidate}); !errors.As(err, &fe) || fe.Field != "answer.choice" {
		t.Errorf("a bad answer: %v, want a field error on answer.choice", err)
	}
	// Far more seconds than the attempt has: the cap is its whole time.
	if got, n, err := save(assess.ResponseUpdate{Seconds: secs(1e9), Seq: 3, Candidate: candidate}); err != nil || !got.Applied || n != 0 {
		t.Errorf("seconds: %+v, %v, %d reads", got, err, n)
	}
	qs, err := f.svc.Questions(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	whole := a.Deadline.Sub(a.StartedAt).Seconds()
	if q := qs[0]; q.ItemID != item || q.Answer == nil || q.Answer.Choice != f.keys[item] || q.Seq != 3 || q.Seconds != whole {
		t.Errorf("stored: %+v; want the key, seq 3, %v s", q, whole)
	}

	if _, err := f.svc.Hold(ctx, "proctor", a.ID, "checking the room"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := save(assess.ResponseUpdate{Answer: choice(f.wrong[item]), Seq: 4, Candidate: candidate}); !errors.Is(err, assess.ErrHeld) {
		t.Errorf("save while held: %v, want ErrHeld", err)
	}
	if _, err := f.svc.Resume(ctx, "proctor", a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(ctx, a.ID, "candidate"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := save(assess.ResponseUpdate{Answer: choice(f.wrong[item]), Seq: 5, Candidate: candidate}); !errors.Is(err, assess.ErrClosed) {
		t.Errorf("save after submit: %v, want ErrClosed", err)
	}
}
