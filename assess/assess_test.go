package assess_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	svc       *assess.Service
	bank      *items.Store
	clock     *clock
	exam      assess.Exam
	keys      map[string]string // item id → key option id
	wrong     map[string]string // item id → a wrong option id
	candidate string
}

// newFixture builds an exam of six items in two domains with an approved
// standard: three panelists rating every item 0.5 gives a cut of 3.
func newFixture(t *testing.T, db *gorm.DB) *fixture {
	t.Helper()
	return newFixtureWithPolicy(t, db, assess.Policy{})
}

// newFixtureWithPolicy is newFixture with an attempt policy on the exam.
func newFixtureWithPolicy(t *testing.T, db *gorm.DB, policy assess.Policy) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	f := &fixture{clock: clk, keys: map[string]string{}, wrong: map[string]string{}}
	f.bank = items.NewStore(db, clk.Now)
	f.svc = assess.NewService(db, f.bank, clk.Now)
	f.candidate = newCandidate(t, db, 1)
	prog, err := f.svc.CreateProgram(ctx, assess.Program{Slug: "p", Name: "P"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 6 {
		domain := "D1"
		if i >= 3 {
			domain = "D2"
		}
		it, err := f.bank.Create(ctx, "system", prog.ID, items.Content{
			Domain: domain, Stem: fmt.Sprintf("Question %d?", i),
			Options: []items.Option{{ID: fmt.Sprintf("k%d", i), Text: "right"}, {ID: fmt.Sprintf("w%d", i), Text: "wrong"}},
			Key:     fmt.Sprintf("k%d", i),
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
		f.keys[it.ID], f.wrong[it.ID] = it.Key, fmt.Sprintf("w%d", i)
	}
	f.exam, err = f.svc.CreateExam(ctx, assess.Exam{ProgramID: prog.ID, Slug: "e", Title: "E", Duration: 10 * time.Minute,
		Domains: []assess.Domain{{Code: "D1", Name: "One"}, {Code: "D2", Name: "Two"}}, ItemIDs: ids, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	study, err := f.svc.CreateStudy(ctx, "system", assess.Study{ExamID: f.exam.ID, Title: "S",
		Panelists: []assess.Panelist{{Name: "A"}, {Name: "B"}, {Name: "C"}}})
	if err != nil {
		t.Fatal(err)
	}
	var ratings []assess.Rating
	for _, p := range study.Panelists {
		for _, id := range ids {
			ratings = append(ratings, assess.Rating{PanelistID: p.ID, ItemID: id, Round: 1, Value: 0.5})
		}
	}
	if err := f.svc.RecordRatings(ctx, study.ID, ratings); err != nil {
		t.Fatal(err)
	}
	std, err := f.svc.ProposeStandard(ctx, "system", study.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ApproveStandard(ctx, "system", std.ID); err != nil {
		t.Fatal(err)
	}
	return f
}

func newCandidate(t *testing.T, db *gorm.DB, n int) string {
	t.Helper()
	id := fmt.Sprintf("00000000-0000-0000-0000-%012d", n)
	if err := db.Exec("INSERT INTO users (id, email, name, created_at) VALUES (?, ?, 'C', ?)", id, fmt.Sprintf("c%d@example.com", n), time.Now()).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) answer(t *testing.T, attemptID string, correct int) {
	t.Helper()
	for i, id := range f.exam.ItemIDs {
		ans := f.wrong[id]
		if i < correct {
			ans = f.keys[id]
		}
		if _, err := f.svc.SaveResponse(context.Background(), attemptID, id, assess.ResponseUpdate{Answer: &items.Answer{Choice: ans}}); err != nil {
			t.Fatalf("save answer %d: %v", i, err)
		}
	}
}

func TestScoringAgainstTheApprovedStandard(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		for i, tc := range []struct {
			name    string
			correct int
			passed  bool
			d1, d2  float64
		}{
			{"below the cut", 2, false, 2, 0},
			{"at the cut", 3, true, 3, 0},
			{"all correct", 6, true, 3, 3},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				a, err := f.svc.Start(ctx, f.exam.ID, newCandidate(t, db, 100+i))
				if err != nil {
					t.Fatal(err)
				}
				f.answer(t, a.ID, tc.correct)
				r, err := f.svc.Submit(ctx, a.ID, "candidate")
				if err != nil {
					t.Fatal(err)
				}
				if r.Score != float64(tc.correct) || r.Passed != tc.passed || r.Cut != 3 || r.StandardVersion != 1 {
					t.Errorf("got score %v passed %v cut %v version %d, want %d %v 3 1", r.Score, r.Passed, r.Cut, r.StandardVersion, tc.correct, tc.passed)
				}
				if len(r.Domains) != 2 || r.Domains[0].Score != tc.d1 || r.Domains[1].Score != tc.d2 || r.Domains[0].Max != 3 {
					t.Errorf("got domains %+v, want D1 %v/3 and D2 %v/3", r.Domains, tc.d1, tc.d2)
				}
			})
		}
	})
}

func TestDeadlineIsTheServers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		a, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		if want := f.clock.Now().Add(10 * time.Minute); !a.Deadline.Equal(want) {
			t.Fatalf("deadline %v, want %v", a.Deadline, want)
		}
		item := f.exam.ItemIDs[0]
		key := &items.Answer{Choice: f.keys[item]}
		f.clock.Advance(10*time.Minute + time.Second) // within the grace
		if _, err := f.svc.SaveResponse(ctx, a.ID, item, assess.ResponseUpdate{Answer: key}); err != nil {
			t.Fatalf("save within grace: %v", err)
		}
		f.clock.Advance(5 * time.Second)
		if _, err := f.svc.SaveResponse(ctx, a.ID, item, assess.ResponseUpdate{Answer: key}); !errors.Is(err, assess.ErrClosed) {
			t.Fatalf("save after the deadline = %v, want ErrClosed", err)
		}
		n, err := f.svc.SubmitExpired(ctx)
		if err != nil || n != 1 {
			t.Fatalf("SubmitExpired = %d, %v; want 1, nil", n, err)
		}
		r, err := f.svc.Result(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.SubmittedBy != "deadline" || r.Score != 1 {
			t.Errorf("got submitted by %q with score %v, want deadline with the one saved answer", r.SubmittedBy, r.Score)
		}
	})
}

