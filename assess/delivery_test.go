package assess_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// builder makes programs, items and exams with approved standards.
type builder struct {
	svc   *assess.Service
	bank  *items.Store
	clock *clock
	db    *gorm.DB
	prog  assess.Program
	exams int
	users int
}

func newBuilder(t *testing.T, db *gorm.DB) *builder {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	b := &builder{clock: clk, db: db, bank: items.NewStore(db, clk.Now)}
	b.svc = assess.NewService(db, b.bank, clk.Now)
	var seed atomic.Uint64
	b.svc.Seed = func() uint64 { return seed.Add(1) }
	var err error
	if b.prog, err = b.svc.CreateProgram(context.Background(), assess.Program{Slug: "p", Name: "P"}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *builder) candidate(t *testing.T) string {
	t.Helper()
	b.users++
	return newCandidate(t, b.db, 500+b.users)
}

// choice adds a single-choice item of domain whose key is "k" (the wrong
// option is "w"), with IRT parameters when params is not nil.
func (b *builder) choice(t *testing.T, domain string, params *items.Params) items.Item {
	t.Helper()
	ctx := context.Background()
	it, err := b.bank.Create(ctx, "system", b.prog.ID, items.Content{Domain: domain, Stem: "Which?",
		Options: []items.Option{{ID: "k", Text: "right"}, {ID: "w", Text: "wrong"}}, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if params != nil {
		if err := b.bank.SetParams(ctx, "system", it.ID, *params); err != nil {
			t.Fatal(err)
		}
		if it, err = b.bank.Get(ctx, it.ID); err != nil {
			t.Fatal(err)
		}
	}
	return it
}

func ids(list []items.Item) []string {
	out := make([]string, len(list))
	for i, it := range list {
		out[i] = it.ID
	}
	return out
}

// exam creates e (filling its program, slug, title, duration and domains
// when unset) and approves a standard rating every pool item at rating, so
// the cut is rating × pool size.
func (b *builder) exam(t *testing.T, e assess.Exam, rating float64) assess.Exam {
	t.Helper()
	ctx := context.Background()
	b.exams++
	e.ProgramID = b.prog.ID
	e.Slug, e.Title = fmt.Sprintf("e%d", b.exams), fmt.Sprintf("Exam %d", b.exams)
	if e.Duration == 0 {
		e.Duration = 10 * time.Minute
	}
	if e.Domains == nil {
		e.Domains = []assess.Domain{{Code: "D1", Name: "One", Skill: "Adds numbers."}, {Code: "D2", Name: "Two"}}
	}
	e, err := b.svc.CreateExam(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	study, err := b.svc.CreateStudy(ctx, "system", assess.Study{ExamID: e.ID, Title: "S", Panelists: []assess.Panelist{{Name: "A"}, {Name: "B"}}})
	if err != nil {
		t.Fatal(err)
	}
	var ratings []assess.Rating
	for _, p := range study.Panelists {
		for _, id := range e.ItemIDs {
			ratings = append(ratings, assess.Rating{PanelistID: p.ID, ItemID: id, Round: 1, Value: rating})
		}
	}
	if err := b.svc.RecordRatings(ctx, study.ID, ratings); err != nil {
		t.Fatal(err)
	}
	std, err := b.svc.ProposeStandard(ctx, "system", study.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.ApproveStandard(ctx, "system", std.ID); err != nil {
		t.Fatal(err)
	}
	if e, err = b.svc.Exam(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	return e
}

func (b *builder) save(t *testing.T, attemptID, itemID string, a items.Answer) {
	t.Helper()
	if _, err := b.svc.SaveResponse(context.Background(), attemptID, itemID, assess.ResponseUpdate{Answer: &a}); err != nil {
		t.Fatalf("save %s: %v", itemID, err)
	}
}

func questions(t *testing.T, svc *assess.Service, attemptID string) []assess.Question {
	t.Helper()
	qs, err := svc.Questions(context.Background(), attemptID)
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

func TestSaveResponseIsIdempotentBySeq(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		a, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		item := f.exam.ItemIDs[0]
		right, wrong := &items.Answer{Choice: f.keys[item]}, &items.Answer{Choice: f.wrong[item]}
		for _, tc := range []struct {
			name        string
			answer      *items.Answer
			seq         int64
			wantApplied bool
			wantSeq     int64
			wantChoice  string
		}{
			{"first change", wrong, 2, true, 2, f.wrong[item]},
			{"replay of it", wrong, 2, false, 2, f.wrong[item]},
			{"an older change arriving late", right, 1, false, 2, f.wrong[item]},
			{"a newer change", right, 5, true, 5, f.keys[item]},
			{"unsequenced change", wrong, 0, true, 5, f.wrong[item]},
			{"clear", &items.Answer{}, 6, true, 6, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := f.svc.SaveResponse(ctx, a.ID, item, assess.ResponseUpdate{Answer: tc.answer, Seq: tc.seq})
				if err != nil {
					t.Fatal(err)
				}
				if got.Applied != tc.wantApplied || got.Seq != tc.wantSeq || got.ItemID != item {
					t.Errorf("got %+v, want applied %v with seq %d", got, tc.wantApplied, tc.wantSeq)
				}
				q := questions(t, f.svc, a.ID)[0]
				choice := ""
				if q.Answer != nil {
					choice = q.Answer.Choice
				}
				if choice != tc.wantChoice || q.Seq != tc.wantSeq {
					t.Errorf("stored answer %q seq %d, want %q seq %d", choice, q.Seq, tc.wantChoice, tc.wantSeq)
				}
			})
		}
	})
}

func TestAnswersOfEveryKindAreCheckedAndScored(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		b := newBuilder(t, db)
		ctx := context.Background()
		opts := func(ids ...string) []items.Option {
			out := make([]items.Option, len(ids))
			for i, id := range ids {
				out[i] = items.Option{ID: id, Text: "Option " + id}
			}
			return out
		}
		mk := func(c items.Content) items.Item {
			t.Helper()
			c.Stem = "Stem of " + string(c.Kind)
			it, err := b.bank.Create(ctx, "system", b.prog.ID, c)
			if err != nil {
				t.Fatal(err)
			}
			return it
		}
		multi := mk(items.Content{Kind: items.MultipleResponse, Domain: "D1", Options: opts("a", "b", "c", "d"), Keys: []string{"a", "b"}, Scoring: items.Partial, Points: 2})
		num := mk(items.Content{Kind: items.Numeric, Domain: "D1", Numeric: &items.NumericKey{Value: 3.14, Tolerance: 0.01}})
		order := mk(items.Content{Kind: items.Ordering, Domain: "D2", Options: opts("x", "y", "z"), Keys: []string{"x", "y", "z"}, Scoring: items.Partial})
		match := mk(items.Content{Kind: items.Matching, Domain: "D2", Options: opts("o1", "o2"),
			Targets: []items.Option{{ID: "t1", Text: "T1"}, {ID: "t2", Text: "T2"}}, Pairs: map[string]string{"o1": "t1", "o2": "t2"}})
		text := mk(items.Content{Kind: items.ShortText, Domain: "D2", Accepted: []string{"Paris"}})
		exam := b.exam(t, assess.Exam{ItemIDs: ids([]items.Item{multi, num, order, match, text})}, 0.5)
		a, err := b.svc.Start(ctx, exam.ID, b.candidate(t))
		if err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name   string
			item   string
			answer items.Answer
			field  string
		}{
			{"choice for a multiple-response item", multi.ID, items.Answer{Choice: "a"}, "answer"},
			{"unknown option", multi.ID, items.Answer{Choices: []string{"a", "q"}}, "answer.choices[1]"},
			{"repeated option", multi.ID, items.Answer{Choices: []string{"a", "a"}}, "answer.choices[1]"},
			{"not a number", num.ID, items.Answer{Text: "pi"}, "answer.text"},
			{"ordering missing an option", order.ID, items.Answer{Choices: []string{"x", "y"}}, "answer.choices"},
			{"pair with an unknown target", match.ID, items.Answer{Pairs: map[string]string{"o1": "t9"}}, "answer.pairs.o1"},
			{"pair of an unknown option", match.ID, items.Answer{Pairs: map[string]string{"o9": "t1"}}, "answer.pairs.o9"},
			{"pairs for a text item", text.ID, items.Answer{Pairs: map[string]string{"o1": "t1"}}, "answer"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := b.svc.SaveResponse(ctx, a.ID, tc.item, assess.ResponseUpdate{Answer: &tc.answer})
				var v *valid.Error
				if !errors.As(err, &v) || v.Field != tc.field {
					t.Errorf("got %v, want a validation error on %s", err, tc.field)
				}
			})
		}

		// The candidate sees each kind without its key, ordering and
		// matching options in an order of the attempt's own, the same on
		// every reload.
		qs := questions(t, b.svc, a.ID)
		if qs[0].Content.Kind != items.MultipleResponse || qs[0].Content.Points != 2 || len(qs[3].Content.Targets) != 2 {
			t.Errorf("candidate content: got %+v", qs)
		}
		if again := questions(t, b.svc, a.ID); !slices.Equal(optionIDs(again[2]), optionIDs(qs[2])) {
			t.Errorf("ordering options on reload: got %v, want %v", optionIDs(again[2]), optionIDs(qs[2]))
		}

		b.save(t, a.ID, multi.ID, items.Answer{Choices: []string{"a", "c"}})                      // (1 − 1)/2 of 2 points = 0
		b.save(t, a.ID, multi.ID, items.Answer{Choices: []string{"a", "b", "c"}})                 // (2 − 1)/2 of 2 = 1
		b.save(t, a.ID, num.ID, items.Answer{Text: "3,145"})                                      // within 0.01: 1
		b.save(t, a.ID, order.ID, items.Answer{Choices: []string{"x", "z", "y"}})                 // 1 of 3 positions
		b.save(t, a.ID, match.ID, items.Answer{Pairs: map[string]string{"o1": "t1", "o2": "t1"}}) // all or nothing: 0
		b.save(t, a.ID, text.ID, items.Answer{Text: "  paris "})                                  // 1
		r, err := b.svc.Submit(ctx, a.ID, "candidate")
		if err != nil {
			t.Fatal(err)
		}
		want := 1 + 1 + 1.0/3 + 0 + 1
		if math.Abs(r.Score-want) > 1e-9 || r.MaxScore != 6 {
			t.Errorf("score: got %v of %v, want %v of 6", r.Score, r.MaxScore, want)
		}
		// Each response keeps its own mark.
		marks := map[string][3]float64{multi.ID: {1, 2, 0}, num.ID: {1, 1, 1}, order.ID: {1.0 / 3, 1, 0}, match.ID: {0, 1, 0}, text.ID: {1, 1, 1}}
		for id, m := range marks {
			var got struct {
				Correct           bool
				Points, MaxPoints float64
			}
			if err := b.db.Raw("SELECT correct, points, max_points FROM responses WHERE attempt_id = ? AND item_id = ?", a.ID, id).Scan(&got).Error; err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.Points-m[0]) > 1e-9 || got.MaxPoints != m[1] || got.Correct != (m[2] == 1) {
				t.Errorf("item %s: marked %+v, want %v of %v points, full credit %v", id, got, m[0], m[1], m[2] == 1)
			}
		}
		// The standard's cut is 2.5 of the 5 items; the form's maximum is 6
		// points, so the cut on it is 3.
		if r.Cut != 3 || !r.Passed {
			t.Errorf("cut %v passed %v, want cut 3 and a pass", r.Cut, r.Passed)
		}
		if len(r.Domains) != 2 || r.Domains[0].Max != 3 || r.Domains[0].Score != 2 || r.Domains[0].Percent != 67 ||
			r.Domains[0].Level != assess.LevelDeveloping || r.Domains[1].Level != assess.LevelFocus {
			t.Errorf("domains: got %+v, want D1 2/3 (67%%, developing) and D2 1.33/3 (focus)", r.Domains)
		}
		for _, d := range r.Domains {
			if !strings.Contains(d.Feedback, d.Name) {
				t.Errorf("feedback %q does not name the domain %s", d.Feedback, d.Name)
			}
		}
		if !strings.Contains(r.Domains[0].Feedback, "Adds numbers") {
			t.Errorf("feedback %q does not use the domain's skill", r.Domains[0].Feedback)
		}
	})
}

