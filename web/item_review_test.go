package web_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// asPage sends a page request as u (signed out when u is the zero User):
// a GET when form is nil, else a POST of form with u's CSRF token.
func asPage(t *testing.T, f *webtest.Fixture, u webtest.User, path string, form url.Values) *webtest.Response {
	t.Helper()
	method, body := http.MethodGet, ""
	var token string
	if u.ID != "" {
		token = f.Session(t, u).CSRFToken
	}
	if form != nil {
		method = http.MethodPost
		form = cloneValues(form)
		form.Set("_csrf", token)
		body = form.Encode()
	}
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if u.ID != "" {
		webtest.WithCookie(req, f.Session(t, u), false)
	}
	return f.Do(t, req)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, list := range v {
		out[k] = slices.Clone(list)
	}
	return out
}

func wantReviewPage(t *testing.T, what string, r *webtest.Response, status int, subs ...string) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s: status %d, want %d; body: %.600s", what, r.StatusCode, status, r.Body)
	}
	for _, s := range subs {
		if !strings.Contains(string(r.Body), s) {
			t.Errorf("%s: page lacks %q", what, s)
		}
	}
}

// Flags through the API: analysts raise them, bank readers read them,
// analysts and authors resolve them, once; candidates do none of it.
func TestAPIItemFlags(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		psy, author := f.Token(t, f.Users.Psychometrician), f.Token(t, f.Users.Author)
		cand, proc := f.Token(t, f.Users.Candidate), f.Token(t, f.Users.Proctor)
		path := "/api/v1/items/" + f.Items[0].ID + "/flags"

		wantAPIError(t, apiCall(t, f, apiReq("POST", path, author, map[string]string{"reason": "x"})), 403, "forbidden", "")
		wantAPIError(t, apiCall(t, f, apiReq("POST", path, cand, map[string]string{"reason": "x"})), 403, "forbidden", "")
		wantAPIError(t, apiCall(t, f, apiReq("POST", path, psy, map[string]string{"reason": " "})), 422, "invalid", "reason")
		wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/items/"+f.Program.ID+"/flags", psy, map[string]string{"reason": "x"})), 404, "not_found", "")

		type flag struct {
			ID         string  `json:"id"`
			ItemID     string  `json:"item_id"`
			Reason     string  `json:"reason"`
			RaisedBy   *string `json:"raised_by"`
			Open       bool    `json:"open"`
			ResolvedBy *string `json:"resolved_by"`
			Resolution string  `json:"resolution"`
		}
		var first, second flag
		resp := apiCall(t, f, apiReq("POST", path, psy, map[string]string{"reason": "p = .12 and option C attracts the best candidates"}))
		wantAPIStatus(t, resp, http.StatusCreated)
		resp.JSON(t, &first)
		if !first.Open || first.ItemID != f.Items[0].ID || first.RaisedBy == nil || *first.RaisedBy != f.Users.Psychometrician.ID {
			t.Errorf("raised flag: %+v", first)
		}
		resp = apiCall(t, f, apiReq("POST", path, f.Token(t, f.Users.Manager), map[string]string{"reason": "A complaint about the wording"}))
		wantAPIStatus(t, resp, http.StatusCreated)
		resp.JSON(t, &second)

		wantAPIError(t, apiCall(t, f, apiReq("GET", path, cand, nil)), 403, "forbidden", "")
		wantAPIError(t, apiCall(t, f, apiReq("GET", path, proc, nil)), 403, "forbidden", "")

		resolve := "/api/v1/item-flags/" + first.ID + "/resolve"
		wantAPIError(t, apiCall(t, f, apiReq("POST", resolve, cand, map[string]string{"resolution": "x"})), 403, "forbidden", "")
		wantAPIError(t, apiCall(t, f, apiReq("POST", resolve, author, map[string]string{})), 422, "invalid", "resolution")
		wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/item-flags/"+f.Items[0].ID+"/resolve", author, map[string]string{"resolution": "x"})), 404, "not_found", "")
		var resolved flag
		resp = apiCall(t, f, apiReq("POST", resolve, author, map[string]string{"resolution": "Rekeyed to C."}))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &resolved)
		if resolved.Open || resolved.ResolvedBy == nil || *resolved.ResolvedBy != f.Users.Author.ID || resolved.Resolution != "Rekeyed to C." {
			t.Errorf("resolved flag: %+v", resolved)
		}
		wantAPIError(t, apiCall(t, f, apiReq("POST", resolve, psy, map[string]string{"resolution": "again"})), 409, "flag_resolved", "")

		var list []flag
		resp = apiCall(t, f, apiReq("GET", path, author, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &list)
		if len(list) != 2 || list[0].ID != second.ID || !list[0].Open || list[1].ID != first.ID || list[1].Open {
			t.Errorf("flags: got %+v, want the open one, then the resolved one", list)
		}

		records, err := f.Audit.List(context.Background(), "item:"+f.Items[0].ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, r := range records {
			actions = append(actions, r.Action)
		}
		if want := []string{"item.flag.resolve", "item.flag", "item.flag"}; !slices.Equal(actions[:3], want) {
			t.Errorf("audit: got %v, want %v first", actions, want)
		}
	})
}

