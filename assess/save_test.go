package assess_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
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
	// The attempt's id spelled in capitals names it too, the fast way as well.
	for _, seq := range []int64{3, 4} {
		got, err := f.svc.SaveResponse(ctx, strings.ToUpper(a.ID), item, assess.ResponseUpdate{Answer: choice(f.keys[item]), Seq: seq, Candidate: candidate})
		if err != nil || !got.Applied || got.Seq != seq {
			t.Errorf("save %d through %s: %+v, %v; want applied", seq, strings.ToUpper(a.ID), got, err)
		}
	}
	for _, ans := range []*items.Answer{choice(f.wrong[item]), choice("no-such-option")} {
		if _, _, err := save(assess.ResponseUpdate{Answer: ans, Seq: 19, Candidate: stranger}); !errors.Is(err, assess.ErrNotFound) {
			t.Errorf("a stranger's save of %+v: %v, want ErrNotFound", ans, err)
		}
	}
	var fe *valid.Error
	if _, _, err := save(assess.ResponseUpdate{Answer: choice("no-such-option"), Seq: 5, Candidate: candidate}); !errors.As(err, &fe) || fe.Field != "answer.choice" {
		t.Errorf("a bad answer: %v, want a field error on answer.choice", err)
	}
	// Far more seconds than the attempt has: the cap is its whole time.
	if got, n, err := save(assess.ResponseUpdate{Seconds: secs(1e9), Seq: 5, Candidate: candidate}); err != nil || !got.Applied || n != 0 {
		t.Errorf("seconds: %+v, %v, %d reads", got, err, n)
	}
	qs, err := f.svc.Questions(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	whole := a.Deadline.Sub(a.StartedAt).Seconds()
	if q := qs[0]; q.ItemID != item || q.Answer == nil || q.Answer.Choice != f.keys[item] || q.Seq != 5 || q.Seconds != whole {
		t.Errorf("stored: %+v; want the key, seq 5, %v s", q, whole)
	}

	if _, err := f.svc.Hold(ctx, "proctor", a.ID, "checking the room"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := save(assess.ResponseUpdate{Answer: choice(f.wrong[item]), Seq: 6, Candidate: candidate}); !errors.Is(err, assess.ErrHeld) {
		t.Errorf("save while held: %v, want ErrHeld", err)
	}
	if _, err := f.svc.Resume(ctx, "proctor", a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(ctx, a.ID, "candidate"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := save(assess.ResponseUpdate{Answer: choice(f.wrong[item]), Seq: 7, Candidate: candidate}); !errors.Is(err, assess.ErrClosed) {
		t.Errorf("save after submit: %v, want ErrClosed", err)
	}
}

// TestQuestionsTeachTheSaves: once the candidate's page has read the
// questions, the first save to each of them is one UPDATE with no read;
// an attempt whose questions this process has not read still pays a read
// for each item's first save, and a stranger is still refused.
func TestQuestionsTeachTheSaves(t *testing.T) {
	db := dbtest.Postgres(t)
	ctx := context.Background()
	f := newFixture(t, db)
	statements := countStatements(t, db) // reads and the slow way's UPDATE; not the batches
	firstSaves := func(attemptID, candidate string) (viaGORM, batched int64) {
		t.Helper()
		before, beforeBatches := statements.Load(), assess.SaveStatements(f.svc)
		for _, item := range f.exam.ItemIDs {
			saved, err := f.svc.SaveResponse(ctx, attemptID, item, assess.ResponseUpdate{Answer: &items.Answer{Choice: f.keys[item]}, Seq: 1, Candidate: candidate})
			if err != nil || !saved.Applied || saved.Seq != 1 {
				t.Fatalf("first save of %s: %+v, %v", item, saved, err)
			}
		}
		return statements.Load() - before, assess.SaveStatements(f.svc) - beforeBatches
	}

	// A first sitting reads the items' answer shapes, which every later
	// save finds in memory.
	warm := newCandidate(t, db, 400)
	first, err := f.svc.Start(ctx, f.exam.ID, warm)
	if err != nil {
		t.Fatal(err)
	}
	firstSaves(first.ID, warm)

	viewer := newCandidate(t, db, 401)
	viewed, err := f.svc.Start(ctx, f.exam.ID, viewer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Questions(ctx, viewed.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SaveResponse(ctx, viewed.ID, f.exam.ItemIDs[0], assess.ResponseUpdate{Answer: &items.Answer{Choice: f.keys[f.exam.ItemIDs[0]]},
		Seq: 1, Candidate: newCandidate(t, db, 402)}); !errors.Is(err, assess.ErrNotFound) {
		t.Errorf("a stranger's save after the questions were read: %v, want ErrNotFound", err)
	}
	if via, batched := firstSaves(viewed.ID, viewer); via != 0 || batched != int64(len(f.exam.ItemIDs)) {
		t.Errorf("first saves after the questions: %d statements through GORM and %d batches, want 0 and %d", via, batched, len(f.exam.ItemIDs))
	}

	unseen := newCandidate(t, db, 403)
	other, err := f.svc.Start(ctx, f.exam.ID, unseen)
	if err != nil {
		t.Fatal(err)
	}
	if via, batched := firstSaves(other.ID, unseen); via != 2*int64(len(f.exam.ItemIDs)) || batched != 0 {
		t.Errorf("first saves without the questions: %d statements through GORM and %d batches, want %d (a read and an UPDATE each) and 0",
			via, batched, 2*len(f.exam.ItemIDs))
	}
	for _, a := range []assess.Attempt{viewed, other} {
		qs, err := f.svc.Questions(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			if q.Answer == nil || q.Answer.Choice != f.keys[q.ItemID] || q.Seq != 1 {
				t.Errorf("attempt %s item %s stored %+v seq %d, want the key at seq 1", a.ID, q.ItemID, q.Answer, q.Seq)
			}
		}
	}
}

// TestSavesTogetherOnPostgres: saves that arrive together are written in
// shared statements, and each gets exactly its own outcome: out-of-order
// sequence numbers, a flag that keeps the answer, a cleared answer, a
// stranger, a held attempt, all at once; what is stored is the newest
// change of each item.
func TestSavesTogetherOnPostgres(t *testing.T) {
	db := dbtest.Postgres(t)
	ctx := context.Background()
	f := newFixture(t, db)
	stranger := newCandidate(t, db, 302)
	const candidates = 6
	type sitting struct {
		candidate, attempt string
		held               bool
	}
	var sittings []sitting
	for i := range candidates {
		c := newCandidate(t, db, 310+i)
		a, err := f.svc.Start(ctx, f.exam.ID, c)
		if err != nil {
			t.Fatal(err)
		}
		// A first save teaches the process where each item sits.
		for _, item := range f.exam.ItemIDs {
			if _, err := f.svc.SaveResponse(ctx, a.ID, item, assess.ResponseUpdate{Answer: &items.Answer{Choice: f.wrong[item]}, Seq: 1, Candidate: c}); err != nil {
				t.Fatal(err)
			}
		}
		sittings = append(sittings, sitting{candidate: c, attempt: a.ID, held: i == 0})
	}
	if _, err := f.svc.Hold(ctx, "proctor", sittings[0].attempt, "checking the room"); err != nil {
		t.Fatal(err)
	}
	before := assess.SaveStatements(f.svc)

	// Every sitting sends seqs 2..9 of every item at once, in reverse
	// order for odd items; the answer alternates with the seq.
	const last = 9
	answerAt := func(item string, seq int64) *items.Answer {
		if seq%2 == 0 {
			return &items.Answer{Choice: f.keys[item]}
		}
		return &items.Answer{Choice: f.wrong[item]}
	}
	type result struct {
		s     sitting
		item  string
		seq   int64
		saved assess.Saved
		err   error
	}
	results := make(chan result, 1000)
	var wg sync.WaitGroup
	send := func(s sitting, item string, u assess.ResponseUpdate) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			saved, err := f.svc.SaveResponse(ctx, s.attempt, item, u)
			results <- result{s, item, u.Seq, saved, err}
		}()
	}
	for _, s := range sittings {
		for i, item := range f.exam.ItemIDs {
			for k := range int64(last - 1) {
				seq := 2 + k
				if i%2 == 1 {
					seq = last - k
				}
				send(s, item, assess.ResponseUpdate{Answer: answerAt(item, seq), Seq: seq, Candidate: s.candidate})
			}
		}
		// A stranger, at the same time.
		send(s, f.exam.ItemIDs[0], assess.ResponseUpdate{Answer: answerAt(f.exam.ItemIDs[0], 50), Seq: 50, Candidate: stranger})
	}
	wg.Wait()
	close(results)
	applied := map[[2]string]int{}
	for r := range results {
		switch {
		case r.s.candidate != "" && r.seq == 50:
			if !errors.Is(r.err, assess.ErrNotFound) {
				t.Errorf("a stranger's save: %+v, %v; want ErrNotFound", r.saved, r.err)
			}
		case r.s.held:
			if !errors.Is(r.err, assess.ErrHeld) {
				t.Errorf("save to a held attempt: %+v, %v; want ErrHeld", r.saved, r.err)
			}
		case r.err != nil:
			t.Errorf("save %s seq %d: %v", r.item, r.seq, r.err)
		case r.saved.Applied && r.saved.Seq != r.seq, !r.saved.Applied && r.saved.Seq < r.seq:
			t.Errorf("save %s seq %d: %+v", r.item, r.seq, r.saved)
		case r.saved.Applied:
			applied[[2]string{r.s.attempt, r.item}]++
		}
	}
	if n := assess.SaveStatements(f.svc) - before; n == 0 || int(n) >= (candidates-1)*len(f.exam.ItemIDs)*(last-1) {
		t.Errorf("%d statements for %d saves: want them shared", n, (candidates-1)*len(f.exam.ItemIDs)*(last-1))
	}

	// A flag, then together an answer that keeps the flag and a cleared
	// answer.
	s := sittings[1]
	flag, clearIt, flagLast := f.exam.ItemIDs[0], f.exam.ItemIDs[1], f.exam.ItemIDs[2]
	yes := true
	if _, err := f.svc.SaveResponse(ctx, s.attempt, flag, assess.ResponseUpdate{Flagged: &yes, Seq: last + 1, Candidate: s.candidate}); err != nil {
		t.Fatal(err)
	}
	wg.Add(3)
	go func() {
		defer wg.Done()
		if _, err := f.svc.SaveResponse(ctx, s.attempt, flagLast, assess.ResponseUpdate{Flagged: &yes, Seq: last + 1, Candidate: s.candidate}); err != nil {
			t.Error(err)
		}
	}()
	go func() {
		defer wg.Done()
		if _, err := f.svc.SaveResponse(ctx, s.attempt, flag, assess.ResponseUpdate{Answer: answerAt(flag, last+3), Seq: last + 2, Candidate: s.candidate}); err != nil {
			t.Error(err)
		}
	}()
	go func() {
		defer wg.Done()
		if _, err := f.svc.SaveResponse(ctx, s.attempt, clearIt, assess.ResponseUpdate{Answer: &items.Answer{}, Seq: last + 1, Candidate: s.candidate}); err != nil {
			t.Error(err)
		}
	}()
	wg.Wait()

	for _, s := range sittings {
		qs, err := f.svc.Questions(ctx, s.attempt)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			wantSeq, want := int64(last), answerAt(q.ItemID, last)
			switch {
			case s.held:
				wantSeq, want = 1, &items.Answer{Choice: f.wrong[q.ItemID]}
			case s == sittings[1] && q.ItemID == flag:
				wantSeq, want = last+2, answerAt(flag, last+3)
			case s == sittings[1] && q.ItemID == clearIt:
				wantSeq, want = last+1, nil
			case s == sittings[1] && q.ItemID == flagLast:
				wantSeq = last + 1
			}
			flagged := s == sittings[1] && (q.ItemID == flag || q.ItemID == flagLast)
			if q.Seq != wantSeq || !reflect.DeepEqual(q.Answer, want) || q.Flagged != flagged {
				t.Errorf("attempt %s item %s: seq %d answer %+v flagged %v; want seq %d answer %+v flagged %v", s.attempt, q.ItemID, q.Seq, q.Answer, q.Flagged, wantSeq, want, flagged)
			}
			// Both columns of the answer follow it.
			var option, whole *string
			if err := db.Raw("SELECT answer, answer_json FROM responses WHERE attempt_id = ? AND item_id = ?", s.attempt, q.ItemID).Row().Scan(&option, &whole); err != nil {
				t.Fatal(err)
			}
			if (want == nil) != (option == nil) || (want == nil) != (whole == nil) || want != nil && *option != want.Choice {
				t.Errorf("attempt %s item %s: answer columns %v, %v; want %+v", s.attempt, q.ItemID, option, whole, want)
			}
			if !s.held && applied[[2]string{s.attempt, q.ItemID}] == 0 {
				t.Errorf("attempt %s item %s: no save applied", s.attempt, q.ItemID)
			}
		}
	}
}

// TestSaveWhenItsBatchFails: a save whose batch fails is decided and
// written the slow way, alone.
func TestSaveWhenItsBatchFails(t *testing.T) {
	db := dbtest.Postgres(t)
	ctx := context.Background()
	f := newFixture(t, db)
	a, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
	if err != nil {
		t.Fatal(err)
	}
	item := f.exam.ItemIDs[0]
	if _, err := f.svc.SaveResponse(ctx, a.ID, item, assess.ResponseUpdate{Answer: &items.Answer{Choice: f.wrong[item]}, Seq: 1, Candidate: f.candidate}); err != nil {
		t.Fatal(err)
	}
	if err := assess.FailSaveBatches(f.svc); err != nil {
		t.Fatal(err)
	}
	before := assess.SaveStatements(f.svc)
	got, err := f.svc.SaveResponse(ctx, a.ID, item, assess.ResponseUpdate{Answer: &items.Answer{Choice: f.keys[item]}, Seq: 2, Candidate: f.candidate})
	if err != nil || !got.Applied || got.Seq != 2 {
		t.Fatalf("save: %+v, %v; want applied at seq 2", got, err)
	}
	if assess.SaveStatements(f.svc) == before {
		t.Fatal("the save did not go through a batch first")
	}
	qs, err := f.svc.Questions(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q := qs[0]; q.ItemID != item || q.Seq != 2 || q.Answer == nil || q.Answer.Choice != f.keys[item] {
		t.Errorf("stored: %+v; want the key at seq 2", q)
	}
}