func optionIDs(q assess.Question) []string {
	var out []string
	for _, o := range q.Content.Options {
		out = append(out, o.ID)
	}
	return out
}

func TestOneAttemptInProgressPerCandidate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		b := newBuilder(t, db)
		ctx := context.Background()
		pool := []items.Item{b.choice(t, "D1", nil), b.choice(t, "D2", nil)}
		first := b.exam(t, assess.Exam{ItemIDs: ids(pool)}, 0.5)
		second := b.exam(t, assess.Exam{ItemIDs: ids(pool)}, 0.5)
		cand := b.candidate(t)
		a, err := b.svc.Start(ctx, first.ID, cand)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.svc.Start(ctx, second.ID, cand)
		var active *assess.ActiveAttemptError
		if !errors.Is(err, assess.ErrActiveAttempt) || !errors.As(err, &active) || active.AttemptID != a.ID || active.ExamID != first.ID {
			t.Fatalf("second exam while the first is open: got %v, want ErrActiveAttempt naming %s", err, a.ID)
		}
		if again, err := b.svc.Start(ctx, first.ID, cand); err != nil || again.ID != a.ID {
			t.Fatalf("same exam again: got %v, %v; want the open attempt", again.ID, err)
		}
		// The database refuses a second open attempt even past the service.
		if err := db.Exec("UPDATE attempts SET status = 'in_progress' WHERE id <> ? AND candidate_id = ?", a.ID, cand).Error; err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(11 * time.Minute)
		other, err := b.svc.Start(ctx, second.ID, cand)
		if err != nil || other.ExamID != second.ID {
			t.Fatalf("after the first ran out: got %+v, %v; want a new attempt of the second exam", other, err)
		}
		r, err := b.svc.Result(ctx, a.ID)
		if err != nil || r.SubmittedBy != "deadline" {
			t.Fatalf("the expired attempt: got %+v, %v; want it submitted by the deadline", r, err)
		}
		dup := db.Exec("INSERT INTO attempts (id, exam_id, candidate_id, status, started_at, deadline) VALUES (?, ?, ?, 'in_progress', ?, ?)",
			"00000000-0000-0000-0000-0000000000ff", first.ID, cand, b.clock.Now(), b.clock.Now().Add(time.Hour))
		if dup.Error == nil {
			t.Error("the database accepted a second attempt in progress for one candidate")
		}
	})
}

