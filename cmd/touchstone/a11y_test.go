package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// axeTags are the rule sets the candidate pages must pass: WCAG 2.0, 2.1
// and 2.2 at levels A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// axeSource returns axe-core's browser bundle from web/a11y/node_modules
// (`npm ci` in web/a11y installs it); it skips without it unless services
// are required.
func axeSource(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs("../../web/a11y/node_modules/axe-core/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		if dbtest.RequireServices() {
			t.Fatalf("TOUCHSTONE_REQUIRE_SERVICES=1 but axe-core is missing (%v): run `npm ci` in web/a11y", err)
		}
		t.Skipf("axe-core missing (%v): run `npm ci` in web/a11y", err)
	}
	return string(src)
}

// axeViolation is one failed axe rule with the elements that fail it.
type axeViolation struct {
	ID    string `json:"id"`
	Help  string `json:"help"`
	Nodes []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// checkAxe injects axe-core into the page (DevTools evaluation is not bound
// by the page's Content-Security-Policy) and fails the test listing every
// violation of axeTags.
func checkAxe(t *testing.T, ctx context.Context, src, what string) {
	t.Helper()
	for _, v := range runAxe(t, ctx, src, what) {
		var b strings.Builder
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "\n      %v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
		}
		t.Errorf("%s: axe %s: %s%s", what, v.ID, v.Help, b.String())
	}
	screenshot(t, ctx, "a11y-"+strings.NewReplacer(" ", "-", "/", "-").Replace(what))
}

// runAxe injects axe-core into the page and returns the violations of
// axeTags.
func runAxe(t *testing.T, ctx context.Context, src, what string) []axeViolation {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("window.axe || (function(){"+src+"\n})(); true")); err != nil {
		t.Fatalf("%s: inject axe: %v", what, err)
	}
	tags, _ := json.Marshal(axeTags)
	script := `axe.run(document, {runOnly: {type: 'tag', values: ` + string(tags) + `}, resultTypes: ['violations']})
		.then(r => r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary}))})))`
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe: %v", what, err)
	}
	return violations
}

// checkNoHorizontalScroll fails when the page is wider than the viewport
// (WCAG 1.4.10 reflow at 320 CSS px).
func checkNoHorizontalScroll(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	type widths struct{ Scroll, Client int }
	w, err := chromedp.Run(ctx, chromedp.Evaluate[widths](`({Scroll: document.documentElement.scrollWidth, Client: document.documentElement.clientWidth})`))
	if err != nil {
		t.Fatalf("%s: measure: %v", what, err)
	}
	if w.Scroll > w.Client {
		wide, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('body *')]
			.filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
			.filter(e => !e.closest('.table-wrap, .chart-wrap, .rich table, .rich pre, .site-nav'))
			.slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : ''))`))
		t.Errorf("%s: page is %d px wide in a %d px viewport (horizontal scroll); too wide: %v", what, w.Scroll, w.Client, wide)
	}
	screenshot(t, ctx, "reflow-"+strings.NewReplacer(" ", "-", "/", "-").Replace(what))
}

// harnessPage renders one question of each kind with question.js, the
// module the player and the author's preview share, and records every
// answer it reports in window.answers.
const harnessPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>question.js harness</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main id="main" class="container section"><h1>Questions of every kind</h1><div id="list"></div></main>
<script type="module">
import { renderQuestion } from '/static/question.js';
const kinds = {
  single_choice: {kind: 'single_choice', stem: '<p>Which formula sums <code>A1:A3</code>?</p>', exhibit: '<table><thead><tr><th>A</th></tr></thead><tbody><tr><td>1</td></tr><tr><td>2</td></tr></tbody></table>',
    options: [{id: 'a', html: '<p><code>=SUM(A1:A3)</code></p>'}, {id: 'b', html: '<p><code>=ADD(A1:A3)</code></p>'}, {id: 'c', html: '<p>Neither</p>'}], points: 1},
  true_false: {kind: 'true_false', stem: '<p>An absolute reference keeps its row when copied.</p>', options: [{id: 'true', html: 'True'}, {id: 'false', html: 'False'}], points: 1},
  multiple_response: {kind: 'multiple_response', stem: '<p>Which functions aggregate?</p>', options: [{id: 'a', html: 'SUM'}, {id: 'b', html: 'LEFT'}, {id: 'c', html: 'AVERAGE'}], points: 2},
  numeric: {kind: 'numeric', stem: '<p>What does <code>=7/2</code> show?</p>', points: 1},
  short_text: {kind: 'short_text', stem: '<p>Name the function that joins text.</p>', points: 1},
  ordering: {kind: 'ordering', stem: '<p>Order the steps of building a pivot table.</p>', options: [{id: 'o1', html: 'Select the data'}, {id: 'o2', html: 'Insert the pivot table'}, {id: 'o3', html: 'Drag fields to rows'}], points: 1},
  matching: {kind: 'matching', stem: '<p>Match each function to its purpose.</p>', options: [{id: 'm1', html: '<code>VLOOKUP</code>'}, {id: 'm2', html: '<code>TRIM</code>'}],
    targets: [{id: 't1', html: 'Removes extra spaces'}, {id: 't2', html: 'Finds a value in a table'}, {id: 't3', html: 'Rounds a number'}], points: 2},
};
window.answers = {};
window.views = {};
const list = document.getElementById('list');
for (const [kind, content] of Object.entries(kinds)) {
  const section = document.createElement('section');
  section.className = 'card question-card';
  section.id = 'card-' + kind;
  const h = document.createElement('h2');
  h.textContent = kind;
  const box = document.createElement('div');
  section.append(h, box);
  list.append(section);
  window.views[kind] = renderQuestion(box, content, {idPrefix: kind, onAnswer: (a) => { window.answers[kind] = a; }});
}
const ro = document.createElement('section');
ro.className = 'card question-card';
ro.id = 'card-readonly';
list.append(ro);
renderQuestion(ro, kinds.single_choice, {idPrefix: 'ro', readOnly: true, answer: {choice: 'b'}});
window.ready = true;
</script></body></html>`

