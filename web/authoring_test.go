package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// itemForm is a posted editor form for a single-choice item; change what
// a case needs.
func itemForm(stem string) url.Values {
	return url.Values{
		"kind": {"single_choice"}, "domain": {"F-REF"}, "stem": {stem}, "rationale": {"Because $A$1 is absolute."},
		"option_id": {"oa", "ob", "oc", "od"}, "option_text": {"=A1", "=$A$1", "=A$1", ""}, "key": {"ob"},
		"skills": {"Absolute references\n\n"}, "points": {""},
	}
}

// createdID returns the item id a successful create redirected to.
func createdID(t *testing.T, r response) string {
	t.Helper()
	wantCode(t, "create", r, http.StatusSeeOther)
	id, ok := strings.CutPrefix(r.Location, "/authoring/items/")
	if !ok {
		t.Fatalf("create: redirected to %q, want the new item's page", r.Location)
	}
	id, _, _ = strings.Cut(id, "?")
	return id
}

func TestAuthoringPageAccess(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	item := f.items[0].ID
	all := []string{"", "admin", "manager", "psychometrician", "proctor", "author", "candidate"}
	only := func(users ...string) []string { return users }
	for _, tt := range []struct {
		path    string
		allowed []string
	}{
		{"/authoring/items", only("admin", "manager", "psychometrician", "author")},
		{"/authoring/items?status=approved&q=reference&kind=single_choice&domain=F-REF", only("admin", "manager", "psychometrician", "author")},
		{"/authoring/items/new", only("admin", "author")},
		{"/authoring/items/new?kind=matching", only("admin", "author")},
		{"/authoring/items/" + item, only("admin", "manager", "psychometrician", "author")},
		{"/authoring/review", only("manager", "psychometrician", "author")},
		{"/authoring/exams/" + f.exam.ID, only("admin", "author")},
	} {
		for _, u := range all {
			name := u
			if name == "" {
				name = "signed out"
			}
			t.Run(tt.path+"/"+name, func(t *testing.T) {
				r := f.as(u).get(tt.path)
				switch {
				case slices.Contains(tt.allowed, u):
					wantCode(t, "GET "+tt.path, r, http.StatusOK)
					checkPage(t, tt.path, r)
				case u == "":
					if r.Status != http.StatusFound || r.Location != "/login?next="+url.QueryEscape(tt.path) {
						t.Errorf("signed out: %d %q, want a redirect to the login page", r.Status, r.Location)
					}
				default:
					wantCode(t, "GET "+tt.path, r, http.StatusForbidden)
				}
			})
		}
	}
	wantCode(t, "unknown item", f.as("author").get("/authoring/items/00000000-0000-4000-8000-00000000abcd"), http.StatusNotFound)
	wantCode(t, "malformed item id", f.as("author").get("/authoring/items/nope"), http.StatusNotFound)
}