func TestAccommodationAndBreaks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		b := newBuilder(t, db)
		ctx := context.Background()
		pool := []items.Item{b.choice(t, "D1", nil), b.choice(t, "D2", nil)}
		exam := b.exam(t, assess.Exam{ItemIDs: ids(pool)}, 0.5)
		cand := b.candidate(t)
		for _, tc := range []struct {
			name  string
			acc   assess.Accommodation
			field string
		}{
			{"multiplier below 1", assess.Accommodation{TimeMultiplier: 0.5}, "time_multiplier"},
			{"multiplier above 4", assess.Accommodation{TimeMultiplier: 5}, "time_multiplier"},
			{"negative break", assess.Accommodation{ExtraBreak: -time.Minute}, "extra_break_minutes"},
		} {
			tc.acc.ExamID, tc.acc.CandidateID = exam.ID, cand
			_, err := b.svc.SetAccommodation(ctx, "manager", tc.acc)
			var v *valid.Error
			if !errors.As(err, &v) || v.Field != tc.field {
				t.Errorf("%s: got %v, want a validation error on %s", tc.name, err, tc.field)
			}
		}
		if _, err := b.svc.SetAccommodation(ctx, "manager", assess.Accommodation{ExamID: exam.ID, CandidateID: cand,
			TimeMultiplier: 1.5, ExtraBreak: 10 * time.Minute, Note: "approved request 7"}); err != nil {
			t.Fatal(err)
		}
		var audited int64
		db.Table("audit_log").Where("action = ?", "accommodation.grant").Count(&audited)
		if audited != 1 {
			t.Errorf("accommodation.grant audit entries: got %d, want 1", audited)
		}

		start := b.clock.Now()
		a, err := b.svc.Start(ctx, exam.ID, cand)
		if err != nil {
			t.Fatal(err)
		}
		if want := start.Add(15 * time.Minute); !a.Deadline.Equal(want) {
			t.Fatalf("deadline with 1.5× time: got %v, want %v", a.Deadline, want)
		}

		b.clock.Advance(time.Minute)
		if a, err = b.svc.Break(ctx, a.ID, true); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(4 * time.Minute)
		tm := a.Timing(b.clock.Now())
		if !tm.Paused || tm.Remaining != 14*time.Minute || tm.BreakLeft != 6*time.Minute {
			t.Errorf("during the break: got %+v, want paused with 14 min left and 6 min of break", tm)
		}
		if _, err := b.svc.SaveResponse(ctx, a.ID, pool[0].ID, assess.ResponseUpdate{Answer: &items.Answer{Choice: "k"}}); !errors.Is(err, assess.ErrPaused) {
			t.Errorf("saving during a break: got %v, want ErrPaused", err)
		}
		if a, err = b.svc.Break(ctx, a.ID, false); err != nil {
			t.Fatal(err)
		}
		if want := start.Add(19 * time.Minute); !a.Deadline.Equal(want) || a.BreakUsed != 4*time.Minute || a.PausedAt != nil || a.Timing(b.clock.Now()).Paused {
			t.Errorf("after a 4-minute break: deadline %v used %v, want %v and 4m", a.Deadline, a.BreakUsed, want)
		}

		// A break not ended in time ends when the allowance runs out.
		if a, err = b.svc.Break(ctx, a.ID, true); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(10 * time.Minute)
		tm = a.Timing(b.clock.Now())
		if want := start.Add(25 * time.Minute); tm.Paused || !tm.Deadline.Equal(want) || tm.BreakLeft != 0 {
			t.Errorf("past the allowance: got %+v, want running again with deadline %v", tm, want)
		}
		if a, err = b.svc.Break(ctx, a.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.Break(ctx, a.ID, true); !errors.Is(err, assess.ErrNoBreakLeft) {
			t.Errorf("a third break: got %v, want ErrNoBreakLeft", err)
		}
		b.save(t, a.ID, pool[0].ID, items.Answer{Choice: "k"})

		if err := b.svc.RemoveAccommodation(ctx, "manager", exam.ID, cand); err != nil {
			t.Fatal(err)
		}
		if err := b.svc.RemoveAccommodation(ctx, "manager", exam.ID, cand); !errors.Is(err, assess.ErrNotFound) {
			t.Errorf("removing again: got %v, want ErrNotFound", err)
		}
	})
}

