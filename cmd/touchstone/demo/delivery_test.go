package demo_test

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/cmd/touchstone/demo"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// generating returns the 3PL parameters spreadsheet.json gives the items
// of the fixed exams, in exam and item order.
func generating(t *testing.T) []psychometrics.Item3PL {
	t.Helper()
	raw, err := os.ReadFile("spreadsheet.json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Exams []struct {
			Items []struct{ IRT psychometrics.Item3PL }
		}
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	var out []psychometrics.Item3PL
	for _, e := range c.Exams {
		for _, it := range e.Items {
			out = append(out, it.IRT)
		}
	}
	return out
}

// bank returns the current items of the fixed exams, in exam and item
// order.
func bank(t *testing.T, d demo.Deps, fixed []assess.Exam) []items.Item {
	t.Helper()
	var out []items.Item
	for _, e := range fixed {
		its, err := d.Items.Current(context.Background(), e.ItemIDs)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, its...)
	}
	return out
}

// checkCalibration checks that every bank item carries 3PL parameters
// from the pilot that recover the generating ones, on their scale (so the
// three exams share one θ scale), and that the fixed exams report on the
// θ-based scale.
func checkCalibration(t *testing.T, d demo.Deps, fixed []assess.Exam, history int) {
	truth := generating(t)
	its := bank(t, d, fixed)
	if len(its) != len(truth) {
		t.Fatalf("%d bank items, want %d", len(its), len(truth))
	}
	var errA, errB, errC, meanB, meanTrueB float64
	for j, it := range its {
		p := it.Params
		if p == nil {
			t.Fatalf("item %d is not calibrated", j+1)
		}
		if p.Model != "3PL" || p.N != history {
			t.Errorf("item %d: model %s, N %d; want 3PL, N %d", j+1, p.Model, p.N, history)
		}
		errA += math.Abs(p.A-truth[j].A) / float64(len(its))
		errB += math.Abs(p.B-truth[j].B) / float64(len(its))
		errC += math.Abs(p.C-truth[j].C) / float64(len(its))
		meanB += p.B / float64(len(its))
		meanTrueB += truth[j].B / float64(len(its))
	}
	t.Logf("mean absolute error: a %.3f, b %.3f, c %.3f; mean b %.3f (generating %.3f)", errA, errB, errC, meanB, meanTrueB)
	if errA > 0.25 || errB > 0.25 || errC > 0.06 {
		t.Errorf("mean absolute errors a %.3f, b %.3f, c %.3f; want at most 0.25, 0.25, 0.06", errA, errB, errC)
	}
	if math.Abs(meanB-meanTrueB) > 0.15 {
		t.Errorf("mean b = %.3f, generating %.3f: the calibration is off the generating scale", meanB, meanTrueB)
	}
	for _, e := range fixed {
		if e.Scale.Basis != assess.ScaleTheta || e.Scale.Min != 200 || e.Scale.Max != 800 || e.Scale.Step != 10 {
			t.Errorf("%s scale = %+v, want θ-based 200–800 by 10", e.Slug, e.Scale)
		}
	}
}

// answerFor returns an answer to it: the key when correct, else a wrong
// choice (single choice items only are wrong).
func answerFor(rng *rand.Rand, it items.Item, correct bool) items.Answer {
	if correct {
		return keyAnswer(it.Content)
	}
	var wrong []string
	for _, o := range it.Options {
		if o.ID != it.Key {
			wrong = append(wrong, o.ID)
		}
	}
	return items.Answer{Choice: wrong[rng.IntN(len(wrong))]}
}

// keyAnswer returns the fully correct answer to an item of any kind.
func keyAnswer(c items.Content) items.Answer {
	switch c.ItemKind() {
	case items.MultipleResponse, items.Ordering:
		return items.Answer{Choices: c.Keys}
	case items.Numeric:
		return items.Answer{Text: strconv.FormatFloat(c.Numeric.Value, 'f', -1, 64)}
	case items.ShortText:
		return items.Answer{Text: " " + c.Accepted[0] + " "}
	case items.Matching:
		return items.Answer{Pairs: c.Pairs}
	}
	return items.Answer{Choice: c.Key}
}