// An item's life through the pages' forms, as a browser without scripts
// would post them.
func TestAuthoringFlow(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	author, psych, manager := f.as("author"), f.as("psychometrician"), f.as("manager")

	// A kind chosen without scripts shows its fields and keeps the text.
	form := itemForm("Which reference stays put?")
	form.Set("kind", "numeric")
	form.Set("action", "kind")
	r := author.post("/authoring/items", form)
	wantCode(t, "change kind", r, http.StatusOK)
	wantContains(t, "numeric fields", r, `id="f-numeric-value"`, "Which reference stays put?", `<option value="numeric" selected>`)
	if strings.Contains(r.Body, `data-kinds="numeric" hidden`) {
		t.Error("numeric fields hidden after choosing numeric")
	}

	// An invalid item comes back with the error and what was typed.
	form = itemForm("Which reference stays put?")
	form.Del("key")
	r = author.post("/authoring/items", form)
	wantCode(t, "no key", r, http.StatusUnprocessableEntity)
	wantContains(t, "no key", r, `role="alert"`, "<code>key</code>", `href="#f-options"`, `value="=$A$1"`, "Which reference stays put?")
	checkPage(t, "editor with an error", r)

	id := createdID(t, author.post("/authoring/items", itemForm("Which reference stays put when copied?")))
	page := "/authoring/items/" + id
	r = author.get(page + "?done=created")
	wantContains(t, "new draft", r, "Draft created", "Draft", `value="=$A$1"`, `id="opt-key-2" name="key" value="ob" checked`, "Absolute references",
		"Submit for review", "Because $A$1 is absolute.", `src="/static/authoring.js"`, "Not delivered until a reviewer approves it")
	if strings.Contains(r.Body, "Approve version") {
		t.Error("the author is offered to approve their own draft")
	}

	// The live preview's fallback shows the candidate's view, without key.
	wantContains(t, "preview", r, `id="preview"`, "<p>Which reference stays put when copied?</p>")

	wantCode(t, "edit draft", author.post(page, itemForm("Which reference never moves when copied?")), http.StatusSeeOther)
	wantCode(t, "submit", author.post(page+"/submit", nil), http.StatusSeeOther)
	r = author.get(page)
	wantContains(t, "in review, as its author", r, "In review", "content is locked", "another reviewer must approve it", "Send back to draft")
	if !strings.Contains(r.Body, `<fieldset class="editor-fields" disabled>`) {
		t.Error("the editor is not read-only in review")
	}
	// The author's own approval is refused, with the reason on the page.
	r = author.post(page+"/approve", nil)
	wantCode(t, "self approval", r, http.StatusForbidden)
	wantContains(t, "self approval", r, "You wrote part of this change")

	// The review queue shows it to others, not to its author.
	if r := author.get("/authoring/review"); strings.Contains(r.Body, page) || !strings.Contains(r.Body, "1 more item is in review") {
		t.Errorf("the author's review queue: lists the item %v; want it left out and counted", strings.Contains(r.Body, page))
	}
	wantContains(t, "psychometrician's queue", psych.get("/authoring/review"), page, "Which reference never moves when copied?")

	r = psych.post(page+"/request-changes", url.Values{"comment": {""}})
	wantCode(t, "request changes without a comment", r, http.StatusUnprocessableEntity)
	wantContains(t, "request changes without a comment", r, "<code>comment</code>")
	wantCode(t, "request changes", psych.post(page+"/request-changes", url.Values{"comment": {"Say “when copied down”."}}), http.StatusSeeOther)
	wantContains(t, "sent back", author.get(page), "Say “when copied down”.", "Helena Lindqvist", "on version 2", "Draft")
	wantCode(t, "resubmit", author.post(page+"/submit", nil), http.StatusSeeOther)
	wantCode(t, "approve", psych.post(page+"/approve", url.Values{"note": {"Good item."}}), http.StatusSeeOther)
	r = author.get(page + "?done=approved")
	wantContains(t, "approved", r, "Approved: this version is now the one candidates get.", "Candidates get version 2", "Good item.", `id="versions"`)

	// An edit of the approved item is a new draft; delivery stays.
	r = author.post(page, itemForm("Which reference never moves?"))
	wantCode(t, "edit approved", r, http.StatusSeeOther)
	wantContains(t, "edited approved", author.get(page), "Candidates get version 2; version 3 is not approved yet", "Draft")

	// Comments, enemies, retirement.
	wantCode(t, "comment", psych.post(page+"/comments", url.Values{"body": {"Check the exhibit."}, "version": {"0"}}), http.StatusSeeOther)
	wantCode(t, "enemies", author.post(page+"/enemies", url.Values{"enemies": {f.items[1].ID}}), http.StatusSeeOther)
	r = author.get(page)
	wantContains(t, "comment and enemy", r, "Check the exhibit.", "/authoring/items/"+f.items[1].ID)
	r = author.post(page+"/enemies", url.Values{"enemies": {"not-an-id"}})
	wantCode(t, "bad enemy", r, http.StatusUnprocessableEntity)
	wantCode(t, "retire as author", author.post(page+"/retire", url.Values{"reason": {"x"}}), http.StatusForbidden)
	r = manager.post(page+"/retire", url.Values{"reason": {""}})
	wantCode(t, "retire without reason", r, http.StatusUnprocessableEntity)
	wantCode(t, "retire", manager.post(page+"/retire", url.Values{"reason": {"Replaced by a better item."}}), http.StatusSeeOther)
	r = author.get(page)
	wantContains(t, "retired", r, "Retired", "Never delivered again.")
	r = author.post(page, itemForm("Too late"))
	wantCode(t, "edit retired", r, http.StatusConflict)

	// The list finds it by words, status and kind.
	r = author.get("/authoring/items?q=never+moves&status=retired&kind=single_choice")
	wantContains(t, "search", r, page, "Retired")
	if strings.Contains(r.Body, "/authoring/items/"+f.items[0].ID) {
		t.Error("search lists an item that does not match")
	}
	r = author.get("/authoring/items?status=active")
	wantContains(t, "bad filter", r, "The filter status must be one of")
}

