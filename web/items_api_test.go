package web_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

type apiItemDetail struct {
	ID               string `json:"id"`
	Status           string `json:"status"`
	Kind             string `json:"kind"`
	Version          int    `json:"version"`
	PublishedVersion *int   `json:"published_version"`
	AuthorID         string `json:"author_id"`
	Content          struct {
		Stem string `json:"stem"`
		Key  string `json:"key"`
	} `json:"content"`
	Versions []struct {
		Version    int     `json:"version"`
		AuthorID   *string `json:"author_id"`
		ApprovedBy *string `json:"approved_by"`
		Published  bool    `json:"published"`
	} `json:"versions"`
	Comments []struct {
		Version *int   `json:"version"`
		Body    string `json:"body"`
	} `json:"comments"`
	Enemies []string        `json:"enemies"`
	Can     map[string]bool `json:"can"`
}

func draftBody(program, stem string) map[string]any {
	return map[string]any{"program_id": program, "content": map[string]any{
		"domain": "D1", "stem": stem,
		"options": []map[string]string{{"id": "a", "text": "First"}, {"id": "b", "text": "Second"}, {"id": "c", "text": "Third"}},
		"key":     "b", "rationale": "Second, because it is.",
	}}
}

// wantItem decodes an item answer and checks its status and versions.
func wantItem(t *testing.T, resp *webtest.Response, code int, status string, version, published int) apiItemDetail {
	t.Helper()
	wantAPIStatus(t, resp, code)
	var it apiItemDetail
	resp.JSON(t, &it)
	gotPub := 0
	if it.PublishedVersion != nil {
		gotPub = *it.PublishedVersion
	}
	if it.Status != status || it.Version != version || gotPub != published {
		t.Fatalf("%s %s: got status %s, version %d, published %d; want %s, %d, %d", resp.Request.Method, resp.Request.URL,
			it.Status, it.Version, gotPub, status, version, published)
	}
	return it
}