func checkStandard(t *testing.T, d demo.Deps, e assess.Exam, ratedItems int) assess.Standard {
	t.Helper()
	std, err := d.Assess.ApprovedStandard(context.Background(), e.ID)
	if err != nil {
		t.Fatalf("ApprovedStandard: %v", err)
	}
	if std.MaxScore != float64(ratedItems) || std.Panelists != demo.PanelSize {
		t.Errorf("standard over %v items by %d panelists, want %d by %d", std.MaxScore, std.Panelists, ratedItems, demo.PanelSize)
	}
	// The pilot data give the decision's accuracy; Lord's CSEM at the cut
	// needs only the form's length.
	if std.DecisionConsistency > 0 && (std.ClassificationAccuracy == nil || *std.ClassificationAccuracy < std.DecisionConsistency || *std.ClassificationAccuracy > 1) {
		t.Errorf("classification accuracy %v, want one between the decision consistency %v and 1", std.ClassificationAccuracy, std.DecisionConsistency)
	}
	if want := psychometrics.LordCSEM(std.Cut, ratedItems); std.CSEMAtCut == nil || math.Abs(*std.CSEMAtCut-want) > 1e-12 {
		t.Errorf("CSEM at the cut %v, want Lord's %v", std.CSEMAtCut, want)
	}
	return std
}