// The review page: analysts only; a flag raised there shows on the page,
// on the editor and in the bank; an author resolves it from the editor; a
// psychometrician retires the item.
func TestItemReviewPage(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		it := f.Items[1]
		page := "/psychometrics/items/" + it.ID
		psy := f.Users.Psychometrician
		for _, tc := range []struct {
			u    webtest.User
			want int
		}{
			{f.Users.Admin, 200}, {f.Users.Manager, 200}, {psy, 200},
			{f.Users.Author, 403}, {f.Users.Proctor, 403}, {f.Users.Candidate, 403},
		} {
			wantReviewPage(t, tc.u.Email, asPage(t, f, tc.u, page, nil), tc.want)
		}
		r := asPage(t, f, psy, page, nil)
		wantReviewPage(t, "review page", r, 200, "Item review", "Question 2: which choice is right?", "No flags raised",
			`href="/psychometrics/item-versions/`+it.VersionID+`/rekey"`, "Retire this item")
		keyed := regexp.MustCompile(`(?s)<li class="is-key">.*?</li>`).FindAllString(string(r.Body), -1)
		if len(keyed) != 1 || !strings.Contains(keyed[0], it.Options[slices.IndexFunc(it.Options, func(o items.Option) bool { return o.ID == it.Key })].Text) {
			t.Errorf("key on the review page: %q, want the one key option", keyed)
		}

		wantReviewPage(t, "flag as author", asPage(t, f, f.Users.Author, page+"/flag", url.Values{"reason": {"x"}}), 403)
		wantReviewPage(t, "flag without reason", asPage(t, f, psy, page+"/flag", url.Values{"reason": {""}}), 422, `href="#f-reason"`)
		r = asPage(t, f, psy, page+"/flag", url.Values{"reason": {"Option B is defensible too."}})
		wantReviewPage(t, "flag", r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != page+"?done=flagged" {
			t.Errorf("flag: redirected to %q", loc)
		}
		wantReviewPage(t, "flagged", asPage(t, f, psy, page+"?done=flagged", nil), 200, "Flag raised.", "Option B is defensible too.", "1 open flag")
		wantReviewPage(t, "editor", asPage(t, f, f.Users.Author, "/authoring/items/"+it.ID, nil), 200, "Flagged for review", "Option B is defensible too.")
		wantReviewPage(t, "bank", asPage(t, f, f.Users.Author, "/authoring/items", nil), 200, `flag-badge" title="Open flags awaiting review">1 flag</span>`)

		flags, err := f.Bank.Flags(context.Background(), it.ID)
		if err != nil || len(flags) != 1 {
			t.Fatalf("flags: %v (err %v)", flags, err)
		}
		resolve := "/authoring/items/" + it.ID + "/flags/" + flags[0].ID + "/resolve"
		wantReviewPage(t, "resolve as candidate", asPage(t, f, f.Users.Candidate, resolve, url.Values{"resolution": {"x"}}), 403)
		wantReviewPage(t, "resolve through another item", asPage(t, f, f.Users.Author, "/authoring/items/"+f.Items[2].ID+"/flags/"+flags[0].ID+"/resolve",
			url.Values{"resolution": {"x"}}), 404)
		r = asPage(t, f, f.Users.Author, resolve, url.Values{"resolution": {"Reworded option B in version 2."}})
		wantReviewPage(t, "resolve", r, http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/authoring/items/"+it.ID+"?done=resolved" {
			t.Errorf("resolve: redirected to %q", loc)
		}
		wantReviewPage(t, "resolve again", asPage(t, f, psy, resolve, url.Values{"resolution": {"again"}, "back": {"review"}}), 409, "resolved that flag meanwhile")
		wantReviewPage(t, "resolved", asPage(t, f, psy, page, nil), 200, "Resolved", "Reworded option B in version 2.", "Aoife Author")
		if r := asPage(t, f, f.Users.Author, "/authoring/items", nil); strings.Contains(string(r.Body), "flag-badge") {
			t.Error("the bank still shows a flag badge after the resolution")
		}

		wantReviewPage(t, "retire as author", asPage(t, f, f.Users.Author, page+"/retire", url.Values{"reason": {"x"}}), 403)
		wantReviewPage(t, "retire without reason", asPage(t, f, psy, page+"/retire", url.Values{"reason": {""}}), 422, `href="#f-retire-reason"`)
		wantReviewPage(t, "retire", asPage(t, f, psy, page+"/retire", url.Values{"reason": {"Beyond repair."}}), http.StatusSeeOther)
		got, err := f.Bank.Get(context.Background(), it.ID)
		if err != nil || got.Status != "retired" {
			t.Errorf("after retirement by the psychometrician: %+v (err %v)", got.Status, err)
		}
		wantReviewPage(t, "retired", asPage(t, f, psy, page+"?done=retired", nil), 200, "Retired:", "Never delivered again.")

		// The psychometrician may retire through the API too.
		resp := apiCall(t, f, apiReq("POST", "/api/v1/items/"+f.Items[3].ID+"/retire", f.Token(t, psy), map[string]string{"reason": "Superseded."}))
		wantAPIStatus(t, resp, http.StatusOK)
	})
}

