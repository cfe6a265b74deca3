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
	"github.com/touchstone-assess/touchstone/items"
)

// TestRekeyRescoresExactlyTheAffectedAttempts plants a miskeyed item: the
// published key of the first item is wrong, and what the fixture calls its
// "wrong" option is in truth the right one. A rekey must re-score exactly
// the submitted attempts that answered the item, decide them by the
// standard they cite, and tell OnRescore about those whose result changed.
func TestRekeyRescoresExactlyTheAffectedAttempts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		item := f.exam.ItemIDs[0]
		current, err := f.bank.Current(ctx, []string{item})
		if err != nil {
			t.Fatal(err)
		}
		version := current[0]
		corrected := version.Content
		corrected.Key = f.wrong[item]

		var changed []string
		f.svc.OnRescore = func(_ context.Context, r assess.Rescore) (string, error) {
			changed = append(changed, r.After.AttemptID)
			return "", nil
		}
		submit := func(n, correct int) assess.Result {
			a, err := f.svc.Start(ctx, f.exam.ID, newCandidate(t, db, n))
			if err != nil {
				t.Fatal(err)
			}
			f.answer(t, a.ID, correct)
			r, err := f.svc.Submit(ctx, a.ID, "candidate")
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		atCut := submit(201, 3)     // item 1 "right": 3, a pass; after the rekey 2, a fail
		allRight := submit(202, 6)  // 6 → 5, still a pass
		noneRight := submit(203, 0) // item 1 "wrong": 0 → 1, still a fail
		// A pilot attempt recorded without a decision: a rekey must not
		// decide it (nor credential it) against today's standard.
		pilot := newCandidate(t, db, 205)
		if err := f.svc.RecordHistory(ctx, f.exam.ID, []assess.PastAttempt{{CandidateID: pilot,
			StartedAt: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), SubmittedAt: time.Date(2026, 1, 5, 9, 20, 0, 0, time.UTC),
			Answers: map[string]string{item: f.wrong[item]}}}, true); err != nil {
			t.Fatal(err)
		}
		open, err := f.svc.Start(ctx, f.exam.ID, newCandidate(t, db, 204))
		if err != nil {
			t.Fatal(err)
		}

		want := map[string]struct {
			before, after float64
			passed        bool
		}{atCut.AttemptID: {3, 2, false}, allRight.AttemptID: {6, 5, true}, noneRight.AttemptID: {0, 1, false}}

		preview, err := f.svc.RekeyImpact(ctx, version.VersionID, corrected)
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, got []assess.Rescore) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: %d attempts, want %d (the open attempt is not scored)", what, len(got), len(want))
			}
			for _, r := range got {
				w, ok := want[r.After.AttemptID]
				if !ok || r.Before.Score != w.before || r.After.Score != w.after || r.After.Passed != w.passed {
					t.Errorf("%s: attempt %s %v → %v (passed %v), want %+v", what, r.After.AttemptID, r.Before.Score, r.After.Score, r.After.Passed, w)
				}
				if r.After.StandardID != r.Before.StandardID {
					t.Errorf("%s: the re-score changed the standard the decision cites", what)
				}
			}
		}
		check("preview", preview)
		if r, err := f.svc.Result(ctx, atCut.AttemptID); err != nil || r.Score != 3 || !r.Passed {
			t.Fatalf("after the preview the attempt is %v (err %v), want it untouched", r, err)
		}
		if len(changed) != 0 {
			t.Fatal("the preview announced re-scores")
		}

		if _, err := f.svc.Rekey(ctx, "psychometrician", version.VersionID, corrected, ""); err == nil {
			t.Error("a rekey without a reason was accepted")
		}
		bad := corrected
		bad.Stem += " (edited)"
		if _, err := f.svc.Rekey(ctx, "psychometrician", version.VersionID, bad, "typo"); !errors.Is(err, items.ErrRekeyChangesItem) {
			t.Errorf("a rekey that changes the stem: %v, want ErrRekeyChangesItem", err)
		}

		applied, err := f.svc.Rekey(ctx, "psychometrician", version.VersionID, corrected, "option B is correct per the 2026 reference")
		if err != nil {
			t.Fatal(err)
		}
		check("rekey", applied)
		if len(changed) != 3 {
			t.Errorf("OnRescore heard of %v, want the three changed attempts", changed)
		}
		for id, w := range want {
			r, err := f.svc.Result(ctx, id)
			if err != nil || r.Score != w.after || r.Passed != w.passed {
				t.Errorf("stored result of %s: %+v (err %v), want %+v", id, r, err, w)
			}
		}
		// The pilot's answer is re-marked with the corrected key, so that
		// item statistics see it, and the pilot stays undecided.
		var pilotRow struct {
			Correct    *bool
			Score      *float64
			StandardID *string
			Passed     *bool
		}
		if err := db.Raw(`SELECT responses.correct, attempts.score, attempts.standard_id, attempts.passed FROM responses
			JOIN attempts ON attempts.id = responses.attempt_id WHERE attempts.candidate_id = ? AND responses.item_id = ?`, pilot, item).Scan(&pilotRow).Error; err != nil {
			t.Fatal(err)
		}
		if pilotRow.Correct == nil || !*pilotRow.Correct || pilotRow.Score == nil || *pilotRow.Score != 1 || pilotRow.StandardID != nil || pilotRow.Passed != nil {
			t.Errorf("pilot after the rekey: %+v, want its answer marked right, score 1, and no decision", pilotRow)
		}
		if a, err := f.svc.Attempt(ctx, open.ID); err != nil || a.Status == assess.Submitted {
			t.Errorf("the open attempt: %+v (err %v)", a, err)
		}
		records, err := audit.NewReader(db).List(ctx, "attempt:"+atCut.AttemptID, 10)
		if err != nil || len(records) == 0 || records[0].Action != "attempt.rescore" {
			t.Errorf("audit of the re-scored attempt: %v (err %v)", records, err)
		}
		itemAudit, err := audit.NewReader(db).List(ctx, "item:"+item, 10)
		if err != nil || len(itemAudit) == 0 || itemAudit[0].Action != "item.rekey" {
			t.Errorf("audit of the rekeyed item: %v (err %v)", itemAudit, err)
		}
	})
}