// checkAdaptive takes the adaptive exam as a simulated candidate of θ = 0.3
// answering by the calibrated model, and checks that it ends by the SE
// rule or the maximum length, spans the bank's content areas and is
// decided on θ against a cut near the panels' minimally competent θ.
func checkAdaptive(t *testing.T, d demo.Deps, e assess.Exam, fixed []assess.Exam, candidate auth.User) {
	ctx := context.Background()
	if e.Mode != assess.ModeCAT || e.CAT.SETarget != demo.CATSETarget || e.CAT.MinItems != demo.CATMinItems || e.CAT.MaxItems != demo.CATMaxItems {
		t.Errorf("mode %s with %+v, want cat with SE %v, %d to %d items", e.Mode, e.CAT, demo.CATSETarget, demo.CATMinItems, demo.CATMaxItems)
	}
	its := bank(t, d, fixed)
	if len(e.ItemIDs) != len(its) {
		t.Errorf("pool of %d items, want the %d of the bank", len(e.ItemIDs), len(its))
	}
	var weights float64
	for _, dm := range e.Domains {
		weights += dm.Weight
	}
	if len(e.Domains) != 9 || math.Abs(weights-1) > 1e-9 {
		t.Errorf("%d domains with weights summing to %v, want the 9 of the bank summing to 1", len(e.Domains), weights)
	}
	checkStandard(t, d, e, len(its))
	byID := map[string]items.Item{}
	for _, it := range its {
		byID[it.ID] = it
	}

	const theta = 0.3
	rng := rand.New(rand.NewPCG(1, 1))
	a, err := d.Assess.Start(ctx, e.ID, candidate.ID)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if a.Mode != assess.ModeCAT {
		t.Errorf("attempt mode %s, want cat", a.Mode)
	}
	for range demo.CATMaxItems + 1 {
		qs, err := d.Assess.Questions(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		it := byID[qs[len(qs)-1].ItemID]
		p := psychometrics.Item3PL{A: it.Params.A, B: it.Params.B, C: it.Params.C}
		ans := answerFor(rng, it, rng.Float64() < p.P(theta))
		if _, err := d.Assess.SaveResponse(ctx, a.ID, it.ID, assess.ResponseUpdate{Answer: &ans, Seq: 1}); err != nil {
			t.Fatalf("SaveResponse: %v", err)
		}
		next, err := d.Assess.Next(ctx, a.ID)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if next.Done {
			break
		}
	}
	qs, err := d.Assess.Questions(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Assess.Submit(ctx, a.ID, "candidate")
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	n := len(qs)
	if res.Theta == nil || res.ThetaSE == nil || res.ThetaCut == nil {
		t.Fatalf("result without θ, SE or θ cut: %+v", res)
	}
	t.Logf("%d items, θ = %.2f (SE %.2f), θ cut %.2f, scaled %v (cut %v)", n, *res.Theta, *res.ThetaSE, *res.ThetaCut, res.ScaledScore, res.ScaledCut)
	switch {
	case n < demo.CATMinItems || n > demo.CATMaxItems:
		t.Errorf("the test gave %d items, want %d to %d", n, demo.CATMinItems, demo.CATMaxItems)
	case n < demo.CATMaxItems && *res.ThetaSE > demo.CATSETarget+0.01:
		t.Errorf("the test ended after %d items with SE %.3f, above the target %v", n, *res.ThetaSE, demo.CATSETarget)
	}
	exams := map[string]bool{}
	for _, q := range qs {
		exams[q.Domain[:1]] = true // F-, P- and C- domains
	}
	if len(exams) != 3 {
		t.Errorf("the items came from the areas %v, want all three badges' areas", exams)
	}
	if math.Abs(*res.ThetaCut-demo.MinimallyCompetentTheta) > 0.3 {
		t.Errorf("θ cut = %.3f, want near the panels' minimally competent θ %v", *res.ThetaCut, demo.MinimallyCompetentTheta)
	}
	if res.Passed != (*res.Theta >= *res.ThetaCut) {
		t.Errorf("passed = %v with θ %.3f and θ cut %.3f", res.Passed, *res.Theta, *res.ThetaCut)
	}
	if res.Scale.Basis != assess.ScaleTheta || res.ScaledScore < 200 || res.ScaledScore > 800 || math.Mod(res.ScaledScore, 10) != 0 {
		t.Errorf("scaled score %v on %+v, want a multiple of 10 in 200–800 on the θ scale", res.ScaledScore, res.Scale)
	}
}

// checkLOFT starts the on-the-fly exam for two candidates and checks each
// form against the blueprint counts and the enemy pairs.
func checkLOFT(t *testing.T, d demo.Deps, e assess.Exam, fixed []assess.Exam, candidates ...auth.User) {
	ctx := context.Background()
	if e.Mode != assess.ModeLOFT || !(e.LOFT.MaxExposure > 0) {
		t.Errorf("mode %s with %+v, want loft with a max exposure", e.Mode, e.LOFT)
	}
	want, total := map[string]int{}, 0
	for _, dm := range e.Domains {
		want[dm.Code] = dm.Count
		total += dm.Count
	}
	if total != 20 {
		t.Errorf("blueprint counts sum to %d, want 20", total)
	}
	its := bank(t, d, fixed)
	checkStandard(t, d, e, len(its))
	enemies, err := d.Items.Enemies(ctx, e.ItemIDs)
	if err != nil {
		t.Fatal(err)
	}
	pairs := 0
	for _, en := range enemies {
		pairs += len(en)
	}
	if pairs/2 < 2 {
		t.Errorf("%d enemy pairs in the bank, want at least 2", pairs/2)
	}
	var forms [][]string
	for _, c := range candidates {
		a, err := d.Assess.Start(ctx, e.ID, c.ID)
		if err != nil {
			t.Fatalf("Start for %s: %v", c.Email, err)
		}
		qs, err := d.Assess.Questions(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, on := map[string]int{}, map[string]bool{}
		var ids []string
		for _, q := range qs {
			got[q.Domain]++
			on[q.ItemID] = true
			ids = append(ids, q.ItemID)
		}
		for code, n := range want {
			if got[code] != n {
				t.Errorf("%s's form has %d items of %s, want %d", c.Email, got[code], code, n)
			}
		}
		if len(qs) != 20 || len(on) != 20 {
			t.Errorf("%s's form has %d items (%d distinct), want 20", c.Email, len(qs), len(on))
		}
		for id, en := range enemies {
			for _, other := range en {
				if on[id] && on[other] {
					t.Errorf("%s's form holds the enemies %s and %s", c.Email, id, other)
				}
			}
		}
		forms = append(forms, ids)
		if _, err := d.Assess.Submit(ctx, a.ID, "candidate"); err != nil {
			t.Fatalf("Submit: %v", err)
		}
	}
	if len(forms) == 2 && slices.Equal(forms[0], forms[1]) {
		t.Error("two candidates got the same form")
	}
}

// checkItemTypes checks the two parallel forms, then takes the exam twice:
// the first form answered correctly everywhere passes with full marks,
// and the retake delivers the other form.
func checkItemTypes(t *testing.T, d demo.Deps, e assess.Exam, candidate auth.User) {
	ctx := context.Background()
	if e.Mode != assess.ModeFixed || len(e.Forms) != 2 || !e.Policy.DifferentFormOnRetake || e.Instructions == "" {
		t.Fatalf("mode %s with %d forms, different form on retake %v, instructions %q; want fixed, 2, true and some",
			e.Mode, len(e.Forms), e.Policy.DifferentFormOnRetake, e.Instructions)
	}
	current, err := d.Items.Current(ctx, e.ItemIDs)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]items.Item{}
	for _, it := range current {
		byID[it.ID] = it
	}
	allKinds := []items.Kind{items.Matching, items.MultipleResponse, items.Numeric, items.Ordering, items.ShortText, items.SingleChoice, items.TrueFalse}
	for _, f := range e.Forms {
		if len(f.Sections) != 2 || f.Sections[0].Instructions == "" || f.Sections[1].Instructions == "" {
			t.Errorf("form %s: %d sections, want 2 with instructions", f.Name, len(f.Sections))
		}
		var kinds []items.Kind
		pretest := 0
		for _, sec := range f.Sections {
			for _, fi := range sec.Items {
				it := byID[fi.ItemID]
				if fi.Pretest {
					pretest++
					continue
				}
				kinds = append(kinds, it.ItemKind())
				if it.Scoring != "" && it.Scoring != items.Partial {
					t.Errorf("form %s: %s item scored %s", f.Name, it.ItemKind(), it.Scoring)
				}
			}
		}
		slices.Sort(kinds)
		if !slices.Equal(kinds, allKinds) || pretest != 1 {
			t.Errorf("form %s holds the kinds %v and %d pretest items, want one of each of %v and 1", f.Name, kinds, pretest, allKinds)
		}
	}
	checkStandard(t, d, e, len(e.ItemIDs))

	var sat []string
	for round := range 2 {
		a, err := d.Assess.Start(ctx, e.ID, candidate.ID)
		if err != nil {
			t.Fatalf("Start %d: %v", round+1, err)
		}
		sat = append(sat, a.FormID)
		qs, err := d.Assess.Questions(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range qs {
			ans := keyAnswer(byID[q.ItemID].Content)
			if _, err := d.Assess.SaveResponse(ctx, a.ID, q.ItemID, assess.ResponseUpdate{Answer: &ans, Seq: 1}); err != nil {
				t.Fatalf("SaveResponse to a %s item: %v", byID[q.ItemID].ItemKind(), err)
			}
		}
		res, err := d.Assess.Submit(ctx, a.ID, "candidate")
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		if !res.Passed || res.Score != 7 || res.MaxScore != 7 {
			t.Errorf("round %d: passed %v with %v of %v, want a pass with 7 of 7 (the pretest item not counted)", round+1, res.Passed, res.Score, res.MaxScore)
		}
	}
	if sat[0] == "" || sat[0] == sat[1] {
		t.Errorf("the candidate sat forms %q, want two different forms", sat)
	}
}

// checkAccommodation checks the second candidate's accommodation and that
// an attempt started under it gets the extra time and breaks.
func checkAccommodation(t *testing.T, d demo.Deps, e assess.Exam, candidate, manager auth.User) {
	ctx := context.Background()
	acc, err := d.Assess.Accommodation(ctx, e.ID, candidate.ID)
	if err != nil {
		t.Fatalf("Accommodation: %v", err)
	}
	if acc.TimeMultiplier != 1.5 || acc.ExtraBreak != 10*time.Minute || acc.GrantedBy != manager.ID || acc.Note == "" {
		t.Errorf("accommodation %+v, want ×1.5 and 10 minutes of breaks granted by the manager with a note", acc)
	}
	a, err := d.Assess.Start(ctx, e.ID, candidate.ID)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if got, want := a.Deadline.Sub(a.StartedAt), time.Duration(1.5*float64(e.Duration)); got != want || a.BreakAllowance != 10*time.Minute {
		t.Errorf("attempt of %v with %v of breaks, want %v and 10m0s", got, a.BreakAllowance, want)
	}
	if _, err := d.Assess.Submit(ctx, a.ID, "candidate"); err != nil {
		t.Fatalf("Submit: %v", err)
	}
}