// The workflow through the API: a draft, its review by someone else, an
// edit of the approved item that candidates do not get until approved, a
// request for changes, retirement; with the roles and errors of each step.
func TestAPIItemWorkflow(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		ann := f.Token(t, f.Users.Author)
		bob := f.Token(t, f.NewUser(t, "", "Bob Author", auth.Author))
		psy, mgr, admin := f.Token(t, f.Users.Psychometrician), f.Token(t, f.Users.Manager), f.Token(t, f.Users.Admin)
		cand, proc := f.Token(t, f.Users.Candidate), f.Token(t, f.Users.Proctor)

		it := wantItem(t, apiCall(t, f, apiReq("POST", "/api/v1/items", ann, draftBody(f.Program.ID, "Which is second?"))), 201, "draft", 1, 0)
		if it.Content.Key != "b" || it.AuthorID != f.Users.Author.ID || len(it.Versions) != 1 {
			t.Errorf("created: got %+v, want Ann's version 1 with key b", it)
		}
		if want := map[string]bool{"edit": true, "submit": true, "approve": false, "request_changes": false, "retire": false, "comment": true}; !mapsEqual(it.Can, want) {
			t.Errorf("author's rights on a draft: got %v, want %v", it.Can, want)
		}
		id := "/api/v1/items/" + it.ID
		wantAPIError(t, apiCall(t, f, apiReq("POST", id+"/approve", bob, nil)), 409, "wrong_status", "")
		wantItem(t, apiCall(t, f, apiReq("POST", id+"/submit", ann, nil)), 200, "in_review", 1, 0)
		wantAPIError(t, apiCall(t, f, apiReq("PUT", id, ann, draftBody("", "x")["content"])), 409, "wrong_status", "")
		wantAPIError(t, apiCall(t, f, apiReq("POST", id+"/approve", ann, nil)), 403, "self_review", "")
		wantAPIError(t, apiCall(t, f, apiReq("POST", id+"/approve", admin, nil)), 403, "forbidden", "")
		got := wantItem(t, apiCall(t, f, apiReq("GET", id, psy, nil)), 200, "in_review", 1, 0)
		if !got.Can["approve"] || got.Can["edit"] {
			t.Errorf("psychometrician's rights in review: got %v, want approve and not edit", got.Can)
		}
		got = wantItem(t, apiCall(t, f, apiReq("POST", id+"/approve", bob, map[string]string{"note": "Clear and correct."})), 200, "approved", 1, 1)
		if len(got.Comments) != 1 || got.Comments[0].Body != "Clear and correct." || got.Versions[0].ApprovedBy == nil ||
			*got.Versions[0].ApprovedBy != webtestUserID(t, f, bob) || !got.Versions[0].Published {
			t.Errorf("after approval: got comments %+v, versions %+v", got.Comments, got.Versions)
		}

		// An edit of a delivered item reaches candidates only once approved.
		fixture := f.Items[2]
		fid := "/api/v1/items/" + fixture.ID
		edited := draftBody("", "Question 3, reworded")["content"]
		wantItem(t, apiCall(t, f, apiReq("PUT", fid, ann, edited)), 200, "draft", 2, 1)
		delivered := func() int {
			t.Helper()
			cur, err := f.Bank.Current(ctx, []string{fixture.ID})
			if err != nil || len(cur) != 1 || !cur[0].Deliverable() {
				t.Fatalf("current of %s: %+v, %v", fixture.ID, cur, err)
			}
			return cur[0].Version
		}
		if v := delivered(); v != 1 {
			t.Errorf("after an edit: candidates get version %d, want 1", v)
		}
		wantItem(t, apiCall(t, f, apiReq("POST", fid+"/submit", ann, nil)), 200, "in_review", 2, 1)
		wantAPIError(t, apiCall(t, f, apiReq("POST", fid+"/request-changes", mgr, map[string]string{"comment": " "})), 422, "invalid", "comment")
		wantItem(t, apiCall(t, f, apiReq("POST", fid+"/request-changes", mgr, map[string]string{"comment": "Say which column."})), 200, "draft", 2, 1)
		wantItem(t, apiCall(t, f, apiReq("POST", fid+"/submit", ann, nil)), 200, "in_review", 2, 1)
		wantItem(t, apiCall(t, f, apiReq("POST", fid+"/approve", psy, nil)), 200, "approved", 2, 2)
		if v := delivered(); v != 2 {
			t.Errorf("after approval of the edit: candidates get version %d, want 2", v)
		}

		// Retirement: program managers, psychometricians and admins, with a reason.
		wantAPIError(t, apiCall(t, f, apiReq("POST", fid+"/retire", ann, map[string]string{"reason": "x"})), 403, "forbidden", "")
		wantAPIError(t, apiCall(t, f, apiReq("POST", fid+"/retire", mgr, map[string]string{})), 422, "invalid", "reason")
		wantItem(t, apiCall(t, f, apiReq("POST", fid+"/retire", mgr, map[string]string{"reason": "Superseded."})), 200, "retired", 2, 2)
		wantAPIError(t, apiCall(t, f, apiReq("POST", fid+"/retire", admin, map[string]string{"reason": "again"})), 409, "wrong_status", "")
		if cur, _ := f.Bank.Current(ctx, []string{fixture.ID}); len(cur) != 1 || cur[0].Deliverable() {
			t.Errorf("a retired item is deliverable: %+v", cur)
		}

		// Candidates and proctors see nothing of the bank.
		for _, tok := range []string{cand, proc} {
			for _, r := range []*http.Request{apiReq("GET", "/api/v1/items", tok, nil), apiReq("GET", id, tok, nil),
				apiReq("POST", "/api/v1/items/preview", tok, map[string]any{"stem": "x"}), apiReq("GET", id+"/comments", tok, nil)} {
				wantAPIError(t, apiCall(t, f, r), 403, "forbidden", "")
			}
		}

		// Every step is in the audit log, whose chain holds.
		resp := apiCall(t, f, apiReq("GET", "/api/v1/audit?subject=item:"+fixture.ID, admin, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		var log apiAudit
		resp.JSON(t, &log)
		var actions []string
		for _, e := range log.Entries {
			actions = append(actions, e.Action)
		}
		want := []string{"item.retire", "item.approve", "item.submit", "item.request_changes", "item.submit", "item.update", "item.create"}
		if log.Chain != "intact" || !slices.Equal(actions, want) {
			t.Errorf("audit of the edited item: got chain %s, actions %v; want intact, %v", log.Chain, actions, want)
		}
		if upd := log.Entries[5]; upd.Actor != f.Users.Author.ID || !bytes.Contains(upd.Before, []byte(fixture.Stem)) || !bytes.Contains(upd.After, []byte("reworded")) {
			t.Errorf("item.update entry: got actor %s, before %s, after %s; want the author, the old and new content", upd.Actor, upd.Before, upd.After)
		}
		resp = apiCall(t, f, apiReq("GET", "/api/v1/audit?limit=1", admin, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &log)
		if len(log.Entries) != 1 || log.Entries[0].Action != "item.retire" {
			t.Errorf("audit?limit=1: got %s, want the newest entry (item.retire)", resp.Body)
		}
		for _, limit := range []string{"0", "1001", "-5"} {
			wantAPIError(t, apiCall(t, f, apiReq("GET", "/api/v1/audit?limit="+limit, admin, nil)), 400, "bad_request", "limit")
		}
	})
}

func webtestUserID(t *testing.T, f *webtest.Fixture, token string) string {
	t.Helper()
	resp := apiCall(t, f, apiReq("GET", "/api/v1/me", token, nil))
	var me struct {
		ID string `json:"id"`
	}
	resp.JSON(t, &me)
	return me.ID
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAPIItemValidation(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		author := f.Token(t, f.Users.Author)
		content := func() map[string]any { return draftBody("", "Which?")["content"].(map[string]any) }
		with := func(k string, v any) map[string]any { m := content(); m[k] = v; return m }
		without := func(k string) map[string]any { m := content(); delete(m, k); return m }
		target := "/api/v1/items/" + f.Items[0].ID
		for _, tc := range []struct {
			name        string
			body        any
			status      int
			code, field string
		}{
			{"no stem", without("stem"), 422, "invalid", "stem"},
			{"blank domain", with("domain", "  "), 422, "invalid", "domain"},
			{"one option", with("options", []map[string]string{{"id": "a", "text": "Only"}}), 422, "invalid", "options"},
			{"duplicate option ids", with("options", []map[string]string{{"id": "a", "text": "A"}, {"id": "a", "text": "B"}}), 422, "invalid", "options[1].id"},
			{"key not an option", with("key", "z"), 422, "invalid", "key"},
			{"unknown kind", with("kind", "essay"), 422, "invalid", "kind"},
			{"options of the wrong type", with("options", "a, b"), 400, "bad_request", "options"},
			{"malformed JSON", `{"stem": `, 400, "bad_request", "body"},
		} {
			t.Run("update: "+tc.name, func(t *testing.T) {
				wantAPIError(t, apiCall(t, f, apiReq("PUT", target, author, tc.body)), tc.status, tc.code, tc.field)
			})
		}
		wantAPIError(t, apiCall(t, f, apiReq("PUT", "/api/v1/items/"+uuid.NewString(), author, content())), 404, "not_found", "")
		wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/items", author, map[string]any{"program_id": f.Program.ID})), 422, "invalid", "content")
		wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/items", author, draftBody("nope", "x"))), 422, "invalid", "program_id")
		wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/items", author, draftBody(uuid.NewString(), "x"))), 404, "not_found", "")
	})
}

