package web_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/award"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// approvedExam creates e on the fixture's program with the fixture's items
// (unless e names its own) and approves a standard of half the pool.
func approvedExam(t *testing.T, f *webtest.Fixture, e assess.Exam) assess.Exam {
	t.Helper()
	ctx := context.Background()
	e.ProgramID = f.Program.ID
	e.Slug, e.Title, e.Duration = "e-"+uuid.NewString()[:8], "Second exam", 20*time.Minute
	if e.ItemIDs == nil {
		e.ItemIDs = f.Exam.ItemIDs
	}
	if e.Domains == nil {
		e.Domains = f.Exam.Domains
	}
	e, err := f.Assess.CreateExam(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	study, err := f.Assess.CreateStudy(ctx, f.Users.Psychometrician.ID, assess.Study{ExamID: e.ID, Title: "S",
		Panelists: []assess.Panelist{{Name: "A"}, {Name: "B"}}})
	if err != nil {
		t.Fatal(err)
	}
	var ratings []assess.Rating
	for _, p := range study.Panelists {
		for _, id := range e.ItemIDs {
			ratings = append(ratings, assess.Rating{PanelistID: p.ID, ItemID: id, Round: 1, Value: 0.5})
		}
	}
	if err := f.Assess.RecordRatings(ctx, study.ID, ratings); err != nil {
		t.Fatal(err)
	}
	std, err := f.Assess.ProposeStandard(ctx, f.Users.Psychometrician.ID, study.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Assess.ApproveStandard(ctx, f.Users.Manager.ID, std.ID); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAPIResponsesBySeq(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		token := f.Token(t, f.Users.Candidate)
		a := apiStart(t, f, token)
		item := a.Items[0].ID
		put := func(body any) (saved struct {
			ItemID  string `json:"item_id"`
			Seq     int64  `json:"seq"`
			Applied bool   `json:"applied"`
		}) {
			t.Helper()
			resp := apiCall(t, f, apiReq("PUT", "/api/v1/attempts/"+a.ID+"/responses/"+item, token, body))
			wantAPIStatus(t, resp, http.StatusOK)
			resp.JSON(t, &saved)
			return saved
		}
		for _, tc := range []struct {
			name        string
			body        map[string]any
			wantApplied bool
			wantSeq     int64
			wantChoice  string
			wantFlagged bool
		}{
			{"first", map[string]any{"answer": map[string]any{"choice": f.Wrong[item]}, "seq": 3}, true, 3, f.Wrong[item], false},
			{"replayed", map[string]any{"answer": map[string]any{"choice": f.Wrong[item]}, "seq": 3}, false, 3, f.Wrong[item], false},
			{"out of order", map[string]any{"answer": map[string]any{"choice": f.Keys[item]}, "seq": 2}, false, 3, f.Wrong[item], false},
			{"flag only keeps the answer", map[string]any{"flagged": true, "seq": 4}, true, 4, f.Wrong[item], true},
			{"newer", map[string]any{"answer": map[string]any{"choice": f.Keys[item]}, "seq": 5}, true, 5, f.Keys[item], true},
			{"null clears", map[string]any{"answer": nil, "seq": 6}, true, 6, "", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := put(tc.body)
				if got.ItemID != item || got.Applied != tc.wantApplied || got.Seq != tc.wantSeq {
					t.Errorf("got %+v, want applied %v, seq %d", got, tc.wantApplied, tc.wantSeq)
				}
				resp := apiCall(t, f, apiReq("GET", "/api/v1/attempts/"+a.ID, token, nil))
				wantAPIStatus(t, resp, http.StatusOK)
				var now apiAttempt
				resp.JSON(t, &now)
				q := now.Items[0]
				choice := ""
				if q.Answer != nil {
					choice = q.Answer.Choice
				}
				if choice != tc.wantChoice || q.Seq != tc.wantSeq || q.Flagged != tc.wantFlagged {
					t.Errorf("stored: answer %q seq %d flagged %v; want %q, %d, %v", choice, q.Seq, q.Flagged, tc.wantChoice, tc.wantSeq, tc.wantFlagged)
				}
			})
		}
		if now := apiStart(t, f, token); now.Mode != "fixed" || !now.CanGoBack || now.CAT != nil || now.RemainingSeconds != 30*60 ||
			now.Accommodations.TimeMultiplier != 1 {
			t.Errorf("attempt JSON: got %+v, want a fixed attempt with 30 minutes, no CAT, no accommodation", now)
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/next", token, nil)), http.StatusConflict, "conflict", "")
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/submit", token, nil)), http.StatusOK)
		wantAPIError(t, apiCall(t, f, apiReq("PUT", "/api/v1/attempts/"+a.ID+"/responses/"+item, token,
			map[string]any{"answer": map[string]any{"choice": f.Keys[item]}, "seq": 9})), http.StatusConflict, "closed", "")
	})
}

func TestAPIOneActiveAttempt(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		second := approvedExam(t, f, assess.Exam{})
		token := f.Token(t, f.Users.Candidate)
		a := apiStart(t, f, token)
		resp := apiCall(t, f, apiReq("POST", "/api/v1/exams/"+second.ID+"/attempts", token, nil))
		wantAPIError(t, resp, http.StatusConflict, "active_attempt", "")
		var body struct {
			Error struct {
				AttemptID string `json:"attempt_id"`
			} `json:"error"`
		}
		resp.JSON(t, &body)
		if body.Error.AttemptID != a.ID {
			t.Errorf("active_attempt names %q, want the open attempt %s", body.Error.AttemptID, a.ID)
		}
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/submit", token, nil)), http.StatusOK)
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/exams/"+second.ID+"/attempts", token, nil)), http.StatusCreated)
	})
}

