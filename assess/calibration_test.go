package assess_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// bank is a program's item bank for calibration tests: items with two
// options each (k<i> right, w<i> wrong).
type bank struct {
	svc     *assess.Service
	store   *items.Store
	db      *gorm.DB
	program assess.Program
	ids     []string
	users   int
}

func newBank(t *testing.T, db *gorm.DB, n int) *bank {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }
	b := &bank{db: db, store: items.NewStore(db, now)}
	b.svc = assess.NewService(db, b.store, now)
	var err error
	if b.program, err = b.svc.CreateProgram(ctx, assess.Program{Slug: "cal", Name: "Calibration"}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		it, err := b.store.Create(ctx, "system", b.program.ID, items.Content{Domain: "D1", Stem: fmt.Sprintf("Question %d?", i),
			Options: []items.Option{{ID: fmt.Sprintf("k%d", i), Text: "right"}, {ID: fmt.Sprintf("w%d", i), Text: "wrong"}},
			Key:     fmt.Sprintf("k%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		b.ids = append(b.ids, it.ID)
	}
	return b
}

// exam creates an exam over the bank items at idx; those in pretest are
// pretest items of its one fixed form.
func (b *bank) exam(t *testing.T, slug string, idx []int, pretest map[int]bool) assess.Exam {
	t.Helper()
	var ids []string
	var form []assess.FormItem
	for _, i := range idx {
		ids = append(ids, b.ids[i])
		form = append(form, assess.FormItem{ItemID: b.ids[i], Pretest: pretest[i]})
	}
	e := assess.Exam{ProgramID: b.program.ID, Slug: slug, Title: slug, Duration: time.Hour,
		Domains: []assess.Domain{{Code: "D1", Name: "One"}}, ItemIDs: ids}
	if len(pretest) > 0 {
		e.Forms = []assess.Form{{Name: "A", Sections: []assess.Section{{Title: "All", Items: form}}}}
	}
	exam, err := b.svc.CreateExam(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return exam
}

// candidates inserts n candidate accounts and returns their ids.
func (b *bank) candidates(t *testing.T, n int) []string {
	t.Helper()
	rows := make([]map[string]any, n)
	ids := make([]string, n)
	for i := range n {
		b.users++
		ids[i] = uuid.NewString()
		rows[i] = map[string]any{"id": ids[i], "email": fmt.Sprintf("pilot%d@example.com", b.users), "name": "Pilot",
			"password_hash": "", "simulated": true, "created_at": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	}
	if err := b.db.Table("users").CreateInBatches(rows, 500).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

// sit records one submitted attempt per candidate of the exam, answering
// as the 0/1 rows of x say (columns: the exam's items in order).
func (b *bank) sit(t *testing.T, exam assess.Exam, cands []string, x func(i, j int) bool) {
	t.Helper()
	key := map[string]int{}
	for i, id := range b.ids {
		key[id] = i
	}
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	past := make([]assess.PastAttempt, len(cands))
	for i, c := range cands {
		ans := map[string]string{}
		for j, id := range exam.ItemIDs {
			if x(i, j) {
				ans[id] = fmt.Sprintf("k%d", key[id])
			} else {
				ans[id] = fmt.Sprintf("w%d", key[id])
			}
		}
		at := start.Add(time.Duration(i) * time.Minute)
		past[i] = assess.PastAttempt{CandidateID: c, StartedAt: at, SubmittedAt: at.Add(20 * time.Minute), Answers: ans}
	}
	if err := b.svc.RecordHistory(context.Background(), exam.ID, past, true); err != nil {
		t.Fatal(err)
	}
}

// simulate draws 0/1 responses of persons with abilities N(mean, sd²) to
// items under the 3PL model.
func simulate(seed uint64, persons int, mean, sd float64, items []psychometrics.Item3PL) func(i, j int) bool {
	rng := rand.New(rand.NewPCG(seed, 1))
	theta := make([]float64, persons)
	for i := range theta {
		theta[i] = mean + sd*rng.NormFloat64()
	}
	m := psychometrics.Simulate3PL(rng, theta, items)
	return func(i, j int) bool { return m.At(i, j) == 1 }
}

// generating returns n 2PL items with spread slopes and difficulties.
func generating(n int) []psychometrics.Item3PL {
	out := make([]psychometrics.Item3PL, n)
	for j := range out {
		out[j] = psychometrics.Item3PL{A: 0.8 + 0.8*float64(j%5)/4, B: -1.8 + 3.6*float64(j)/float64(n-1)}
	}
	return out
}

func waitRun(t *testing.T, svc *assess.Service, id string) assess.CalibrationRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := svc.WaitCalibration(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestCalibrationRunsAreVersioned(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		b := newBank(t, db, 8)
		exam := b.exam(t, "e", []int{0, 1, 2, 3, 4, 5, 6, 7}, nil)
		actor := b.candidates(t, 1)[0]
		gen := generating(8)
		b.sit(t, exam, b.candidates(t, 400), simulate(1, 400, 0, 1, gen))

		started, err := b.svc.Calibrate(ctx, actor, exam.ID, assess.CalibrationRequest{Model: assess.Calibration2PL, Note: "  first pilot "})
		if err != nil {
			t.Fatal(err)
		}
		if started.Version != 1 || started.Note != "first pilot" || started.CreatedBy != actor {
			t.Errorf("started: got version %d, note %q, by %q; want 1, \"first pilot\", %q", started.Version, started.Note, started.CreatedBy, actor)
		}
		first := waitRun(t, b.svc, started.ID)
		if first.Status != assess.RunDone || first.Result == nil || first.FinishedAt == nil {
			t.Fatalf("first run: got status %q, error %q; want done with a result", first.Status, first.Error)
		}
		if first.Persons != 400 || first.Result.Persons != 400 || len(first.Result.Thetas) != 400 {
			t.Errorf("persons: got %d (result %d, thetas %d), want 400", first.Persons, first.Result.Persons, len(first.Result.Thetas))
		}
		if !first.Result.Converged || first.Result.Method != "mml" || first.Result.Linking != nil {
			t.Errorf("result: converged %v, method %q, linking %v; want converged mml, unlinked", first.Result.Converged, first.Result.Method, first.Result.Linking)
		}
		for j, it := range first.Result.Items {
			if it.ItemID != exam.ItemIDs[j] || math.Abs(float64(it.B)-gen[j].B) > 0.5 || it.SX2 == nil || it.Linked != nil {
				t.Errorf("item %d: got %s b=%.3f (fit %v), want %s b≈%.3f with S-X²", j, it.ItemID, it.B, it.SX2 != nil, exam.ItemIDs[j], gen[j].B)
			}
		}

		second, err := b.svc.Calibrate(ctx, actor, exam.ID, assess.CalibrationRequest{Model: assess.CalibrationRasch})
		if err != nil {
			t.Fatal(err)
		}
		second = waitRun(t, b.svc, second.ID)
		if second.Version != 2 || second.Status != assess.RunDone || second.Result.Method != "cml" || second.Result.Items[0].Infit == nil {
			t.Errorf("second: got version %d, status %q (%s), want version 2, done by CML with infit", second.Version, second.Status, second.Error)
		}
		runs, err := b.svc.CalibrationRuns(ctx, exam.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 2 || runs[0].Version != 2 || runs[1].Version != 1 {
			t.Errorf("runs: got %d, want versions 2 then 1", len(runs))
		}

		cmp, err := b.svc.CompareRuns(ctx, first.ID, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(cmp.Items) != 8 {
			t.Fatalf("compare: got %d items, want 8", len(cmp.Items))
		}
		for _, it := range cmp.Items {
			if d := it.Second.B - it.First.B; math.Abs(float64(d-it.DiffB)) > 1e-12 || it.Second.A != 1 {
				t.Errorf("compare %s: diff b %v, want %v; second a %v, want 1", it.ItemID, it.DiffB, d, it.Second.A)
			}
		}

		records, err := audit.List(db, "calibration:"+first.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		actions := map[string]bool{}
		for _, r := range records {
			actions[r.Action] = true
		}
		if !actions["calibration.run"] || !actions["calibration.done"] {
			t.Errorf("audit: got %v, want calibration.run and calibration.done", actions)
		}

		for _, tc := range []struct {
			name  string
			req   assess.CalibrationRequest
			field string
		}{
			{"unknown model", assess.CalibrationRequest{Model: "4pl"}, "model"},
			{"unknown anchor", assess.CalibrationRequest{Model: "2pl", AnchorRunID: uuid.NewString()}, "anchor_run_id"},
		} {
			_, err := b.svc.Calibrate(ctx, actor, exam.ID, tc.req)
			var v *valid.Error
			if !errors.As(err, &v) || v.Field != tc.field {
				t.Errorf("%s: got %v, want a validation error on %s", tc.name, err, tc.field)
			}
		}
		if _, err := b.svc.Calibrate(ctx, actor, uuid.NewString(), assess.CalibrationRequest{Model: "2pl"}); !errors.Is(err, assess.ErrNotFound) {
			t.Errorf("unknown exam: got %v, want ErrNotFound", err)
		}
	})
}

func TestCalibrationFailsWithoutData(t *testing.T) {
	db := dbtest.SQLite(t)
	b := newBank(t, db, 3)
	exam := b.exam(t, "e", []int{0, 1, 2}, nil)
	run, err := b.svc.Calibrate(context.Background(), "system", exam.ID, assess.CalibrationRequest{Model: assess.Calibration2PL})
	if err != nil {
		t.Fatal(err)
	}
	run = waitRun(t, b.svc, run.ID)
	if run.Status != assess.RunFailed || run.Error == "" || run.Result != nil {
		t.Errorf("got status %q, error %q; want failed with a reason", run.Status, run.Error)
	}
}

// TestCalibrationLinksPretestItems calibrates a first administration,
// then a second whose candidates are abler and more spread out (θ ~
// N(0.6, 1.25²)) and which tries out five pretest items: linked onto the
// first run's scale, the pretest items land near their generating values.
func TestCalibrationLinksPretestItems(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		b := newBank(t, db, 25)
		gen := generating(25)
		// Pretest items sit at the ends of the scale, where an unlinked
		// calibration of the second group would miss them most.
		gen[20], gen[21], gen[22], gen[23], gen[24] = psychometrics.Item3PL{A: 1.2, B: -1.5}, psychometrics.Item3PL{A: 0.9, B: -0.5},
			psychometrics.Item3PL{A: 1.4, B: 0.3}, psychometrics.Item3PL{A: 1, B: 1.2}, psychometrics.Item3PL{A: 1.1, B: 2}
		var first, second []int
		for j := range 25 {
			if j < 20 {
				first = append(first, j)
			}
			second = append(second, j)
		}
		pretest := map[int]bool{20: true, 21: true, 22: true, 23: true, 24: true}
		e1 := b.exam(t, "first", first, nil)
		e2 := b.exam(t, "second", second, pretest)
		const n = 2000
		b.sit(t, e1, b.candidates(t, n), simulate(7, n, 0, 1, gen[:20]))
		b.sit(t, e2, b.candidates(t, n), simulate(8, n, 0.6, 1.25, gen))

		anchor, err := b.svc.Calibrate(ctx, "system", e1.ID, assess.CalibrationRequest{Model: assess.Calibration2PL})
		if err != nil {
			t.Fatal(err)
		}
		if anchor = waitRun(t, b.svc, anchor.ID); anchor.Status != assess.RunDone {
			t.Fatalf("anchor run: %s", anchor.Error)
		}
		run, err := b.svc.Calibrate(ctx, "system", e2.ID, assess.CalibrationRequest{Model: assess.Calibration2PL, AnchorRunID: anchor.ID})
		if err != nil {
			t.Fatal(err)
		}
		if run = waitRun(t, b.svc, run.ID); run.Status != assess.RunDone {
			t.Fatalf("linked run: %s", run.Error)
		}
		if run.Version != 1 || run.AnchorRunID != anchor.ID {
			t.Errorf("linked run: version %d, anchor %q; want 1 (first of its exam), %q", run.Version, run.AnchorRunID, anchor.ID)
		}
		l := run.Result.Linking
		if l == nil || l.Method != "stocking-lord" || l.CommonItems != 20 || l.AnchorVersion != 1 {
			t.Fatalf("linking: got %+v, want Stocking–Lord over 20 common items", l)
		}
		if math.Abs(l.A-1.25) > 0.12 || math.Abs(l.B-0.6) > 0.12 {
			t.Errorf("linking constants: got A=%.3f B=%.3f, want ≈1.25, 0.6", l.A, l.B)
		}
		for j, it := range run.Result.Items {
			if it.Linked == nil {
				t.Fatalf("item %d: no linked parameters", j)
			}
			if it.Pretest != pretest[j] || it.Common == pretest[j] {
				t.Errorf("item %d: pretest %v common %v; want pretest %v", j, it.Pretest, it.Common, pretest[j])
			}
			if !pretest[j] {
				continue
			}
			if db, da := math.Abs(float64(it.Linked.B)-gen[j].B), math.Abs(float64(it.Linked.A)-gen[j].A); db > 0.2 || da > 0.25 {
				t.Errorf("pretest item %d: linked a=%.3f b=%.3f, want ≈ %.2f, %.2f", j, it.Linked.A, it.Linked.B, gen[j].A, gen[j].B)
			}
			if got, want := float64(it.Linked.B), l.A*float64(it.B)+l.B; math.Abs(got-want) > 1e-12 {
				t.Errorf("pretest item %d: linked b %v, want A·b + B = %v", j, got, want)
			}
		}
		rasch, err := b.svc.Calibrate(ctx, "system", e2.ID, assess.CalibrationRequest{Model: assess.CalibrationRasch, AnchorRunID: run.ID})
		if err != nil {
			t.Fatal(err)
		}
		if rasch = waitRun(t, b.svc, rasch.ID); rasch.Status != assess.RunDone || rasch.Version != 2 {
			t.Fatalf("Rasch run linked onto the 2PL run: got version %d, status %q (%s)", rasch.Version, rasch.Status, rasch.Error)
		}
		if l := rasch.Result.Linking; l == nil || l.Method != "mean" || l.A != 1 || rasch.Result.Items[0].Linked.A != 1 {
			t.Errorf("Rasch linking: got %+v, want a shift (A = 1) that keeps slopes at 1", l)
		}
	})
}

func TestStaleCalibrationRunFails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		id := "00000000-0000-0000-0002-000000000001"
		if err := db.Exec(`INSERT INTO calibration_runs (id, exam_id, version, model, status, created_at) VALUES (?, ?, 1, 'rasch', 'running', ?)`,
			id, f.exam.ID, f.clock.Now().Add(-time.Minute)).Error; err != nil {
			t.Fatal(err)
		}
		if run, err := f.svc.CalibrationRun(ctx, id); err != nil || run.Status != assess.RunRunning {
			t.Fatalf("a fresh run: %+v, %v; want it still running", run, err)
		}
		// While it runs (on whichever instance), the same model is refused;
		// another model is not.
		if _, err := f.svc.Calibrate(ctx, "system", f.exam.ID, assess.CalibrationRequest{Model: assess.CalibrationRasch}); !errors.Is(err, assess.ErrCalibrationRunning) {
			t.Fatalf("a second Rasch run while one runs: %v, want ErrCalibrationRunning", err)
		}
		other, err := f.svc.Calibrate(ctx, "system", f.exam.ID, assess.CalibrationRequest{Model: assess.Calibration2PL})
		if err != nil {
			t.Fatalf("a 2PL run while a Rasch run runs: %v", err)
		}
		waitRun(t, f.svc, other.ID)
		f.clock.Advance(time.Hour)
		// Readers on several instances find the stale run at once: it
		// fails once, audited once.
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := f.svc.CalibrationRuns(ctx, f.exam.ID); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		runs, err := f.svc.CalibrationRuns(ctx, f.exam.ID)
		if err != nil || len(runs) != 2 || runs[1].Status != assess.RunFailed || runs[1].Error == "" {
			t.Fatalf("a run an hour old with no process on it: %+v, %v; want failed with the reason", runs, err)
		}
		recs, err := audit.List(db, "calibration:"+id, 10)
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for _, r := range recs {
			if r.Action == "calibration.failed" {
				failed++
			}
		}
		if failed != 1 {
			t.Errorf("%d calibration.failed entries for the stale run, want 1", failed)
		}
		again, err := f.svc.Calibrate(ctx, "system", f.exam.ID, assess.CalibrationRequest{Model: assess.CalibrationRasch})
		if err != nil {
			t.Fatalf("a Rasch run once the stale one failed: %v", err)
		}
		waitRun(t, f.svc, again.ID)
	})
}