// Every kind's fields survive a round trip through the form.
func TestAuthoringEveryKind(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	author := f.as("author")
	base := func(kind string) url.Values {
		return url.Values{"kind": {kind}, "domain": {"F-LOG"}, "stem": {"A " + kind + " item"}}
	}
	for _, tc := range []struct {
		kind string
		form url.Values
		want []string
	}{
		{"true_false", url.Values{"tf_key": {"false"}}, []string{`id="tf-false" name="tf_key" value="false" checked`}},
		{"multiple_response", url.Values{"option_id": {"m1", "m2", "m3"}, "option_text": {"IF", "AND", "OR"}, "keys": {"m2", "m3"}, "scoring": {"partial"}},
			[]string{`name="keys" value="m2" checked`, `name="keys" value="m3" checked`, `<option value="partial" selected>`}},
		{"numeric", url.Values{"numeric_value": {"0.25"}, "numeric_tolerance": {"0.01"}, "numeric_relative": {"1"}},
			[]string{`name="numeric_value" value="0.25"`, `name="numeric_tolerance" value="0.01"`, `name="numeric_relative" value="1" checked`}},
		{"short_text", url.Values{"accepted": {"SUMIFS\nsumifs()"}, "case_sensitive": {"1"}}, []string{"SUMIFS\nsumifs()", `name="case_sensitive" value="1" checked`}},
		{"ordering", url.Values{"option_id": {"r3", "r1", "r2"}, "option_text": {"Third", "First", "Second"}},
			[]string{`value="r3">`, `value="Third"`}},
		{"matching", url.Values{"option_id": {"p1", "p2"}, "option_text": {"SUM", "COUNT"}, "pair_p1": {"t1"}, "pair_p2": {"t2"},
			"target_id": {"t1", "t2", "t3"}, "target_text": {"adds", "counts", "averages"}},
			[]string{`<option value="t1" selected>Target 1: adds</option>`, `<option value="t2" selected>Target 2: counts</option>`}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			form := base(tc.kind)
			for k, v := range tc.form {
				form[k] = v
			}
			r := author.post("/authoring/items", form)
			if r.Status != http.StatusSeeOther {
				t.Fatalf("create %s: status %d; body: %.2000s", tc.kind, r.Status, r.Body)
			}
			id := createdID(t, r)
			page := author.get("/authoring/items/" + id)
			wantContains(t, tc.kind, page, tc.want...)
			wantContains(t, tc.kind, page, fmt.Sprintf(`<option value="%s" selected>`, tc.kind))
		})
	}
	// The ordering item's key is the order of the rows.
	r := author.post("/authoring/items", url.Values{"kind": {"ordering"}, "domain": {"F-LOG"}, "stem": {"Order"},
		"option_id": {"r3", "r1", "r2"}, "option_text": {"Third", "First", "Second"}})
	id := createdID(t, r)
	resp := author.api(http.MethodGet, "/api/v1/items/"+id, nil)
	wantContains(t, "ordering keys", resp, `"keys":["r3","r1","r2"]`)
}

// TestAuthoringScreenshots takes the list, editor and review pages in a
// real browser at two widths, with the live preview running; it runs with
// TOUCHSTONE_SCREENSHOTS=dir (the pictures are kept there) or
// TOUCHSTONE_TEST_BROWSER=1.
func TestAuthoringScreenshots(t *testing.T) {
	browser := startBrowser(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	f := newFixture(t, fixtureOptions{BaseURL: base, Now: time.Now, Items: 8})
	go func() { _ = f.srv.App().Listener(ln) }()
	t.Cleanup(func() { _ = f.srv.App().Shutdown() })
	author := f.as("author")
	form := itemForm("Cell **B2** holds `=A$1*2`. Which reference in it stays fixed when the formula is copied *down*?")
	form.Set("exhibit", "| A | B |\n|---|---|\n| 10 | =A$1*2 |")
	id := createdID(t, author.post("/authoring/items", form))
	if r := author.post("/authoring/items/"+id+"/submit", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("submit: %d", r.Status)
	}
	ctx, cancel := context.WithTimeout(browser, 3*time.Minute) // a step that never comes fails, not hangs
	defer cancel()
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browserStep(t, ctx, "step", steps...)
	}
	shoot := func(name, path string) {
		t.Helper()
		for _, w := range []int64{1280, 390} {
			do(chromedp.EmulateViewport(w, 900), chromedp.Navigate(base+path), chromedp.WaitReady("body"), chromedp.Sleep(600*time.Millisecond))
			saveScreenshot(t, ctx, fmt.Sprintf("authoring-%s-%d", name, w), wholePage)
		}
		do(chromedp.EmulateViewport(1280, 900))
	}
	login := func(user string) {
		t.Helper()
		signInByForm(t, ctx, base, f.users[user].Email, password)
	}
	login("author")
	shoot("list", "/authoring/items")
	shoot("new", "/authoring/items/new")
	shoot("item-in-review", "/authoring/items/"+id)
	shoot("item-approved", "/authoring/items/"+f.items[0].ID)
	// The live preview follows typing.
	do(chromedp.Navigate(base+"/authoring/items/"+f.items[1].ID), chromedp.WaitVisible(chromedp.ID("f-stem")),
		chromedp.SendKeys(chromedp.ID("f-stem"), " **Live edit**"), chromedp.Sleep(1200*time.Millisecond))
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('preview').innerHTML`))
	if err != nil || !strings.Contains(html, "<strong>Live edit</strong>") {
		t.Errorf("live preview after typing: %q (err %v), want the new words rendered", html, err)
	}
	login("psychometrician")
	shoot("review", "/authoring/review")
	shoot("item-reviewer", "/authoring/items/"+id)
}