func TestRetakeGetsADifferentForm(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		b := newBuilder(t, db)
		ctx := context.Background()
		var pool []items.Item
		for i := range 6 {
			pool = append(pool, b.choice(t, []string{"D1", "D2"}[i%2], nil))
		}
		formA := assess.Form{Name: "A", Sections: []assess.Section{
			{Title: "Part 1", Instructions: "Warm up.", Items: []assess.FormItem{{ItemID: pool[0].ID}, {ItemID: pool[1].ID}}},
			{Title: "Part 2", Items: []assess.FormItem{{ItemID: pool[2].ID}, {ItemID: pool[5].ID, Pretest: true}}},
		}}
		formB := assess.Form{Name: "B", Sections: []assess.Section{{Title: "All", Items: []assess.FormItem{{ItemID: pool[3].ID}, {ItemID: pool[4].ID}, {ItemID: pool[5].ID}}}}}
		exam := b.exam(t, assess.Exam{ItemIDs: ids(pool), Forms: []assess.Form{formA, formB},
			Policy: assess.Policy{DifferentFormOnRetake: true}}, 0.5)
		if len(exam.Forms) != 2 || exam.Forms[0].Sections[0].Instructions != "Warm up." || !exam.Forms[0].Sections[1].Items[1].Pretest {
			t.Fatalf("stored forms: got %+v", exam.Forms)
		}
		cand := b.candidate(t)
		first, err := b.svc.Start(ctx, exam.ID, cand)
		if err != nil {
			t.Fatal(err)
		}
		if first.FormID != exam.Forms[0].ID {
			t.Errorf("first attempt: got form %s, want the least-used A", first.FormID)
		}
		qs := questions(t, b.svc, first.ID)
		if len(qs) != 4 || qs[0].Section != "Part 1" || qs[3].Section != "Part 2" || qs[3].ItemID != pool[5].ID {
			t.Fatalf("form A questions: got %+v", qs)
		}
		for _, q := range qs {
			b.save(t, first.ID, q.ItemID, items.Answer{Choice: "k"})
		}
		r, err := b.svc.Submit(ctx, first.ID, "candidate")
		if err != nil {
			t.Fatal(err)
		}
		// The pretest item is delivered but not scored; the standard's cut
		// of 3 of 6 becomes 1.5 of form A's 3 scored points.
		if r.Score != 3 || r.MaxScore != 3 || r.Cut != 1.5 {
			t.Errorf("form A result: got %v of %v, cut %v; want 3 of 3, cut 1.5", r.Score, r.MaxScore, r.Cut)
		}
		second, err := b.svc.Start(ctx, exam.ID, cand)
		if err != nil {
			t.Fatal(err)
		}
		if second.FormID != exam.Forms[1].ID {
			t.Errorf("retake: got form %s, want B, the one not sat", second.FormID)
		}
		if _, err := b.svc.Submit(ctx, second.ID, "candidate"); err != nil {
			t.Fatal(err)
		}
		// Both forms sat: the least used (A, by one candidate, and B by
		// one) — the first.
		third, err := b.svc.Start(ctx, exam.ID, cand)
		if err != nil || third.FormID == "" {
			t.Fatalf("third attempt: got %+v, %v; want one of the forms", third, err)
		}
		// Another candidate gets the least-used form.
		if _, err := b.svc.Submit(ctx, third.ID, "candidate"); err != nil {
			t.Fatal(err)
		}
		other, err := b.svc.Start(ctx, exam.ID, b.candidate(t))
		if err != nil {
			t.Fatal(err)
		}
		if want := exam.Forms[1].ID; third.FormID == exam.Forms[0].ID && other.FormID != want {
			t.Errorf("another candidate: got form %s, want the least-used %s", other.FormID, want)
		}

		for _, tc := range []struct {
			name  string
			forms []assess.Form
			field string
		}{
			{"item outside the pool", []assess.Form{{Name: "X", Sections: []assess.Section{{Items: []assess.FormItem{{ItemID: "00000000-0000-0000-0000-000000000001"}}}}}}, "forms[0].sections[0].items[0]"},
			{"only pretest items", []assess.Form{{Name: "X", Sections: []assess.Section{{Items: []assess.FormItem{{ItemID: pool[0].ID, Pretest: true}}}}}}, "forms[0].sections"},
			{"two forms of one name", []assess.Form{formB, formB}, "forms[1].name"},
		} {
			_, err := b.svc.CreateExam(ctx, assess.Exam{ProgramID: b.prog.ID, Slug: "bad", Title: "Bad", Duration: time.Hour,
				Domains: exam.Domains, ItemIDs: ids(pool), Forms: tc.forms})
			var v *valid.Error
			if !errors.As(err, &v) || v.Field != tc.field {
				t.Errorf("%s: got %v, want a validation error on %s", tc.name, err, tc.field)
			}
		}
	})
}