func TestAPIPolicyAccommodationsAndBreaks(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		manager := f.Token(t, f.Users.Manager)
		cand := f.Users.Candidate.ID
		accPath := "/api/v1/exams/" + f.Exam.ID + "/accommodations/" + cand

		resp := apiCall(t, f, apiReq("PUT", "/api/v1/exams/"+f.Exam.ID+"/policy", manager, map[string]any{
			"max_attempts": 2, "retake_wait_seconds": 3600, "different_form_on_retake": true}))
		wantAPIStatus(t, resp, http.StatusOK)
		var pol struct {
			MaxAttempts   int      `json:"max_attempts"`
			RetakeWait    int      `json:"retake_wait_seconds"`
			DifferentForm bool     `json:"different_form_on_retake"`
			Prerequisites []string `json:"prerequisites"`
		}
		resp.JSON(t, &pol)
		if pol.MaxAttempts != 2 || pol.RetakeWait != 3600 || !pol.DifferentForm || pol.Prerequisites == nil || len(pol.Prerequisites) != 0 {
			t.Errorf("policy: got %s", resp.Body)
		}
		for _, tc := range []struct {
			name, path string
			body       any
			status     int
			code       string
			field      string
		}{
			{"window backwards", "/api/v1/exams/" + f.Exam.ID + "/policy",
				map[string]any{"opens_at": "2026-12-02T00:00:00Z", "closes_at": "2026-12-01T00:00:00Z"}, 422, "invalid", "policy.closes_at"},
			{"unknown exam", "/api/v1/exams/" + uuid.NewString() + "/policy", map[string]any{}, 404, "not_found", ""},
			{"multiplier too large", accPath, map[string]any{"time_multiplier": 9}, 422, "invalid", "time_multiplier"},
			{"negative break", accPath, map[string]any{"extra_break_minutes": -5}, 422, "invalid", "extra_break_minutes"},
			{"unknown candidate", "/api/v1/exams/" + f.Exam.ID + "/accommodations/" + uuid.NewString(), map[string]any{"time_multiplier": 1.5}, 404, "not_found", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantAPIError(t, apiCall(t, f, apiReq("PUT", tc.path, manager, tc.body)), tc.status, tc.code, tc.field)
			})
		}
		wantAPIError(t, apiCall(t, f, apiReq("PUT", accPath, f.Token(t, f.Users.Admin), map[string]any{"time_multiplier": 2})), 403, "forbidden", "")

		resp = apiCall(t, f, apiReq("PUT", accPath, manager, map[string]any{"time_multiplier": 1.5, "extra_break_minutes": 10, "note": "request 12"}))
		wantAPIStatus(t, resp, http.StatusOK)

		token := f.Token(t, f.Users.Candidate)
		a := apiStart(t, f, token)
		if want := webtest.Start.Add(45 * time.Minute); !a.Deadline.Equal(want) || a.Accommodations.TimeMultiplier != 1.5 ||
			a.Accommodations.ExtraBreakMinutes != 10 || a.BreaksLeftSeconds != 600 || a.RemainingSeconds != 45*60 {
			t.Fatalf("accommodated attempt: got %+v, want 45 minutes and 10 minutes of breaks", a)
		}
		type breakState struct {
			Paused     bool      `json:"paused"`
			Deadline   time.Time `json:"deadline"`
			Remaining  int       `json:"remaining_seconds"`
			BreaksLeft int       `json:"breaks_left_seconds"`
		}
		brk := func(action string) breakState {
			t.Helper()
			resp := apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/breaks", token, map[string]any{"action": action}))
			wantAPIStatus(t, resp, http.StatusOK)
			var s breakState
			resp.JSON(t, &s)
			return s
		}
		f.Clock.Advance(5 * time.Minute)
		if s := brk("start"); !s.Paused || s.Remaining != 40*60 || s.BreaksLeft != 600 {
			t.Errorf("break start: got %+v, want paused with 40 minutes left", s)
		}
		f.Clock.Advance(3 * time.Minute)
		wantAPIError(t, apiCall(t, f, apiReq("PUT", "/api/v1/attempts/"+a.ID+"/responses/"+a.Items[0].ID, token,
			map[string]any{"answer": map[string]any{"choice": f.Keys[a.Items[0].ID]}})), http.StatusConflict, "paused", "")
		if s := brk("end"); s.Paused || s.Remaining != 40*60 || s.BreaksLeft != 420 || !s.Deadline.Equal(webtest.Start.Add(48*time.Minute)) {
			t.Errorf("break end: got %+v, want running with 40 minutes left, 7 minutes of break and the deadline 3 minutes later", s)
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/breaks", token, map[string]any{"action": "nap"})), 422, "invalid", "action")

		wantAPIStatus(t, apiCall(t, f, apiReq("DELETE", accPath, manager, nil)), http.StatusNoContent)
		wantAPIError(t, apiCall(t, f, apiReq("DELETE", accPath, manager, nil)), 404, "not_found", "")

		resp = apiCall(t, f, apiReq("GET", "/api/v1/audit?subject=exam:"+f.Exam.ID+"/candidate:"+cand, f.Token(t, f.Users.Admin), nil))
		wantAPIStatus(t, resp, http.StatusOK)
		var log apiAudit
		resp.JSON(t, &log)
		if len(log.Entries) != 2 || log.Entries[0].Action != "accommodation.remove" || log.Entries[1].Action != "accommodation.grant" ||
			log.Entries[1].Actor != f.Users.Manager.ID {
			t.Errorf("audit: got %s, want the grant by the manager, then the removal", resp.Body)
		}
	})
}

