package assess_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// patterns are the answers of eight candidates to the fixture's six items:
// '1' the key, '0' the distractor, '-' no answer.
var patterns = []string{
	"111111", "111110", "110101", "101100",
	"011010", "110000", "10-000", "010001",
}

// takeAll starts, answers and submits one attempt per pattern, the first
// half on one day and the second half the next.
func takeAll(t *testing.T, db *gorm.DB, f *fixture) []time.Time {
	t.Helper()
	ctx := context.Background()
	var submitted []time.Time
	for i, p := range patterns {
		if i == len(patterns)/2 {
			f.clock.Advance(24 * time.Hour)
		}
		a, err := f.svc.Start(ctx, f.exam.ID, newCandidate(t, db, 200+i))
		if err != nil {
			t.Fatal(err)
		}
		for j, id := range f.exam.ItemIDs {
			var choice string
			switch p[j] {
			case '1':
				choice = f.keys[id]
			case '0':
				choice = f.wrong[id]
			default:
				continue
			}
			if _, err := f.svc.SaveResponse(ctx, a.ID, id, assess.ResponseUpdate{Answer: &items.Answer{Choice: choice}}); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Advance(10 * time.Minute)
		if _, err := f.svc.Submit(ctx, a.ID, "candidate"); err != nil {
			t.Fatal(err)
		}
		submitted = append(submitted, f.clock.Now())
	}
	return submitted
}

// want builds the score matrix and choices of the patterns independently
// of the store.
func want(ps []string) (*mat.Dense, [][]string) {
	x := mat.NewDense(len(ps), len(ps[0]), nil)
	choices := make([][]string, len(ps))
	for i, p := range ps {
		choices[i] = make([]string, len(p))
		for j, c := range p {
			switch c {
			case '1':
				x.Set(i, j, 1)
				choices[i][j] = "A"
			case '0':
				choices[i][j] = "B"
			}
		}
	}
	return x, choices
}

func sameNum(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func TestAnalyseMatchesThePsychometricsOfTheResponses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		empty, err := f.svc.Analyse(ctx, f.exam.ID, assess.AnalysisFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if empty.Analysed() || empty.Standard == nil || empty.Cut != 3 {
			t.Fatalf("before any attempt: got analysed %v, standard %v, cut %v; want no statistics and the cut 3", empty.Analysed(), empty.Standard, empty.Cut)
		}
		submitted := takeAll(t, db, f)

		a, err := f.svc.Analyse(ctx, f.exam.ID, assess.AnalysisFilter{})
		if err != nil {
			t.Fatal(err)
		}
		x, choices := want(patterns)
		if len(a.Attempts) != len(patterns) || len(a.Items) != 6 {
			t.Fatalf("got %d attempts × %d items, want %d × 6", len(a.Attempts), len(a.Items), len(patterns))
		}
		if !mat.Equal(a.Scores, x) {
			t.Errorf("scores:\n got %v\nwant %v", mat.Formatted(a.Scores), mat.Formatted(x))
		}
		for i := range choices {
			if !slices.Equal(a.Choices[i], choices[i]) {
				t.Errorf("attempt %d: got choices %q, want %q", i, a.Choices[i], choices[i])
			}
		}
		for j, it := range a.Items {
			if it.Item.ID != f.exam.ItemIDs[j] || !it.Choice || it.Key != "A" || !slices.Equal(it.Labels, []string{"A", "B"}) {
				t.Errorf("item %d: got %s choice %v key %q labels %q, want %s, a choice item keyed A of A, B", j, it.Item.ID, it.Choice, it.Key, it.Labels, f.exam.ItemIDs[j])
			}
		}

		ts := psychometrics.TestAnalysis(x)
		if !sameNum(a.Test.Alpha, ts.Alpha) || !sameNum(a.Test.SEM, ts.SEM) || a.Test.N != 8 || a.Test.Mean != ts.Mean {
			t.Errorf("test: got %+v, want %+v", a.Test, ts)
		}
		stats := psychometrics.ItemAnalysis(x)
		opts := psychometrics.OptionAnalysis(choices, []string{"A", "A", "A", "A", "A", "A"}, psychometrics.FlagRules{})
		for j, it := range a.Items {
			s := stats[j]
			if !sameNum(it.Stats.Mean, s.Mean) || !sameNum(it.Stats.PointBiserial, s.PointBiserial) || !sameNum(it.Stats.ItemRest, s.ItemRest) ||
				!sameNum(it.Stats.AlphaIfDeleted, s.AlphaIfDeleted) {
				t.Errorf("item %d: got %+v, want %+v", j, it.Stats, s)
			}
			if len(it.Option.Options) != len(opts[j].Options) || it.Option.Missing.Count != opts[j].Missing.Count {
				t.Errorf("item %d options: got %+v, want %+v", j, it.Option, opts[j])
			}
			for o, os := range opts[j].Options {
				got := it.Option.Options[o]
				if got.Option != os.Option || got.Count != os.Count || !sameNum(got.PointBiserial, os.PointBiserial) || got.Groups != os.Groups && !slices.EqualFunc(got.Groups[:], os.Groups[:], sameNum) {
					t.Errorf("item %d option %s: got %+v, want %+v", j, os.Option, got, os)
				}
			}
		}
		if a.Items[2].Option.Missing.Count != 1 {
			t.Errorf("item 3: got %d without an answer, want 1", a.Items[2].Option.Missing.Count)
		}

		totals := []float64{6, 5, 4, 3, 3, 2, 1, 2}
		if !slices.Equal(a.Totals, totals) {
			t.Errorf("totals: got %v, want %v", a.Totals, totals)
		}
		if a.Cut != 3 || a.PassRate != 5.0/8 {
			t.Errorf("cut %v pass rate %v, want 3 and 5/8", a.Cut, a.PassRate)
		}
		if want := psychometrics.LordCSEM(3, 6); a.CSEMAtCut != want {
			t.Errorf("CSEM at the cut: got %v, want %v", a.CSEMAtCut, want)
		}
		sub, err := psychometrics.Subkoviak(totals, 6, 3, ts.Alpha)
		if err != nil || a.Subkoviak.Err != "" || a.Subkoviak.Agreement != sub.Agreement || a.Subkoviak.Kappa != sub.Kappa {
			t.Errorf("Subkoviak: got %+v, want %+v (%v)", a.Subkoviak, sub, err)
		}
		ll, err := psychometrics.LivingstonLewis(totals, 0, 6, ts.Alpha, 3)
		if (err == nil) != (a.LivingstonLewis.Err == "") || err == nil && a.LivingstonLewis.Accuracy != ll.Accuracy {
			t.Errorf("Livingston–Lewis: got %+v, want %+v (%v)", a.LivingstonLewis, ll, err)
		}

		// The window of the second day holds the last four attempts.
		day2 := submitted[len(patterns)/2].Add(-time.Minute)
		w, err := f.svc.Analyse(ctx, f.exam.ID, assess.AnalysisFilter{From: day2, To: day2.Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(w.Attempts, a.Attempts[4:]) || !slices.Equal(w.Totals, totals[4:]) {
			t.Errorf("second day: got attempts %v totals %v, want %v %v", w.Attempts, w.Totals, a.Attempts[4:], totals[4:])
		}
		none, err := f.svc.Analyse(ctx, f.exam.ID, assess.AnalysisFilter{To: submitted[0].Add(-time.Hour)})
		if err != nil || none.Analysed() {
			t.Errorf("window before any attempt: got analysed %v, err %v; want no statistics", none != nil && none.Analysed(), err)
		}

		for name, fl := range map[string]assess.AnalysisFilter{
			"unknown form":      {FormID: "no-such-form"},
			"window end before": {From: day2, To: day2.Add(-time.Hour)},
		} {
			if _, err := f.svc.Analyse(ctx, f.exam.ID, fl); !errors.Is(err, valid.ErrInvalid) {
				t.Errorf("%s: got %v, want a validation error", name, err)
			}
		}
		if _, err := f.svc.Analyse(ctx, "00000000-0000-0000-0000-00000000ffff", assess.AnalysisFilter{}); !errors.Is(err, assess.ErrNotFound) {
			t.Errorf("unknown exam: got %v, want ErrNotFound", err)
		}
	})
}