func TestLOFTFormsMeetTheBlueprintAndRespectEnemies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		b := newBuilder(t, db)
		ctx := context.Background()
		var pool []items.Item
		for i := range 12 {
			pool = append(pool, b.choice(t, []string{"D1", "D2"}[i/6], nil))
		}
		// Items 0 and 1 (both D1) cue each other.
		if err := b.bank.SetEnemies(ctx, "system", pool[0].ID, []string{pool[1].ID}); err != nil {
			t.Fatal(err)
		}
		exam := b.exam(t, assess.Exam{Mode: assess.ModeLOFT, ItemIDs: ids(pool),
			Domains: []assess.Domain{{Code: "D1", Name: "One", Count: 3}, {Code: "D2", Name: "Two", Count: 2}}}, 0.5)
		domainOf := map[string]string{}
		for _, it := range pool {
			domainOf[it.ID] = it.Domain
		}
		forms := map[string]bool{}
		for n := range 8 {
			a, err := b.svc.Start(ctx, exam.ID, b.candidate(t))
			if err != nil {
				t.Fatal(err)
			}
			qs := questions(t, b.svc, a.ID)
			count := map[string]int{}
			on := map[string]bool{}
			var key []string
			for _, q := range qs {
				count[domainOf[q.ItemID]]++
				on[q.ItemID] = true
				key = append(key, q.ItemID)
			}
			if count["D1"] != 3 || count["D2"] != 2 || len(qs) != 5 {
				t.Errorf("form %d: got %v, want 3 D1 and 2 D2 items", n, count)
			}
			if on[pool[0].ID] && on[pool[1].ID] {
				t.Errorf("form %d holds both enemy items", n)
			}
			forms[fmt.Sprint(key)] = true
			if n == 0 {
				for _, q := range qs {
					b.save(t, a.ID, q.ItemID, items.Answer{Choice: "k"})
				}
				r, err := b.svc.Submit(ctx, a.ID, "candidate")
				if err != nil {
					t.Fatal(err)
				}
				// Uncalibrated: decided on raw points, the cut of 6 of 12
				// carried to the form's 5 points.
				if r.Score != 5 || r.Cut != 2.5 || !r.Passed || r.Theta != nil || r.Mode != assess.ModeLOFT {
					t.Errorf("LOFT result: got %+v, want 5 points against a cut of 2.5, no θ", r)
				}
			}
		}
		if len(forms) < 2 {
			t.Error("every candidate got the same LOFT form")
		}
		after, err := b.bank.Current(ctx, ids(pool))
		if err != nil {
			t.Fatal(err)
		}
		var exposures int64
		for _, it := range after {
			exposures += it.Exposures
		}
		if exposures != 8*5 {
			t.Errorf("exposures: got %d, want %d (5 items on each of 8 forms)", exposures, 8*5)
		}

		_, err = b.svc.CreateExam(ctx, assess.Exam{ProgramID: b.prog.ID, Slug: "no-counts", Title: "T", Duration: time.Hour, Mode: assess.ModeLOFT,
			Domains: []assess.Domain{{Code: "D1", Name: "One"}}, ItemIDs: ids(pool)})
		var v *valid.Error
		if !errors.As(err, &v) || v.Field != "domains" {
			t.Errorf("LOFT exam without counts: got %v, want a validation error on domains", err)
		}
	})
}

// catExam builds an adaptive exam over 30 calibrated items, b from −2.9 to
// 2.9, alternating domains.
func catExam(t *testing.T, b *builder, set assess.CATSettings) (assess.Exam, map[string]float64) {
	t.Helper()
	return catExamWith(t, b, set, nil)
}

// catExamWith is catExam with extra (pretest) items in the pool.
func catExamWith(t *testing.T, b *builder, set assess.CATSettings, extra []items.Item) (assess.Exam, map[string]float64) {
	t.Helper()
	var pool []items.Item
	difficulty := map[string]float64{}
	for i := range 30 {
		p := items.Params{Model: "2PL", A: 1.7, B: -2.9 + 0.2*float64(i), N: 500}
		it := b.choice(t, []string{"D1", "D2"}[i%2], &p)
		pool = append(pool, it)
		difficulty[it.ID] = p.B
	}
	exam := b.exam(t, assess.Exam{Mode: assess.ModeCAT, ItemIDs: append(ids(pool), ids(extra)...), CAT: set,
		Domains: []assess.Domain{{Code: "D1", Name: "One", Weight: 1}, {Code: "D2", Name: "Two", Weight: 1}},
		Scale:   assess.Scale{Name: "Scaled score", Basis: assess.ScaleTheta, Slope: 100, Intercept: 500, Min: 200, Max: 800, Step: 10}}, 0.5)
	return exam, difficulty
}