func TestAPIPrerequisites(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		f.Assess.Eligible = award.Eligible(f.Credentials)
		manager := f.Token(t, f.Users.Manager)
		advanced := approvedExam(t, f, assess.Exam{})
		wantAPIStatus(t, apiCall(t, f, apiReq("PUT", "/api/v1/exams/"+advanced.ID+"/policy", manager,
			map[string]any{"prerequisites": []string{f.AchievementID}})), http.StatusOK)

		token := f.Token(t, f.Users.Candidate)
		resp := apiCall(t, f, apiReq("POST", "/api/v1/exams/"+advanced.ID+"/attempts", token, nil))
		wantAPIError(t, resp, http.StatusConflict, "not_eligible", "")
		var body struct {
			Error struct {
				Missing []string `json:"missing"`
			} `json:"error"`
		}
		resp.JSON(t, &body)
		if !slices.Equal(body.Error.Missing, []string{f.AchievementID}) {
			t.Errorf("missing: got %v, want the fixture's achievement", body.Error.Missing)
		}
		apiPass(t, f, f.Users.Candidate)
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/exams/"+advanced.ID+"/attempts", token, nil)), http.StatusCreated)
	})
}

func TestAPIAdaptiveAttempt(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		for i, it := range f.Items {
			if err := f.Bank.SetParams(ctx, f.Users.Psychometrician.ID, it.ID, items.Params{Model: "2PL", A: 1.5, B: -1 + 0.4*float64(i), N: 300}); err != nil {
				t.Fatal(err)
			}
		}
		cat := approvedExam(t, f, assess.Exam{Mode: assess.ModeCAT, CAT: assess.CATSettings{MaxItems: 3},
			Scale: assess.Scale{Name: "Scaled score", Basis: assess.ScaleTheta, Slope: 100, Intercept: 500, Min: 200, Max: 800}})
		token := f.Token(t, f.Users.Candidate)
		resp := apiCall(t, f, apiReq("POST", "/api/v1/exams/"+cat.ID+"/attempts", token, nil))
		wantAPIStatus(t, resp, http.StatusCreated)
		var a apiAttempt
		resp.JSON(t, &a)
		if a.Mode != "cat" || a.CanGoBack || a.CAT == nil || a.CAT.Max != 3 || a.CAT.Administered != 1 || len(a.Items) != 1 {
			t.Fatalf("adaptive attempt: got %s", resp.Body)
		}
		next := apiReq("POST", "/api/v1/attempts/"+a.ID+"/next", token, nil)
		wantAPIError(t, apiCall(t, f, next), http.StatusConflict, "unanswered", "")
		current := a.Items[0].ID
		for n := 1; ; n++ {
			wantAPIStatus(t, apiCall(t, f, apiReq("PUT", "/api/v1/attempts/"+a.ID+"/responses/"+current, token,
				map[string]any{"answer": map[string]any{"choice": f.Keys[current]}, "seq": 1})), http.StatusOK)
			resp := apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/next", token, nil))
			wantAPIStatus(t, resp, http.StatusOK)
			var step struct {
				Done bool         `json:"done"`
				Item *apiQuestion `json:"item"`
			}
			resp.JSON(t, &step)
			if step.Done {
				if n != 3 {
					t.Errorf("ended after %d items, want the maximum of 3", n)
				}
				break
			}
			if n >= 3 || step.Item == nil || step.Item.Position != n+1 {
				t.Fatalf("step %d: got %s, want item %d of at most 3", n, resp.Body, n+1)
			}
			current = step.Item.ID
		}
		resp = apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/submit", token, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		var r apiResult
		resp.JSON(t, &r)
		if r.Theta == nil || r.ThetaSE == nil || !r.Passed || r.Scale.Name != "Scaled score" || r.ScaledScore < r.ScaledCut || r.MaxScore != 3 {
			t.Errorf("adaptive result: got %s, want a pass on θ with a scaled score", resp.Body)
		}
	})
}