func TestSaveResponseValidates(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		a, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		bogus := &items.Answer{Choice: "not-an-option"}
		_, err = f.svc.SaveResponse(ctx, a.ID, f.exam.ItemIDs[0], assess.ResponseUpdate{Answer: bogus})
		var v *valid.Error
		if !errors.As(err, &v) || v.Field != "answer.choice" {
			t.Fatalf("bogus answer: got %v, want a validation error on answer.choice", err)
		}
		if _, err := f.svc.SaveResponse(ctx, a.ID, "00000000-0000-0000-0000-00000000dead", assess.ResponseUpdate{Answer: bogus}); !errors.Is(err, assess.ErrNotFound) {
			t.Fatalf("unknown item: got %v, want ErrNotFound", err)
		}
		again, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil || again.ID != a.ID {
			t.Fatalf("second Start = %v, %v; want the open attempt %s back", again.ID, err, a.ID)
		}
	})
}

func TestConcurrentSubmitsScoreOnceAndIssueOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		// The exam needs an achievement for OnPass to be called.
		achievement := "00000000-0000-0000-0000-0000000000a1"
		db.Exec("UPDATE exams SET achievement_id = ?", achievement)
		// The real issuer is idempotent per attempt (tested with the wired
		// services in cmd/touchstone); here each call answers a new id, so
		// every result agreeing shows that one call's id was recorded.
		var calls atomic.Int32
		f.svc.OnPass = func(ctx context.Context, p assess.Pass) (string, error) {
			n := calls.Add(1)
			return fmt.Sprintf("00000000-0000-0000-0000-%012d", n), nil
		}
		a, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		f.answer(t, a.ID, 6)
		var wg sync.WaitGroup
		results := make([]assess.Result, 8)
		errs := make([]error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = f.svc.Submit(ctx, a.ID, "candidate")
			}()
		}
		wg.Wait()
		stored, err := f.svc.Result(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 8 {
			if errs[i] != nil {
				t.Fatalf("submit %d: %v", i, errs[i])
			}
			if results[i].Score != 6 || !results[i].Passed || results[i].CredentialID != stored.CredentialID {
				t.Fatalf("submit %d: got %+v, want a pass with the stored credential %s", i, results[i], stored.CredentialID)
			}
		}
		recs, err := audit.List(db, "attempt:"+a.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		submits := 0
		for _, r := range recs {
			if r.Action == "attempt.submit" {
				submits++
				if r.Actor != f.candidate {
					t.Errorf("attempt.submit by %q, want the candidate %s", r.Actor, f.candidate)
				}
			}
		}
		if submits != 1 {
			t.Errorf("%d attempt.submit entries in the audit log, want 1", submits)
		}
	})
}