// runCAT answers an adaptive attempt as a candidate who knows every item
// easier than ability, until the test ends; it returns the items given.
func runCAT(t *testing.T, b *builder, attemptID string, difficulty map[string]float64, ability float64) int {
	t.Helper()
	ctx := context.Background()
	for range 100 {
		qs := questions(t, b.svc, attemptID)
		cur := qs[len(qs)-1]
		ans := "w"
		if difficulty[cur.ItemID] < ability {
			ans = "k"
		}
		b.save(t, attemptID, cur.ItemID, items.Answer{Choice: ans})
		next, err := b.svc.Next(ctx, attemptID)
		if err != nil {
			t.Fatal(err)
		}
		if next.Done {
			return len(qs)
		}
		if next.Question == nil || next.Question.Position != len(qs)+1 {
			t.Fatalf("next: got %+v, want item %d", next.Question, len(qs)+1)
		}
	}
	t.Fatal("the adaptive test did not end")
	return 0
}

func TestCATStopsAtTheSETargetOrMaximumLength(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		b := newBuilder(t, db)
		ctx := context.Background()
		for _, tc := range []struct {
			name     string
			set      assess.CATSettings
			ability  float64
			maxGiven int
			bySE     bool
		}{
			{"SE target reached", assess.CATSettings{SETarget: 0.45, MinItems: 3, MaxItems: 20}, 0.5, 19, true},
			{"maximum length", assess.CATSettings{SETarget: 0.05, MaxItems: 8}, -0.3, 8, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				exam, difficulty := catExam(t, b, tc.set)
				a, err := b.svc.Start(ctx, exam.ID, b.candidate(t))
				if err != nil {
					t.Fatal(err)
				}
				if a.Mode != assess.ModeCAT || len(questions(t, b.svc, a.ID)) != 1 {
					t.Fatalf("start: got mode %s with %d items, want cat with 1", a.Mode, len(questions(t, b.svc, a.ID)))
				}
				if _, err := b.svc.Next(ctx, a.ID); !errors.Is(err, assess.ErrUnanswered) {
					t.Fatalf("next before answering: got %v, want ErrUnanswered", err)
				}
				given := runCAT(t, b, a.ID, difficulty, tc.ability)
				if given > tc.maxGiven || (!tc.bySE && given != tc.set.MaxItems) {
					t.Errorf("items given: got %d, want at most %d", given, tc.maxGiven)
				}
				if next, err := b.svc.Next(ctx, a.ID); err != nil || !next.Done {
					t.Errorf("next after the end: got %+v, %v; want done", next, err)
				}
				first := questions(t, b.svc, a.ID)[0]
				if _, err := b.svc.SaveResponse(ctx, a.ID, first.ItemID, assess.ResponseUpdate{Answer: &items.Answer{Choice: "k"}}); !errors.Is(err, assess.ErrConflict) {
					t.Errorf("changing an earlier adaptive item: got %v, want ErrConflict", err)
				}
				r, err := b.svc.Submit(ctx, a.ID, "candidate")
				if err != nil {
					t.Fatal(err)
				}
				if r.Theta == nil || r.ThetaSE == nil || r.ThetaCut == nil {
					t.Fatalf("result: got θ %v SE %v cut %v, want all set", r.Theta, r.ThetaSE, r.ThetaCut)
				}
				if tc.bySE && *r.ThetaSE > tc.set.SETarget {
					t.Errorf("θ SE %v above the target %v", *r.ThetaSE, tc.set.SETarget)
				}
				if math.Abs(*r.Theta-tc.ability) > 3**r.ThetaSE {
					t.Errorf("θ %v ± %v is far from the ability %v", *r.Theta, *r.ThetaSE, tc.ability)
				}
				if r.Passed != (*r.Theta >= *r.ThetaCut) {
					t.Errorf("passed %v with θ %v and θ cut %v", r.Passed, *r.Theta, *r.ThetaCut)
				}
				// The cut of half the pool carries to θ ≈ 0 on a pool centred on 0.
				if math.Abs(*r.ThetaCut) > 0.05 {
					t.Errorf("θ cut: got %v, want about 0", *r.ThetaCut)
				}
				if r.Scale.Name != "Scaled score" || r.ScaledCut != 500 || r.ScaledScore < 200 || r.ScaledScore > 800 ||
					math.Mod(r.ScaledScore, 10) != 0 || (r.ScaledScore >= r.ScaledCut) != r.Passed {
					t.Errorf("scaled: got %v against %v on %+v (passed %v)", r.ScaledScore, r.ScaledCut, r.Scale, r.Passed)
				}
			})
		}
	})
}

