package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// TestRekeyReissuesExactlyTheAffectedCredentials plants a miskeyed item:
// the first item's published key is wrong and the fixture's "wrong" option
// is the right one. After the rekey, the credential of every pass whose
// score changed is re-issued with the new score (the old one revoked with
// the reason), a pass that is gone loses its credential, and a pass whose
// score did not change keeps its credential untouched.
func TestRekeyReissuesExactlyTheAffectedCredentials(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		first := f.Items[0]
		var third string // an option that is neither the old key nor the new one
		for _, o := range first.Content.Options {
			if o.ID != f.Keys[first.ID] && o.ID != f.Wrong[first.ID] {
				third = o.ID
			}
		}
		if third == "" {
			t.Fatal("the first item has only two options")
		}
		// take sits the exam as u: firstAnswer to the first item, then
		// rightOthers of the other items right and the rest wrong.
		take := func(u webtest.User, firstAnswer string, rightOthers int) apiResult {
			token := f.Token(t, u)
			a := apiStart(t, f, token)
			right := 0
			for _, q := range a.Items {
				answer := f.Wrong[q.ID]
				switch {
				case q.ID == first.ID:
					answer = firstAnswer
				case right < rightOthers:
					answer, right = f.Keys[q.ID], right+1
				}
				wantAPIStatus(t, apiCall(t, f, apiReq("PUT", "/api/v1/attempts/"+a.ID+"/responses/"+q.ID, token, map[string]any{"answer": answer})), http.StatusOK)
			}
			resp := apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/submit", token, nil))
			wantAPIStatus(t, resp, http.StatusOK)
			var r apiResult
			resp.JSON(t, &r)
			return r
		}
		gains := take(f.Users.Candidate, f.Wrong[first.ID], 5)                               // 5 → 6: re-issued
		loses := take(f.Users.Candidate2, f.Keys[first.ID], 2)                               // 3 → 2: pass gone
		same := take(f.NewUser(t, "", "Unaffected", auth.Candidate), third, 5)               // 5 → 5: untouched
		fails := take(f.NewUser(t, "", "Now passing", auth.Candidate), f.Wrong[first.ID], 2) // 2 → 3: now a pass
		for name, r := range map[string]apiResult{"gains": gains, "loses": loses, "same": same} {
			if !r.Passed || r.CredentialID == nil {
				t.Fatalf("%s: %+v, want a pass with a credential", name, r)
			}
		}
		if fails.Passed {
			t.Fatalf("the failing attempt passed: %+v", fails)
		}

		corrected := first.Content
		corrected.Key = f.Wrong[first.ID]
		path := "/api/v1/item-versions/" + first.VersionID + "/rekey"
		analyst := f.Token(t, f.Users.Psychometrician)
		body := map[string]any{"content": corrected, "reason": "the reference answer was B"}
		wantAPIError(t, apiCall(t, f, apiReq("POST", path+"/preview", f.Token(t, f.Users.Candidate), body)), http.StatusForbidden, "forbidden", "")
		wantAPIError(t, apiCall(t, f, apiReq("POST", path, analyst, map[string]any{"content": corrected})), http.StatusUnprocessableEntity, "invalid", "reason")
		edited := corrected
		edited.Stem += " Edited."
		wantAPIError(t, apiCall(t, f, apiReq("POST", path, analyst, map[string]any{"content": edited, "reason": "x"})), http.StatusUnprocessableEntity, "rekey_changes_item", "")

		var preview struct {
			Changed  int `json:"changed"`
			Attempts []struct {
				AttemptID   string  `json:"attempt_id"`
				ScoreBefore float64 `json:"score_before"`
				ScoreAfter  float64 `json:"score_after"`
			} `json:"attempts"`
		}
		resp := apiCall(t, f, apiReq("POST", path+"/preview", analyst, body))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &preview)
		if preview.Changed != 3 || len(preview.Attempts) != 4 {
			t.Fatalf("preview: %+v, want 4 attempts of which 3 change", preview)
		}
		if kept, _ := f.Credentials.Get(ctx, *gains.CredentialID); kept.RevokedAt != nil {
			t.Fatal("the preview revoked a credential")
		}
		resp = apiCall(t, f, apiReq("POST", path, analyst, body))
		wantAPIStatus(t, resp, http.StatusOK)

		old, err := f.Credentials.Get(ctx, *gains.CredentialID)
		if err != nil || old.RevokedAt == nil {
			t.Fatalf("the gaining candidate's old credential: revoked %v (err %v), want revoked", old.RevokedAt, err)
		}
		res, err := f.Assess.Result(ctx, gains.AttemptID)
		if err != nil || res.Score != 6 || res.CredentialID == *gains.CredentialID {
			t.Fatalf("gaining attempt after the rekey: %+v (err %v), want 6 points and a new credential", res, err)
		}
		next, err := f.Credentials.Get(ctx, res.CredentialID)
		if err != nil || next.Supersedes != old.ID || next.RevokedAt != nil {
			t.Fatalf("re-issued credential: %+v (err %v)", next, err)
		}
		if v := f.Credentials.Verify(ctx, next); !v.Valid {
			t.Errorf("re-issued credential: %v", v)
		}

		lost, err := f.Credentials.Get(ctx, *loses.CredentialID)
		if err != nil || lost.RevokedAt == nil {
			t.Errorf("the credential of a pass that is gone: revoked %v (err %v)", lost.RevokedAt, err)
		}
		if r, _ := f.Assess.Result(ctx, loses.AttemptID); r.Passed {
			t.Error("the lowered attempt still passes")
		}

		kept, err := f.Credentials.Get(ctx, *same.CredentialID)
		if err != nil || kept.RevokedAt != nil || kept.Supersedes != "" {
			t.Errorf("the unaffected credential: %+v (err %v), want it untouched", kept, err)
		}
		if r, _ := f.Assess.Result(ctx, same.AttemptID); r.CredentialID != *same.CredentialID {
			t.Error("the unaffected attempt changed credential")
		}

		now, err := f.Assess.Result(ctx, fails.AttemptID)
		if err != nil || !now.Passed || now.CredentialID == "" {
			t.Errorf("the attempt that now passes: %+v (err %v), want a pass and a credential", now, err)
		}
	})
}