func TestAPIItemList(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		author := f.Token(t, f.Users.Author)
		bob := f.NewUser(t, "", "Bob Author", auth.Author)
		wantItem(t, apiCall(t, f, apiReq("POST", "/api/v1/items", f.Token(t, bob), draftBody(f.Program.ID, "Which 50% VLOOKUP is right?"))), 201, "draft", 1, 0)
		type page struct {
			Items []apiItemDetail `json:"items"`
			Total int             `json:"total"`
		}
		list := func(query string, token string) page {
			t.Helper()
			resp := apiCall(t, f, apiReq("GET", "/api/v1/items"+query, token, nil))
			wantAPIStatus(t, resp, http.StatusOK)
			var p page
			resp.JSON(t, &p)
			return p
		}
		for _, tc := range []struct {
			query string
			total int
		}{
			{"", 7}, {"?status=draft", 1}, {"?status=approved", 6}, {"?q=vlookup", 1}, {"?q=50%25", 1}, {"?q=question", 6},
			{"?domain=D2", 3}, {"?kind=numeric", 0}, {"?exam=" + f.Exam.ID, 6}, {"?author=me", 6}, {"?author=" + bob.ID, 1},
			{"?program=" + f.Program.ID + "&status=draft&q=VLOOKUP", 1}, {"?limit=2", 7},
		} {
			if got := list(tc.query, author); got.Total != tc.total {
				t.Errorf("GET /api/v1/items%s: got total %d, want %d", tc.query, got.Total, tc.total)
			}
		}
		if got := list("?limit=2&offset=6", author); len(got.Items) != 1 {
			t.Errorf("last page: got %d items, want 1", len(got.Items))
		}
		if got := list("?status=draft", f.Token(t, f.Users.Manager)); len(got.Items) != 1 || got.Items[0].Content.Key != "b" {
			t.Errorf("a manager's list: got %+v, want the draft with its key", got.Items)
		}
		for _, tc := range []struct {
			query, code, field string
			status             int
		}{
			{"?status=active", "invalid", "status", 422},
			{"?kind=essay", "invalid", "kind", 422},
			{"?author=x", "invalid", "author", 422},
			{"?limit=500", "invalid", "limit", 422},
			{"?limit=ten", "bad_request", "limit", 400},
			{"?offset=-1", "invalid", "offset", 422},
			{"?exam=" + uuid.NewString(), "not_found", "", 404},
		} {
			wantAPIError(t, apiCall(t, f, apiReq("GET", "/api/v1/items"+tc.query, author, nil)), tc.status, tc.code, tc.field)
		}
	})
}