func TestScaledScoresAndCut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		b := newBuilder(t, db)
		ctx := context.Background()
		var plain, calibrated []items.Item
		for i := range 6 {
			plain = append(plain, b.choice(t, []string{"D1", "D2"}[i/3], nil))
			p := items.Params{Model: "2PL", A: 1.2, B: -1 + 0.4*float64(i), N: 400}
			calibrated = append(calibrated, b.choice(t, []string{"D1", "D2"}[i/3], &p))
		}
		raw := b.exam(t, assess.Exam{ItemIDs: ids(plain),
			Scale: assess.Scale{Name: "Scaled score", Basis: assess.ScaleRaw, Slope: 100, Intercept: 200, Min: 200, Max: 800}}, 0.5)
		theta := b.exam(t, assess.Exam{ItemIDs: ids(calibrated),
			Scale: assess.Scale{Name: "Scaled score", Basis: assess.ScaleTheta, Slope: 100, Intercept: 500, Min: 200, Max: 800, Step: 5}}, 0.5)
		none := b.exam(t, assess.Exam{ItemIDs: ids(plain)}, 0.5)

		take := func(exam assess.Exam, right int) assess.Result {
			t.Helper()
			a, err := b.svc.Start(ctx, exam.ID, b.candidate(t))
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range exam.ItemIDs {
				ans := "w"
				if i < right {
					ans = "k"
				}
				b.save(t, a.ID, id, items.Answer{Choice: ans})
			}
			r, err := b.svc.Submit(ctx, a.ID, "candidate")
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		for _, tc := range []struct {
			name              string
			exam              assess.Exam
			right             int
			passed            bool
			scaled, scaledCut float64
			scaleName         string
			min, max          float64
		}{
			{"raw basis, pass", raw, 4, true, 600, 500, "Scaled score", 200, 800},
			{"raw basis, fail", raw, 2, false, 400, 500, "Scaled score", 200, 800},
			{"raw basis, at the cut", raw, 3, true, 500, 500, "Scaled score", 200, 800},
			{"no scale: points", none, 5, true, 5, 3, "points", 0, 6},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := take(tc.exam, tc.right)
				if r.Passed != tc.passed || r.ScaledScore != tc.scaled || r.ScaledCut != tc.scaledCut ||
					r.Scale.Name != tc.scaleName || r.Scale.Min != tc.min || r.Scale.Max != tc.max {
					t.Errorf("got passed %v, scaled %v, cut %v on %+v; want %v, %v, %v on %s [%v, %v]",
						r.Passed, r.ScaledScore, r.ScaledCut, r.Scale, tc.passed, tc.scaled, tc.scaledCut, tc.scaleName, tc.min, tc.max)
				}
			})
		}

		t.Run("theta basis", func(t *testing.T) {
			r := take(theta, 4)
			bank := make([]psychometrics.Item3PL, 6)
			resp := []float64{1, 1, 1, 1, 0, 0}
			for i := range bank {
				bank[i] = psychometrics.Item3PL{A: 1.2, B: -1 + 0.4*float64(i)}
			}
			est := psychometrics.ThetaEAP(bank, resp, psychometrics.Quadrature{})
			cut, err := psychometrics.ThetaForTrueScore(bank, 3)
			if err != nil {
				t.Fatal(err)
			}
			if r.Theta == nil || math.Abs(*r.Theta-est.Theta) > 1e-9 || math.Abs(*r.ThetaSE-est.SE) > 1e-9 || math.Abs(*r.ThetaCut-cut) > 1e-9 {
				t.Fatalf("θ: got %v ± %v (cut %v), want %v ± %v (cut %v)", r.Theta, r.ThetaSE, r.ThetaCut, est.Theta, est.SE, cut)
			}
			// A fixed form decides on raw points, as before; θ is reported.
			wantScaled := math.Round((500+100*est.Theta)/5) * 5
			if !r.Passed || r.ScaledScore != wantScaled || r.ScaledCut != math.Round((500+100*cut)/5)*5 {
				t.Errorf("scaled: got %v against %v, want %v against %v", r.ScaledScore, r.ScaledCut, wantScaled, math.Round((500+100*cut)/5)*5)
			}
		})

		for _, tc := range []struct {
			name  string
			scale assess.Scale
			field string
		}{
			{"unknown basis", assess.Scale{Name: "S", Basis: "percent", Slope: 1, Max: 1}, "scale.basis"},
			{"max not above min", assess.Scale{Name: "S", Basis: assess.ScaleRaw, Slope: 1, Min: 5, Max: 5}, "scale.max"},
			{"zero slope", assess.Scale{Name: "S", Basis: assess.ScaleRaw, Max: 1}, "scale.slope"},
		} {
			_, err := b.svc.CreateExam(ctx, assess.Exam{ProgramID: b.prog.ID, Slug: "bad", Title: "Bad", Duration: time.Hour,
				Domains: []assess.Domain{{Code: "D1", Name: "One"}}, ItemIDs: ids(plain), Scale: tc.scale})
			var v *valid.Error
			if !errors.As(err, &v) || v.Field != tc.field {
				t.Errorf("%s: got %v, want a validation error on %s", tc.name, err, tc.field)
			}
		}
	})
}

func TestScaleApply(t *testing.T) {
	sc := assess.Scale{Name: "S", Basis: assess.ScaleTheta, Slope: 100, Intercept: 500, Min: 200, Max: 800, Step: 10}
	for _, tc := range []struct{ x, want float64 }{
		{0, 500}, {0.449, 540}, {0.45, 550}, {-0.451, 450}, {4, 800}, {-9, 200},
	} {
		if got := sc.Apply(tc.x); got != tc.want {
			t.Errorf("Apply(%v): got %v, want %v", tc.x, got, tc.want)
		}
	}
}

func TestPrerequisitesAreChecked(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		b := newBuilder(t, db)
		ctx := context.Background()
		pool := []items.Item{b.choice(t, "D1", nil), b.choice(t, "D2", nil)}
		exam := b.exam(t, assess.Exam{ItemIDs: ids(pool)}, 0.5)
		basics, advanced := "00000000-0000-4000-8000-0000000000b1", "00000000-0000-4000-8000-0000000000b2"
		if _, err := b.svc.SetPolicy(ctx, "manager", exam.ID, assess.Policy{Prerequisites: []string{"nope"}}); !errors.Is(err, valid.ErrInvalid) {
			t.Errorf("a prerequisite that is not an id: got %v, want invalid", err)
		}
		got, err := b.svc.SetPolicy(ctx, "manager", exam.ID, assess.Policy{MaxAttempts: 3, Prerequisites: []string{basics, advanced}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Policy.MaxAttempts != 3 || !slices.Equal(got.Policy.Prerequisites, []string{basics, advanced}) {
			t.Fatalf("stored policy: got %+v", got.Policy)
		}
		var audited int64
		db.Table("audit_log").Where("action = ? AND subject = ?", "exam.policy", "exam:"+exam.ID).Count(&audited)
		if audited != 1 {
			t.Errorf("exam.policy audit entries: got %d, want 1", audited)
		}
		cand := b.candidate(t)
		held := map[string]bool{}
		for _, tc := range []struct {
			name    string
			hook    bool
			hold    []string
			missing []string
		}{
			{"no hook: nothing can be confirmed", false, nil, []string{basics, advanced}},
			{"holds one of two", true, []string{basics}, []string{advanced}},
			{"holds both", true, []string{basics, advanced}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b.svc.Eligible = nil
				if tc.hook {
					b.svc.Eligible = func(ctx context.Context, candidateID string, want []string) ([]string, error) {
						var missing []string
						for _, id := range want {
							if !held[id] {
								missing = append(missing, id)
							}
						}
						return missing, nil
					}
				}
				for _, id := range tc.hold {
					held[id] = true
				}
				_, err := b.svc.Start(ctx, exam.ID, cand)
				var ne *assess.NotEligibleError
				switch {
				case tc.missing == nil && err != nil:
					t.Errorf("got %v, want a start", err)
				case tc.missing != nil && (!errors.As(err, &ne) || !errors.Is(err, assess.ErrNotEligible) || !slices.Equal(ne.Missing, tc.missing)):
					t.Errorf("got %v, want ErrNotEligible missing %v", err, tc.missing)
				}
			})
		}
	})
}