// TestQuestionKinds renders a question of every kind with question.js and
// checks that each is accessible (axe, WCAG 2.2 AA), operable with the
// keyboard, and reports the contract's Answer shapes.
func TestQuestionKinds(t *testing.T) {
	ctx := browser(t)
	src := axeSource(t)
	static, err := filepath.Abs("../../web/static")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir(static))))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, harnessPage)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			screenshot(t, ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	run("open the harness", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(`#card-readonly input`))
	checkAxe(t, ctx, src, "question kinds")

	// Keyboard: every answer is given with keys only.
	run("answer with the keyboard",
		chromedp.Focus(`#single_choice-a`), chromedp.KeyEvent(kb.ArrowDown), // arrow down selects the next radio
		chromedp.Focus(`#true_false-true`), chromedp.KeyEvent(" "),
		chromedp.Focus(`#multiple_response-a`), chromedp.KeyEvent(" "),
		chromedp.Focus(`#multiple_response-c`), chromedp.KeyEvent(" "),
		chromedp.Focus(`#numeric-text`), chromedp.KeyEvent("3.5"),
		chromedp.Focus(`#short_text-text`), chromedp.KeyEvent("CONCAT"),
		chromedp.Focus(`#card-ordering button[data-move="down"][data-id="o1"]`), chromedp.KeyEvent(kb.Enter),
	)
	// The move is announced, and focus stays on the moved item's button.
	type after struct{ Live, Focused, Numeric string }
	a, err := chromedp.Run(ctx, chromedp.Evaluate[after](`({Live: document.getElementById('ordering--live').textContent,
		Focused: document.activeElement.getAttribute('aria-label') || '',
		Numeric: document.getElementById('numeric-text').getAttribute('inputmode')})`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Live != "Select the data moved to position 2 of 3." {
		t.Errorf("ordering live region says %q, want the new position", a.Live)
	}
	if a.Focused != "Move down: Select the data" {
		t.Errorf("after a move, focus is on %q, want the moved item's Move down button", a.Focused)
	}
	if a.Numeric != "decimal" {
		t.Errorf("numeric input has inputmode %q, want decimal", a.Numeric)
	}
	run("choose matches with the keyboard",
		chromedp.Focus(`#matching-m1`), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown),
		chromedp.Focus(`#matching-m2`), chromedp.KeyEvent(kb.ArrowDown),
	)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`window.answers`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"single_choice":     `{"choice":"b"}`,
		"true_false":        `{"choice":"true"}`,
		"multiple_response": `{"choices":["a","c"]}`,
		"numeric":           `{"text":"3.5"}`,
		"short_text":        `{"text":"CONCAT"}`,
		"ordering":          `{"choices":["o2","o1","o3"]}`,
		"matching":          `{"pairs":{"m1":"t2","m2":"t1"}}`,
	}
	for kind, w := range want {
		b, _ := json.Marshal(got[kind])
		if string(b) != w {
			t.Errorf("%s: answer %s, want %s", kind, b, w)
		}
	}

	// Read-only shows the answer and accepts nothing.
	ro, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`[document.getElementById('ro-b').checked, document.querySelector('#card-readonly fieldset').disabled]`))
	if err != nil {
		t.Fatal(err)
	}
	if !ro[0] || !ro[1] {
		t.Errorf("read-only question: answer checked %v, fieldset disabled %v; want both", ro[0], ro[1])
	}
	checkAxe(t, ctx, src, "question kinds answered")

	run("narrow", chromedp.EmulateViewport(320, 800))
	checkNoHorizontalScroll(t, ctx, "question kinds at 320px")

	// The checks can fail: an unlabelled control is reported.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('list').append(document.createElement('select'))`)); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range runAxe(t, ctx, src, "canary") {
		found = found || v.ID == "select-name"
	}
	if !found {
		t.Error("axe did not report an unlabelled select: the accessibility check is not running")
	}
}

