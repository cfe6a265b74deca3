package web_test

import (
	"net/http"
	"testing"

	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

type apiReview struct {
	AttemptID string   `json:"attempt_id"`
	Status    string   `json:"status"`
	Risk      float64  `json:"risk"`
	Reasons   []string `json:"reasons"`
}

// TestProctoringReviewDecidesTheCredential: under a policy that holds
// credentials, a pass whose proctoring risk reaches the threshold gets no
// credential until a reviewer clears it; a credential already issued is
// suspended while its attempt is under review and revoked when the review
// invalidates the attempt.
func TestProctoringReviewDecidesTheCredential(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		pm, proctor := f.Token(t, f.Users.Manager), f.Token(t, f.Users.Proctor)
		wantAPIStatus(t, apiCall(t, f, apiReq("PUT", "/api/v1/exams/"+f.Exam.ID+"/proctoring", proctor,
			map[string]any{"review_at": 3})), http.StatusForbidden)
		wantAPIStatus(t, apiCall(t, f, apiReq("PUT", "/api/v1/exams/"+f.Exam.ID+"/proctoring", pm,
			map[string]any{"weights": map[string]float64{"focus_lost": 1, "paste": 3}, "review_at": -1})), http.StatusUnprocessableEntity)
		wantAPIStatus(t, apiCall(t, f, apiReq("PUT", "/api/v1/exams/"+f.Exam.ID+"/proctoring", pm,
			map[string]any{"weights": map[string]float64{"focus_lost": 1, "paste": 3}, "review_at": 3, "hold_credentials": true})), http.StatusOK)

		// pass sits the exam as u with every answer right and the events.
		pass := func(u webtest.User, events ...string) apiResult {
			t.Helper()
			token := f.Token(t, u)
			a := apiStart(t, f, token)
			for _, q := range a.Items {
				wantAPIStatus(t, apiCall(t, f, apiReq("PUT", "/api/v1/attempts/"+a.ID+"/responses/"+q.ID, token, map[string]any{"answer": f.Keys[q.ID]})), http.StatusOK)
			}
			if len(events) > 0 {
				var evs []map[string]string
				for _, k := range events {
					evs = append(evs, map[string]string{"kind": k})
				}
				wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/events", token, map[string]any{"events": evs})), http.StatusNoContent)
			}
			resp := apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/submit", token, nil))
			wantAPIStatus(t, resp, http.StatusOK)
			var r apiResult
			resp.JSON(t, &r)
			r.AttemptID = a.ID
			return r
		}
		flagged := pass(f.Users.Candidate, "focus_lost", "paste") // risk 4 ≥ 3
		if !flagged.Passed || flagged.CredentialID != nil {
			t.Fatalf("a flagged pass under a holding policy: %+v, want passed without a credential", flagged)
		}
		var queue []apiReview
		resp := apiCall(t, f, apiReq("GET", "/api/v1/reviews?status=pending", proctor, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &queue)
		if len(queue) != 1 || queue[0].AttemptID != flagged.AttemptID || queue[0].Risk != 4 || len(queue[0].Reasons) != 2 {
			t.Fatalf("review queue %+v, want the flagged attempt with risk 4 and its two reasons", queue)
		}
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+flagged.AttemptID+"/review/decision", proctor,
			map[string]string{"decision": "invalidated"})), http.StatusUnprocessableEntity) // no note
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+flagged.AttemptID+"/review/decision", proctor,
			map[string]string{"decision": "cleared", "note": "the paste was the candidate's own notes app, closed at once"})), http.StatusOK)
		resp = apiCall(t, f, apiReq("GET", "/api/v1/attempts/"+flagged.AttemptID+"/result", f.Token(t, f.Users.Candidate), nil))
		var cleared apiResult
		resp.JSON(t, &cleared)
		if !cleared.Passed || cleared.CredentialID == nil {
			t.Fatalf("after the review cleared it: %+v, want the credential issued", cleared)
		}

		clean := pass(f.Users.Candidate2)
		if clean.CredentialID == nil {
			t.Fatalf("an unflagged pass: %+v, want its credential at once", clean)
		}
		state := func(id string) string {
			t.Helper()
			c, err := f.Credentials.Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			return c.State(f.Clock.Now())
		}
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+clean.AttemptID+"/review", proctor,
			map[string]any{"reasons": []string{"answer similarity with another candidate in the same window"}})), http.StatusOK)
		if got := state(*clean.CredentialID); got != "suspended" {
			t.Fatalf("credential under review is %s, want suspended", got)
		}
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+clean.AttemptID+"/review/decision", proctor,
			map[string]string{"decision": "invalidated", "note": "copied from the neighbouring candidate"})), http.StatusOK)
		if got := state(*clean.CredentialID); got != "revoked" {
			t.Fatalf("credential of an invalidated attempt is %s, want revoked", got)
		}
		resp = apiCall(t, f, apiReq("GET", "/api/v1/attempts/"+clean.AttemptID+"/result", f.Token(t, f.Users.Candidate2), nil))
		var invalid struct {
			Passed      bool   `json:"passed"`
			Invalidated bool   `json:"invalidated"`
			Review      string `json:"review"`
		}
		resp.JSON(t, &invalid)
		if invalid.Passed || !invalid.Invalidated || invalid.Review != "invalidated" {
			t.Fatalf("invalidated result %+v", invalid)
		}
		wantAPIStatus(t, apiCall(t, f, apiReq("GET", "/api/v1/reviews", f.Token(t, f.Users.Candidate), nil)), http.StatusForbidden)
		other := f.NewUser(t, "", "Author", auth.Author)
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+clean.AttemptID+"/review", f.Token(t, other), map[string]any{"reasons": []string{"x"}})), http.StatusForbidden)

		page := f.Do(t, webtest.WithBearer(webtest.NewRequest("GET", "/proctor/reviews?status=all", nil), proctor))
		if page.StatusCode != http.StatusOK {
			t.Fatalf("review queue page: %d", page.StatusCode)
		}
	})
}