// Pretest items ride on LOFT forms, among the operational items, and are
// never scored.
func TestLOFTSeedsPretestItemsUnscored(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		b := newBuilder(t, db)
		ctx := context.Background()
		var operational, trial []items.Item
		for i := range 10 {
			operational = append(operational, b.choice(t, []string{"D1", "D2"}[i/5], nil))
		}
		for range 3 {
			trial = append(trial, b.choice(t, "D1", nil))
		}
		exam := b.exam(t, assess.Exam{Mode: assess.ModeLOFT, ItemIDs: append(ids(operational), ids(trial)...),
			Domains: []assess.Domain{{Code: "D1", Name: "One", Count: 2}, {Code: "D2", Name: "Two", Count: 2}},
			LOFT:    assess.LOFTSettings{PretestItems: ids(trial), Pretest: 1}}, 0.5)
		isTrial := map[string]bool{}
		for _, it := range trial {
			isTrial[it.ID] = true
		}
		positions := map[int]bool{}
		for n := range 6 {
			a, err := b.svc.Start(ctx, exam.ID, b.candidate(t))
			if err != nil {
				t.Fatal(err)
			}
			qs := questions(t, b.svc, a.ID)
			seeded := 0
			for i, q := range qs {
				if isTrial[q.ItemID] {
					seeded++
					positions[i] = true
				}
				b.save(t, a.ID, q.ItemID, items.Answer{Choice: "k"})
			}
			if len(qs) != 5 || seeded != 1 {
				t.Fatalf("form %d: %d items with %d pretest, want 4 operational and 1 pretest", n, len(qs), seeded)
			}
			r, err := b.svc.Submit(ctx, a.ID, "candidate")
			if err != nil {
				t.Fatal(err)
			}
			if r.Score != 4 || r.MaxScore != 4 {
				t.Errorf("form %d: scored %v of %v, want 4 of 4 (the pretest item unscored)", n, r.Score, r.MaxScore)
			}
		}
		if len(positions) < 2 {
			t.Errorf("the pretest item sat at positions %v on every form, want it placed at random", positions)
		}
		_, err := b.svc.CreateExam(ctx, assess.Exam{ProgramID: b.prog.ID, Slug: "bad-pretest", Title: "T", Duration: time.Hour, Mode: assess.ModeLOFT,
			Domains: exam.Domains, ItemIDs: ids(operational), LOFT: assess.LOFTSettings{PretestItems: ids(trial), Pretest: 1}})
		var v *valid.Error
		if !errors.As(err, &v) || v.Field != "loft.pretest_items[0]" {
			t.Errorf("pretest items outside the pool: got %v, want a validation error on loft.pretest_items[0]", err)
		}
	})
}

// Pretest items ride unscored in adaptive tests, early enough that every
// test reaches them, and do not count towards its length or its score.
func TestCATSeedsPretestItemsUnscored(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		b := newBuilder(t, db)
		ctx := context.Background()
		var trial []items.Item
		for range 3 {
			trial = append(trial, b.choice(t, "D1", nil))
		}
		set := assess.CATSettings{SETarget: 0.05, MinItems: 6, MaxItems: 10, PretestItems: ids(trial), Pretest: 2}
		exam, difficulty := catExamWith(t, b, set, trial)
		isTrial := map[string]bool{}
		for _, it := range trial {
			isTrial[it.ID] = true
		}
		a, err := b.svc.Start(ctx, exam.ID, b.candidate(t))
		if err != nil {
			t.Fatal(err)
		}
		if given := runCAT(t, b, a.ID, difficulty, 0.3); given != 12 {
			t.Errorf("items given: got %d, want 10 operational and 2 pretest", given)
		}
		operational, seeded := 0, 0
		for _, q := range questions(t, b.svc, a.ID) {
			if isTrial[q.ItemID] {
				seeded++
				if operational < 1 || operational > set.MinItems-1 {
					t.Errorf("a pretest item came after %d operational items, want 1 to %d", operational, set.MinItems-1)
				}
				continue
			}
			operational++
		}
		if seeded != 2 {
			t.Errorf("pretest items given: got %d, want 2", seeded)
		}
		r, err := b.svc.Submit(ctx, a.ID, "candidate")
		if err != nil {
			t.Fatal(err)
		}
		if r.MaxScore != 10 {
			t.Errorf("max score: got %v, want 10 (the pretest items unscored)", r.MaxScore)
		}
		_, err = b.svc.CreateExam(ctx, assess.Exam{ProgramID: b.prog.ID, Slug: "bad-cat-pretest", Title: "T", Duration: time.Hour, Mode: assess.ModeCAT,
			Domains: exam.Domains, ItemIDs: exam.ItemIDs[:30], CAT: set})
		var v *valid.Error
		if !errors.As(err, &v) || v.Field != "cat.pretest_items[0]" {
			t.Errorf("pretest items outside the pool: got %v, want a validation error on cat.pretest_items[0]", err)
		}
	})
}