func TestAPIItemCommentsEnemiesPreview(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		author, psy := f.Token(t, f.Users.Author), f.Token(t, f.Users.Psychometrician)
		id := "/api/v1/items/" + f.Items[0].ID
		resp := apiCall(t, f, apiReq("POST", id+"/comments", psy, map[string]any{"body": "Option C is a near-key.", "version": 1}))
		wantAPIStatus(t, resp, http.StatusCreated)
		wantAPIError(t, apiCall(t, f, apiReq("POST", id+"/comments", psy, map[string]any{"body": ""})), 422, "invalid", "body")
		wantAPIError(t, apiCall(t, f, apiReq("POST", id+"/comments", psy, map[string]any{"body": "x", "version": 9})), 422, "invalid", "version")
		wantAPIError(t, apiCall(t, f, apiReq("GET", "/api/v1/items/"+uuid.NewString()+"/comments", psy, nil)), 404, "not_found", "")
		resp = apiCall(t, f, apiReq("GET", id+"/comments", author, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		var comments []struct {
			Body    string `json:"body"`
			Version int    `json:"version"`
		}
		resp.JSON(t, &comments)
		if len(comments) != 1 || comments[0].Body != "Option C is a near-key." || comments[0].Version != 1 {
			t.Errorf("comments: got %s", resp.Body)
		}

		enemies := []string{f.Items[1].ID, f.Items[4].ID}
		resp = apiCall(t, f, apiReq("PUT", id+"/enemies", author, map[string]any{"enemies": enemies}))
		wantAPIStatus(t, resp, http.StatusOK)
		got := wantItem(t, apiCall(t, f, apiReq("GET", "/api/v1/items/"+f.Items[1].ID, author, nil)), 200, "approved", 1, 1)
		if !slices.Equal(got.Enemies, []string{f.Items[0].ID}) {
			t.Errorf("enemies of item 2: got %v, want [%s] (the relation is symmetric)", got.Enemies, f.Items[0].ID)
		}
		wantAPIError(t, apiCall(t, f, apiReq("PUT", id+"/enemies", author, map[string]any{"enemies": []string{"x"}})), 422, "invalid", "enemies[0]")
		wantAPIError(t, apiCall(t, f, apiReq("PUT", id+"/enemies", psy, map[string]any{"enemies": enemies})), 403, "forbidden", "")

		// The preview is the candidate's view: Markdown rendered, no key.
		resp = apiCall(t, f, apiReq("POST", "/api/v1/items/preview", author, map[string]any{
			"kind": "ordering", "domain": "D1", "stem": "Put **these** in order <script>alert(1)</script>",
			"options": []map[string]string{{"id": "x", "text": "One"}, {"id": "y", "text": "Two"}, {"id": "z", "text": "Three"}},
			"keys":    []string{"x", "y", "z"}, "rationale": f.Items[0].Rationale}))
		wantAPIStatus(t, resp, http.StatusOK)
		checkNoKeyLeak(t, f, "preview", resp.Body)
		var cc struct {
			Kind    string `json:"kind"`
			Stem    string `json:"stem"`
			Options []struct {
				ID, HTML string
			} `json:"options"`
		}
		resp.JSON(t, &cc)
		if cc.Kind != "ordering" || !bytes.Contains([]byte(cc.Stem), []byte("<strong>these</strong>")) || bytes.Contains([]byte(cc.Stem), []byte("<script")) || len(cc.Options) != 3 {
			t.Errorf("preview: got %s", resp.Body)
		}
		// An incomplete item previews too; only an unknown kind is refused.
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/items/preview", author, map[string]any{"stem": "Half written"})), http.StatusOK)
		wantAPIError(t, apiCall(t, f, apiReq("POST", "/api/v1/items/preview", author, map[string]any{"kind": "essay"})), 422, "invalid", "kind")
	})
}
