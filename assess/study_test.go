package assess_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

func newPanelist(t *testing.T, db *gorm.DB, n int) string {
	t.Helper()
	id := fmt.Sprintf("00000000-0000-0000-0001-%012d", n)
	if err := db.Exec("INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)", id, fmt.Sprintf("p%d@example.com", n), fmt.Sprintf("Panelist %d", n), time.Now()).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("INSERT INTO user_roles (user_id, role) VALUES (?, 'panelist')", id).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

// sitCandidates submits one attempt for each score in scores (items
// answered correctly from the first), from new candidates numbered from
// first, and records each candidate's group as demographic "region".
func (f *fixture) sitCandidates(t *testing.T, db *gorm.DB, first int, scores []int, groups []string) {
	t.Helper()
	ctx := context.Background()
	for i, sc := range scores {
		cand := newCandidate(t, db, first+i)
		if groups != nil {
			if err := db.Exec("INSERT INTO demographics (user_id, variable, value, recorded_at) VALUES (?, 'region', ?, ?)", cand, groups[i], time.Now()).Error; err != nil {
				t.Fatal(err)
			}
		}
		a, err := f.svc.Start(ctx, f.exam.ID, cand)
		if err != nil {
			t.Fatal(err)
		}
		f.answer(t, a.ID, sc)
		if _, err := f.svc.Submit(ctx, a.ID, "candidate"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStudyRoundsFeedbackAndAdoption(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		scores := []int{0, 1, 2, 2, 3, 3, 4, 4, 5, 6}
		groups := []string{"north", "north", "north", "north", "north", "south", "south", "south", "south", "west"}
		f.sitCandidates(t, db, 100, scores, groups)
		panel := []string{newPanelist(t, db, 1), newPanelist(t, db, 2), newPanelist(t, db, 3)}
		outsider := newPanelist(t, db, 4)

		if _, err := f.svc.CreateStudy(ctx, "pm", assess.Study{ExamID: f.exam.ID, Title: "S", Method: "Nedelsky",
			Panelists: []assess.Panelist{{UserID: panel[0]}}}); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("unknown method: got %v, want a validation error", err)
		}
		if _, err := f.svc.CreateStudy(ctx, "pm", assess.Study{ExamID: f.exam.ID, Title: "S",
			Panelists: []assess.Panelist{{UserID: f.candidate}}}); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("a candidate on the panel: got %v, want a validation error", err)
		}
		st, err := f.svc.CreateStudy(ctx, "pm", assess.Study{ExamID: f.exam.ID, Title: "Two-round Angoff",
			MCC: "Can configure a network unaided.", Panelists: []assess.Panelist{{UserID: panel[0]}, {UserID: panel[1]}, {UserID: panel[2]}}})
		if err != nil {
			t.Fatal(err)
		}
		if st.PlannedRounds != 2 || st.CurrentRound != 1 || st.Method != assess.MethodModifiedAngoff || st.Panelists[0].Name != "Panelist 1" {
			t.Fatalf("study = %+v", st)
		}
		if err := f.svc.SaveRating(ctx, st.ID, outsider, f.exam.ItemIDs[0], 0.5); !errors.Is(err, assess.ErrNotPanelist) {
			t.Fatalf("outsider rates: %v, want ErrNotPanelist", err)
		}

		// Round 1: panelist p rates every item 0.3 + 0.1 p; panelist cuts
		// 1.8, 2.4 and 3.0 on six items.
		rate := func(round int, value func(p, j int) float64) {
			for p, u := range panel {
				for j, id := range f.exam.ItemIDs {
					if err := f.svc.SaveRating(ctx, st.ID, u, id, value(p, j)); err != nil {
						t.Fatalf("round %d panelist %d item %d: %v", round, p, j, err)
					}
				}
			}
		}
		if err := f.svc.SaveRating(ctx, st.ID, panel[0], f.exam.ItemIDs[0], 1.5); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("rating 1.5: %v, want a validation error", err)
		}
		if err := f.svc.SubmitRound(ctx, st.ID, panel[0]); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("submit with nothing rated: %v, want a validation error", err)
		}
		rate(1, func(p, j int) float64 { return 0.3 + 0.1*float64(p) })
		for _, u := range panel {
			if err := f.svc.SubmitRound(ctx, st.ID, u); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.svc.SaveRating(ctx, st.ID, panel[0], f.exam.ItemIDs[0], 0.9); !errors.Is(err, assess.ErrRoundSubmitted) {
			t.Fatalf("change after submitting: %v, want ErrRoundSubmitted", err)
		}
		if _, err := f.svc.OpenNextRound(ctx, "pm", st.ID); !errors.Is(err, assess.ErrConflict) {
			t.Fatalf("next round before feedback: %v, want ErrConflict", err)
		}
		if st, err = f.svc.ReleaseFeedback(ctx, "pm", st.ID); err != nil || st.ReleasedRound != 1 {
			t.Fatalf("release: %+v, %v", st, err)
		}
		fb, err := f.svc.StudyFeedback(ctx, st.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !near(fb.Result.Cut, 2.4) || !near(fb.Result.SE, 0.6/math.Sqrt(3)) || fb.Result.Complete != 3 {
			t.Fatalf("round 1 result = %+v", fb.Result)
		}
		// Candidates answer the first k items correctly: item j's p-value
		// is the share of the 10 scores above j.
		for j, it := range fb.Items {
			above := 0
			for _, sc := range scores {
				if sc > j {
					above++
				}
			}
			if !near(it.PValue, float64(above)/10) || it.N != 10 || !near(it.Mean, 0.4) || !near(it.Min, 0.3) || !near(it.Max, 0.5) {
				t.Fatalf("item %d feedback = %+v", j, it)
			}
		}
		// Pass at 2.4 means a score of 3 or more: 6 of 10; north 1 of 5,
		// south 4 of 4, west (one candidate) withheld.
		im := fb.Impact
		if im.Candidates != 10 || !near(im.PassRate, 0.6) || len(im.Groups) != 3 {
			t.Fatalf("impact = %+v", im)
		}
		if g := im.Groups[0]; g.Value != "north" || g.N != 5 || !near(g.PassRate, 0.2) {
			t.Fatalf("north = %+v", g)
		}
		if g := im.Groups[2]; g.Value != "west" || g.N != 1 || !math.IsNaN(g.PassRate) {
			t.Fatalf("west = %+v, want its rate withheld", g)
		}

		// Round 2 starts from round 1's ratings; panelist 1 revises item 1.
		if st, err = f.svc.OpenNextRound(ctx, "pm", st.ID); err != nil || st.CurrentRound != 2 {
			t.Fatalf("open round 2: %+v, %v", st, err)
		}
		_, _, work, err := f.svc.PanelistWork(ctx, st.ID, panel[0])
		if err != nil || len(work.Ratings) != 6 || !near(work.Ratings[f.exam.ItemIDs[0]], 0.3) {
			t.Fatalf("round 2 starts from round 1: %+v, %v", work, err)
		}
		if err := f.svc.SaveRating(ctx, st.ID, panel[0], f.exam.ItemIDs[0], 0.9); err != nil {
			t.Fatal(err)
		}
		for p, u := range panel {
			hof := map[string]float64{assess.JudgeHofsteeMin: 30, assess.JudgeHofsteeMax: 60, assess.JudgeHofsteeMinFR: 20, assess.JudgeHofsteeMaxFR: 50}
			for k, v := range hof {
				if err := f.svc.SaveJudgement(ctx, st.ID, u, k, v+float64(p)); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.svc.SubmitRound(ctx, st.ID, u); err != nil {
				t.Fatal(err)
			}
		}
		rec, err := f.svc.StudyRecommendation(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Panelist cuts 2.4, 2.4 and 3.0.
		wantCut := (2.4 + 2.4 + 3.0) / 3
		if len(rec.Rounds) != 2 || !near(rec.Rounds[0].Cut, 2.4) || !near(rec.Cut, wantCut) || rec.Methods[0].Method != assess.MethodModifiedAngoff {
			t.Fatalf("recommendation = %+v", rec)
		}
		if m := rec.Methods[1]; m.Method != assess.MethodHofstee || !m.Available || m.Panelists != 3 {
			t.Fatalf("Hofstee beside Angoff = %+v", m)
		}
		if rec.Reliability == 0 || rec.CSEMAtCut == nil {
			t.Fatalf("no measurement evidence at the cut: %+v", rec)
		}

		// Adoption: a different cut needs a reason; the new version decides
		// the next attempt.
		if _, err := f.svc.AdoptStandard(ctx, "pm", st.ID, assess.Adoption{Cut: 4}); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("different cut without a reason: %v", err)
		}
		if _, err := f.svc.AdoptStandard(ctx, "pm", st.ID, assess.Adoption{Cut: 4, EffectiveAt: f.clock.Now().Add(-time.Hour), Reason: "r"}); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("backdated: %v", err)
		}
		std, err := f.svc.AdoptStandard(ctx, "pm", st.ID, assess.Adoption{Cut: 4, Reason: "Raised one point: the panel's SE and the field's safety requirements."})
		if err != nil {
			t.Fatal(err)
		}
		if std.Version != 2 || std.Cut != 4 || std.RecommendedCut == nil || !near(*std.RecommendedCut, wantCut) || std.Status != assess.Approved {
			t.Fatalf("adopted = %+v", std)
		}
		if _, err := f.svc.AdoptStandard(ctx, "pm", st.ID, assess.Adoption{Cut: 4, Reason: "again"}); !errors.Is(err, assess.ErrConflict) {
			t.Fatalf("adopt twice: %v, want ErrConflict", err)
		}
		inForce, err := f.svc.ApprovedStandard(ctx, f.exam.ID)
		if err != nil || inForce.ID != std.ID {
			t.Fatalf("in force = %+v, %v", inForce, err)
		}
		cand := newCandidate(t, db, 200)
		a, err := f.svc.Start(ctx, f.exam.ID, cand)
		if err != nil {
			t.Fatal(err)
		}
		f.answer(t, a.ID, 3) // passed under version 1 (cut 3), fails under version 2
		res, err := f.svc.Submit(ctx, a.ID, "candidate")
		if err != nil {
			t.Fatal(err)
		}
		if res.Passed || res.StandardID != std.ID || res.StandardVersion != 2 {
			t.Fatalf("result = %+v, want decided by version 2", res)
		}
		for _, want := range []string{"study.create", "study.round.submit", "study.feedback.release", "study.round.open", "standard.adopt"} {
			subject := "study:" + st.ID
			if want == "standard.adopt" {
				subject = "standard:" + std.ID
			}
			recs, err := audit.List(db, subject, 100)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, r := range recs {
				found = found || r.Action == want
			}
			if !found {
				t.Errorf("no %s in the audit log of %s", want, subject)
			}
		}
	})
}