// TestCandidatePagesAccessible signs in as the demo candidate and checks
// every page a candidate meets with axe-core (WCAG 2.2 AA): home, sign-in,
// the exam list, a question of each kind the demo exam has, the submit
// dialog, the score report (also as printed) and the badges; then the same
// pages at 320 CSS px must not scroll sideways.
func TestCandidatePagesAccessible(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server with the demo (-short skips it)")
	}
	src := axeSource(t)
	s := startServer(t, "sqlite")
	ctx := browser(t)
	t.Logf("server up at %s", s.URL)

	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			screenshot(t, ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	pages := []string{"/"}
	run("home", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(`#main`))
	checkAxe(t, ctx, src, "home")
	run("sign-in page", chromedp.Navigate(s.URL+"/login"), chromedp.WaitVisible(`input[name=email]`))
	checkAxe(t, ctx, src, "sign-in")
	signIn(t, ctx, s, "candidate@example.com")

	run("exam list", chromedp.Navigate(s.URL+"/exams"), chromedp.WaitVisible(`.exam-list`))
	checkAxe(t, ctx, src, "exams")
	run("badges", chromedp.Navigate(s.URL+"/badges"), chromedp.WaitVisible(`#main h1`))
	checkAxe(t, ctx, src, "badges")
	pages = append(pages, "/exams", "/badges")

	token := s.login(t, "candidate@example.com")
	e := s.exam(t, token, "Spreadsheet Skills — Item types")
	attemptID := startInBrowser(t, ctx, s, e.ID)
	a := s.attempt(t, token, attemptID)
	seen := map[string]bool{}
	for i, it := range a.Items {
		kind := it.Content.Kind
		if seen[kind] {
			continue
		}
		seen[kind] = true
		run("question "+kind, chromedp.Click(fmt.Sprintf(`.qmap button[data-index="%d"]`, i)),
			chromedp.WaitVisible(fmt.Sprintf(`#question-body[data-item-id=%q] .question`, it.ItemID)))
		checkAxe(t, ctx, src, "player "+kind)
	}
	run("submit dialog", chromedp.Click(`#submit`), chromedp.WaitVisible(`#confirm-submit`))
	checkAxe(t, ctx, src, "submit dialog")
	run("submit", chromedp.Click(`#confirm-submit`), chromedp.WaitVisible(`#result-status`))
	checkAxe(t, ctx, src, "result")
	run("print view", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	}))
	screenshot(t, ctx, "result-print")
	run("screen view", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: ""})
		return err
	}))
	pages = append(pages, "/attempts/"+attemptID+"/result")

	// Reflow: at 320 CSS px nothing scrolls sideways, the player included.
	second := startInBrowser(t, ctx, s, s.exam(t, token, "Charts").ID)
	pages = append(pages, "/attempts/"+second)
	run("narrow", chromedp.EmulateViewport(320, 800))
	for _, p := range pages {
		run("narrow "+p, chromedp.Navigate(s.URL+p), chromedp.WaitVisible(`#main`), chromedp.Sleep(300*time.Millisecond))
		checkNoHorizontalScroll(t, ctx, "320px "+p)
	}
}

// signIn signs the browser in through the sign-in form.
func signIn(t *testing.T, ctx context.Context, s *server, email string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=password]`, demoPassword),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitNotPresent(`input[name=password]`),
	)
	if err != nil {
		screenshot(t, ctx, "failed-sign-in")
		t.Fatalf("sign in as %s: %v", email, err)
	}
}

// startInBrowser starts (or resumes) the exam from the exam list and waits
// for the player to show its first question; it returns the attempt's id.
func startInBrowser(t *testing.T, ctx context.Context, s *server, examID string) string {
	t.Helper()
	sel := `form[action="/exams/` + examID + `/start"] button`
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/exams"),
		chromedp.WaitVisible(sel),
		chromedp.Click(sel),
		chromedp.WaitVisible(`#question-body .question`),
	)
	if err != nil {
		screenshot(t, ctx, "failed-start")
		t.Fatalf("start exam %s: %v", examID, err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(loc, s.URL+"/attempts/"), "#")
	return id
}

// contractAttempt is GET /api/v1/attempts/:id as the Attempt API contract
// gives it.
type contractAttempt struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	Mode             string    `json:"mode"`
	Deadline         time.Time `json:"deadline"`
	ServerTime       time.Time `json:"server_time"`
	RemainingSeconds float64   `json:"remaining_seconds"`
	Items            []struct {
		Position int    `json:"position"`
		ItemID   string `json:"item_id"`
		Section  string `json:"section"`
		Content  struct {
			Kind    string `json:"kind"`
			Options []struct {
				ID string `json:"id"`
			} `json:"options"`
		} `json:"content"`
		Answer  json.RawMessage `json:"answer"`
		Flagged bool            `json:"flagged"`
		Seq     int64           `json:"seq"`
	} `json:"items"`
}

// attempt reads an attempt through the API.
func (s *server) attempt(t *testing.T, token, id string) contractAttempt {
	t.Helper()
	var a contractAttempt
	if st := s.call(t, "GET", "/api/v1/attempts/"+id, token, nil, &a); st != http.StatusOK {
		t.Fatalf("attempt %s: status %d", id, st)
	}
	return a
}