// attemptRow finds the preview's row of each attempt, by its data-attempt
// attribute, and the credential action it names.
var previewRow = regexp.MustCompile(`(?s)<tr data-attempt="([0-9a-f-]+)">.*?cred-action">([^<]+)</span>`)

func previewActions(body []byte) map[string]string {
	out := map[string]string{}
	for _, m := range previewRow.FindAllSubmatch(body, -1) {
		out[string(m[1])] = string(m[2])
	}
	return out
}

var fingerprintInput = regexp.MustCompile(`name="fingerprint" value="([0-9a-f]{64})"`)

func fingerprintOf(t *testing.T, body []byte) string {
	t.Helper()
	m := fingerprintInput.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no fingerprint in the page: %.600s", body)
	}
	return string(m[1])
}

// TestRekeyPagesPlantedMiskey plants a miskeyed item — the first item's
// published key is wrong and the fixture's "wrong" option is right — and
// walks the rekey pages: the preview lists exactly the attempts whose
// score or pass changes, with the credential action of each; applying
// after the data changed is refused with the new preview; applying that
// re-scores exactly those attempts, re-issues, revokes or issues exactly
// their credentials, and leaves the others untouched.
func TestRekeyPagesPlantedMiskey(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		first := f.Items[0]
		var third string
		for _, o := range first.Content.Options {
			if o.ID != f.Keys[first.ID] && o.ID != f.Wrong[first.ID] {
				third = o.ID
			}
		}
		take := func(u webtest.User, firstAnswer string, rightOthers int) apiResult {
			t.Helper()
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
		gains := take(f.Users.Candidate, f.Wrong[first.ID], 5)                                   // 5 → 6: re-issued
		loses := take(f.Users.Candidate2, f.Keys[first.ID], 2)                                   // 3 → 2: revoked
		same := take(f.NewUser(t, "", "Una Unaffected", auth.Candidate), third, 5)               // 5 → 5: untouched
		failsLow := take(f.NewUser(t, "", "Fay Failing", auth.Candidate), f.Keys[first.ID], 0)   // 1 → 0: a fail either way
		fails := take(f.NewUser(t, "", "Nat Now-passing", auth.Candidate), f.Wrong[first.ID], 2) // 2 → 3: issued
		for name, r := range map[string]apiResult{"gains": gains, "loses": loses, "same": same} {
			if !r.Passed || r.CredentialID == nil {
				t.Fatalf("%s: %+v, want a pass with a credential", name, r)
			}
		}
		if fails.Passed || failsLow.Passed {
			t.Fatal("a failing attempt passed")
		}

		psy := f.Users.Psychometrician
		base := "/psychometrics/item-versions/" + first.VersionID + "/rekey"
		for _, u := range []webtest.User{f.Users.Candidate, f.Users.Author, f.Users.Proctor} {
			wantReviewPage(t, "rekey page as "+u.Email, asPage(t, f, u, base, nil), 403)
			wantReviewPage(t, "preview as "+u.Email, asPage(t, f, u, base+"/preview", url.Values{"key": {f.Wrong[first.ID]}, "reason": {"x"}}), 403)
		}
		wantReviewPage(t, "rekey page", asPage(t, f, psy, base, nil), 200, "Choose the correct option", "Current key", "Question 1: which choice is right?")
		wantReviewPage(t, "the key it has", asPage(t, f, psy, base+"/preview", url.Values{"key": {f.Keys[first.ID]}, "reason": {"x"}}), 422, "is the key already")
		wantReviewPage(t, "no reason", asPage(t, f, psy, base+"/preview", url.Values{"key": {f.Wrong[first.ID]}}), 422, `href="#f-reason"`)
		wantReviewPage(t, "an option it lacks", asPage(t, f, psy, base+"/preview", url.Values{"key": {"opt-nope"}, "reason": {"x"}}), 422, `href="#f-key"`)

		form := url.Values{"key": {f.Wrong[first.ID]}, "reason": {"The reference answer was B."}}
		r := asPage(t, f, psy, base+"/preview", form)
		wantReviewPage(t, "preview", r, 200, "Confirm the rekey", "Nat Now-passing", "The reference answer was B.", "Apply rekey")
		wantActions := map[string]string{gains.AttemptID: "Re-issue", loses.AttemptID: "Revoke", fails.AttemptID: "Issue", failsLow.AttemptID: "None"}
		if got := previewActions(r.Body); !maps.Equal(got, wantActions) {
			t.Errorf("preview rows: got %v, want exactly %v", got, wantActions)
		}
		if strings.Contains(string(r.Body), same.AttemptID) || strings.Contains(string(r.Body), "Una Unaffected") {
			t.Error("the preview lists the attempt whose score does not change")
		}
		stale := fingerprintOf(t, r.Body)
		if kept, _ := f.Credentials.Get(ctx, *gains.CredentialID); kept.RevokedAt != nil {
			t.Fatal("the preview revoked a credential")
		}

		// The data changes before the rekey is applied: another candidate
		// whose pass the rekey would give.
		late := take(f.NewUser(t, "", "Lee Late", auth.Candidate), f.Wrong[first.ID], 2)
		apply := cloneValues(form)
		apply.Set("fingerprint", stale)
		r = asPage(t, f, psy, base, apply)
		wantReviewPage(t, "apply a stale preview", r, http.StatusConflict, "the data changed since you previewed", "Lee Late")
		if kept, _ := f.Credentials.Get(ctx, *gains.CredentialID); kept.RevokedAt != nil {
			t.Fatal("a refused rekey revoked a credential")
		}
		if res, _ := f.Assess.Result(ctx, late.AttemptID); res.Passed {
			t.Fatal("a refused rekey re-scored an attempt")
		}
		wantActions[late.AttemptID] = "Issue"
		if got := previewActions(r.Body); !maps.Equal(got, wantActions) {
			t.Errorf("the new preview: got %v, want %v", got, wantActions)
		}
		apply.Set("fingerprint", fingerprintOf(t, r.Body))
		r = asPage(t, f, psy, base, apply)
		wantReviewPage(t, "apply", r, 200, "Rekey applied", "What changed")

		old, err := f.Credentials.Get(ctx, *gains.CredentialID)
		if err != nil || old.RevokedAt == nil {
			t.Fatalf("the gaining candidate's old credential: revoked %v (err %v), want revoked", old.RevokedAt, err)
		}
		res, err := f.Assess.Result(ctx, gains.AttemptID)
		if err != nil || res.Score != 6 || res.CredentialID == *gains.CredentialID {
			t.Fatalf("gaining attempt: %+v (err %v), want 6 points and a new credential", res, err)
		}
		next, err := f.Credentials.Get(ctx, res.CredentialID)
		if err != nil || next.Supersedes != old.ID || next.RevokedAt != nil {
			t.Fatalf("re-issued credential: %+v (err %v)", next, err)
		}
		if !strings.Contains(string(r.Body), `href="/credentials/`+next.ID+`"`) {
			t.Error("the outcome does not link the re-issued credential")
		}
		if lost, err := f.Credentials.Get(ctx, *loses.CredentialID); err != nil || lost.RevokedAt == nil {
			t.Errorf("the credential of a pass that is gone: %+v (err %v), want revoked", lost.RevokedAt, err)
		}
		for name, id := range map[string]string{"now passing": fails.AttemptID, "late": late.AttemptID} {
			now, err := f.Assess.Result(ctx, id)
			if err != nil || !now.Passed || now.CredentialID == "" {
				t.Errorf("%s: %+v (err %v), want a pass and a credential", name, now, err)
			}
		}
		kept, err := f.Credentials.Get(ctx, *same.CredentialID)
		if err != nil || kept.RevokedAt != nil || kept.Supersedes != "" {
			t.Errorf("the unaffected credential: %+v (err %v), want it untouched", kept, err)
		}
		if r, _ := f.Assess.Result(ctx, same.AttemptID); r.CredentialID != *same.CredentialID || r.Score != 5 {
			t.Errorf("the unaffected attempt: %+v", r)
		}
		if r, _ := f.Assess.Result(ctx, failsLow.AttemptID); r.Score != 0 || r.Passed || r.CredentialID != "" {
			t.Errorf("the low attempt: %+v, want 0 points, a fail and no credential", r)
		}

		// Every change is audited, with the psychometrician as the actor.
		records, err := f.Audit.List(ctx, "item:"+first.ID, 10)
		if err != nil || len(records) == 0 || records[0].Action != "item.rekey" || records[0].Actor != psy.ID {
			t.Errorf("audit of the rekey: %+v (err %v)", records, err)
		}
		for _, id := range []string{gains.AttemptID, loses.AttemptID, fails.AttemptID, late.AttemptID, failsLow.AttemptID} {
			recs, err := f.Audit.List(ctx, "attempt:"+id, 10)
			if err != nil || !slices.ContainsFunc(recs, func(r audit.Record) bool { return r.Action == "attempt.rescore" }) {
				t.Errorf("attempt %s: no attempt.rescore in %+v (err %v)", id, recs, err)
			}
		}
	})
}