func TestAdoptedStandardWaitsForItsEffectiveDate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		f.sitCandidates(t, db, 100, []int{1, 3, 5}, nil)
		u := newPanelist(t, db, 1)
		st, err := f.svc.CreateStudy(ctx, "pm", assess.Study{ExamID: f.exam.ID, Title: "S", PlannedRounds: 1, Panelists: []assess.Panelist{{UserID: u}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range f.exam.ItemIDs {
			if err := f.svc.SaveRating(ctx, st.ID, u, id, 0.75); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.svc.SubmitRound(ctx, st.ID, u); err != nil {
			t.Fatal(err)
		}
		before, err := f.svc.ApprovedStandard(ctx, f.exam.ID)
		if err != nil {
			t.Fatal(err)
		}
		std, err := f.svc.AdoptStandard(ctx, "pm", st.ID, assess.Adoption{Cut: 4.5, EffectiveAt: f.clock.Now().Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if now, _ := f.svc.ApprovedStandard(ctx, f.exam.ID); now.ID != before.ID {
			t.Fatalf("before its date the new standard is in force: %+v", now)
		}
		f.clock.Advance(25 * time.Hour)
		if now, _ := f.svc.ApprovedStandard(ctx, f.exam.ID); now.ID != std.ID {
			t.Fatalf("after its date: in force %+v, want %s", now, std.ID)
		}
	})
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestBookmarkAndBeukStudies: a Bookmark panel marks pages of the ordered
// item booklet and a Beuk panel gives a cut and a pass rate; each study's
// cut is the one psychometrics computes from the same judgements.
func TestBookmarkAndBeukStudies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		f.sitCandidates(t, db, 100, []int{1, 2, 3, 3, 4, 5, 6}, nil)
		// Item j has b = 1 − 0.5 j: the booklet is the exam in reverse.
		var params []psychometrics.Item3PL
		for j, id := range f.exam.ItemIDs {
			p := items.Params{Model: "2PL", A: 1.2, B: 1 - 0.5*float64(j), N: 500}
			if err := f.bank.SetParams(ctx, "system", id, p); err != nil {
				t.Fatal(err)
			}
			params = append(params, psychometrics.Item3PL{A: p.A, B: p.B})
		}
		panel := []string{newPanelist(t, db, 1), newPanelist(t, db, 2), newPanelist(t, db, 3)}
		seats := []assess.Panelist{{UserID: panel[0]}, {UserID: panel[1]}, {UserID: panel[2]}}

		bm, err := f.svc.CreateStudy(ctx, "pm", assess.Study{ExamID: f.exam.ID, Title: "Bookmark", Method: assess.MethodBookmark, Panelists: seats})
		if err != nil {
			t.Fatal(err)
		}
		booklet, note, err := f.svc.OrderedBooklet(ctx, bm.ID)
		if err != nil || note != "" || len(booklet) != 6 || booklet[0].ItemID != f.exam.ItemIDs[5] || booklet[5].ItemID != f.exam.ItemIDs[0] {
			t.Fatalf("booklet %+v (%q, %v), want the items from easiest to hardest", booklet, note, err)
		}
		if err := f.svc.SaveRating(ctx, bm.ID, panel[0], f.exam.ItemIDs[0], 0.5); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("a rating in a Bookmark study: %v", err)
		}
		if err := f.svc.SaveJudgement(ctx, bm.ID, panel[0], assess.JudgeBookmark, 1); !errors.Is(err, valid.ErrInvalid) {
			t.Fatalf("a bookmark on page 1: %v", err)
		}
		pages := []int{3, 4, 4}
		for i, u := range panel {
			if err := f.svc.SaveJudgement(ctx, bm.ID, u, assess.JudgeBookmark, float64(pages[i])); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.SubmitRound(ctx, bm.ID, u); err != nil {
				t.Fatal(err)
			}
		}
		want, err := psychometrics.Bookmark(params, pages, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := f.svc.StudyRecommendation(ctx, bm.ID)
		if err != nil || !near(rec.Cut, want.Cut) || rec.Rounds[0].Complete != 3 {
			t.Fatalf("Bookmark recommendation %+v (%v), want cut %v", rec, err, want.Cut)
		}

		bk, err := f.svc.CreateStudy(ctx, "pm", assess.Study{ExamID: f.exam.ID, Title: "Beuk", Method: assess.MethodBeuk, Panelists: seats})
		if err != nil {
			t.Fatal(err)
		}
		var judged []psychometrics.BeukJudgement
		for i, u := range panel {
			cut, rate := 40+10*float64(i), 70-5*float64(i)
			if err := f.svc.SaveJudgement(ctx, bk.ID, u, assess.JudgeBeukCut, cut); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.SubmitRound(ctx, bk.ID, u); !errors.Is(err, valid.ErrInvalid) {
				t.Fatalf("submit without the pass rate: %v", err)
			}
			if err := f.svc.SaveJudgement(ctx, bk.ID, u, assess.JudgeBeukPassRate, rate); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.SubmitRound(ctx, bk.ID, u); err != nil {
				t.Fatal(err)
			}
			judged = append(judged, psychometrics.BeukJudgement{Cut: cut / 100 * 6, PassRate: rate / 100})
		}
		// The seven candidates' scores, from the stored responses.
		x, _, err := f.svc.ResponseMatrix(ctx, f.exam.ID)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := x.Dims()
		scores := make([]float64, n)
		for i := range n {
			scores[i] = mat.Sum(x.RowView(i))
		}
		wantBeuk, err := psychometrics.Beuk(judged, scores)
		if err != nil {
			t.Fatal(err)
		}
		rec, err = f.svc.StudyRecommendation(ctx, bk.ID)
		if err != nil || !near(rec.Cut, wantBeuk.Cut) || !near(rec.Methods[0].PassRate, 1-psychometrics.Impact(scores, wantBeuk.Cut)) {
			t.Fatalf("Beuk recommendation %+v (%v), want cut %v", rec, err, wantBeuk.Cut)
		}
	})
}
