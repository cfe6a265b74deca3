package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// panelEmails are the demo's standard-setting panel.
var panelEmails = []string{"panelist1@example.com", "panelist2@example.com", "panelist3@example.com"}

// TestStandardSettingStudyInBrowser runs a two-round modified-Angoff study:
// a program manager creates it, three panelists rate in their own browsers,
// the manager releases feedback with impact data and opens round two, the
// panelists revise, and the manager adopts a cut. The next candidate's
// pass is decided by the new standard version and their credential cites
// it.
func TestStandardSettingStudyInBrowser(t *testing.T) {
	pm := browser(t)
	axe := optionalAxe(t)
	s := startServer(t, "sqlite")
	token := s.login(t, "manager@example.com")
	e := s.exam(t, token, "Formulas")

	run := func(ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			screenshot(t, ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	signIn(t, pm, s, "manager@example.com")
	run(pm, "fill the new study form",
		chromedp.Navigate(s.URL+"/standards/exams/"+e.ID+"/studies/new"),
		chromedp.WaitVisible(`#new-study-form`),
		chromedp.SendKeys(`#title`, "Formulas cut score 2026"),
		chromedp.SendKeys(`#mcc`, "Writes everyday formulas with relative and absolute references without help."),
		chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('input[name=panelists]').forEach(el => { el.checked = true });
			document.querySelectorAll('input[id^=qualification-]').forEach((el, i) => { el.value = 'Spreadsheet trainer, ' + (5 + i) + ' years' }); true`),
	)
	screenshot(t, pm, "study-new")
	if axe != "" {
		checkAxe(t, pm, axe, "new study form")
	}
	navigateBy(t, pm, "create study", chromedp.Click(`#create-study`))
	run(pm, "see the study", chromedp.WaitVisible(`#study-status`))
	studyURL := read(t, pm, "location", chromedp.Location())
	studyID := studyURL[strings.LastIndex(studyURL, "/")+1:]
	if got := read(t, pm, "status", chromedp.Text(`#study-status`)); !strings.Contains(got, "Round 1 of 2") {
		t.Fatalf("new study status %q", got)
	}

	panel := make([]context.Context, len(panelEmails))
	for i, email := range panelEmails {
		panel[i] = browser(t)
		signIn(t, panel[i], s, email)
	}
	// rate sets every rating input of a panelist's page to pct, as typed,
	// waits until each one reports it saved, and submits the round.
	rate := func(i int, pct int, round int) {
		t.Helper()
		ctx := panel[i]
		run(ctx, "open the study", chromedp.Navigate(s.URL+"/panel/studies/"+studyID), chromedp.WaitVisible(`#panel-form`))
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`(() => { const xs = document.querySelectorAll('.rating-input');
				xs.forEach(el => { el.value = '%d'; el.dispatchEvent(new Event('change', {bubbles: true})); }); return xs.length; })()`, pct)))
		if err != nil || n == 0 {
			t.Fatalf("panelist %d round %d: %d inputs, %v", i+1, round, n, err)
		}
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](`[...document.querySelectorAll('.panel-item .save-status')].every(el => el.textContent === 'Saved')`))
		if err != nil {
			screenshot(t, ctx, "failed-panel-save")
			t.Fatalf("panelist %d round %d: ratings not all saved: %v", i+1, round, err)
		}
		navigateBy(t, ctx, "submit round", chromedp.Click(`#submit-round`))
		if err := chromedp.Do(ctx, chromedp.WaitVisible(`#submitted-note`)); err != nil {
			screenshot(t, ctx, "failed-panel-submit")
			t.Fatalf("panelist %d round %d not submitted: %v", i+1, round, err)
		}
	}
	for i := range panel {
		rate(i, 40+10*i, 1) // cuts 40%, 50%, 60% of the items
	}

	navigateBy(t, pm, "study page", chromedp.Navigate(s.URL+"/studies/"+studyID))
	if got := read(t, pm, "status", chromedp.Text(`#study-status`)); !strings.Contains(got, "3 of 3 submitted") {
		t.Fatalf("after round 1: %q", got)
	}
	navigateBy(t, pm, "release feedback", chromedp.Click(`#release-feedback`))
	impact := read(t, pm, "impact", chromedp.Text(`#round-impact`))
	if !strings.HasSuffix(strings.TrimSpace(impact), "%") {
		t.Fatalf("impact at the panel's cut: %q, want a pass rate", impact)
	}
	navigateBy(t, pm, "open round 2", chromedp.Click(`#open-round`))

	// Round 2: panelists see the released feedback and converge.
	for i := range panel {
		if err := chromedp.Do(panel[i], chromedp.Navigate(s.URL+"/panel/studies/"+studyID), chromedp.WaitVisible(`#feedback`)); err != nil {
			t.Fatalf("panelist %d sees no feedback: %v", i+1, err)
		}
		if i == 0 {
			screenshot(t, panel[i], "study-panelist")
			if axe != "" {
				checkAxe(t, panel[i], axe, "panelist study page")
			}
		}
		rate(i, 50+5*i, 2)
	}

	navigateBy(t, pm, "study page", chromedp.Navigate(s.URL+"/studies/"+studyID))
	screenshot(t, pm, "study")
	if axe != "" {
		checkAxe(t, pm, axe, "study page")
	}
	recommended := read(t, pm, "recommended cut", chromedp.Value(`#cut`))
	// Adopt a cut one point above the panel's, with the reason on record.
	var cut float64
	fmt.Sscan(recommended, &cut)
	adopted := fmt.Sprintf("%.2f", cut+1)
	run(pm, "fill the adoption",
		chromedp.SetValue(`#cut`, adopted),
		chromedp.SendKeys(`#reason`, "One point above the panel: the SE of the cut and the program's policy on false positives."),
	)
	navigateBy(t, pm, "adopt", chromedp.Click(`#adopt`))
	decision := read(t, pm, "decision", chromedp.Text(`#decision`))
	if !strings.Contains(decision, "version") || !strings.Contains(decision, adopted) {
		t.Fatalf("decision %q, want the adopted version with cut %s", decision, adopted)
	}
	var standards []struct {
		ID      string  `json:"id"`
		Version int     `json:"version"`
		Status  string  `json:"status"`
		Cut     float64 `json:"cut"`
		StudyID string  `json:"study_id"`
	}
	if st := s.call(t, "GET", "/api/v1/exams/"+e.ID+"/standards", token, nil, &standards); st != http.StatusOK || len(standards) == 0 {
		t.Fatalf("standards: %d %+v", st, standards)
	}
	latest := standards[0]
	if latest.StudyID != studyID || latest.Status != "approved" || fmt.Sprintf("%.2f", latest.Cut) != adopted {
		t.Fatalf("latest standard %+v, want the adopted one from study %s", latest, studyID)
	}
	navigateBy(t, pm, "report", chromedp.Navigate(s.URL+"/studies/"+studyID+"/report"))
	screenshot(t, pm, "study-report")
	if report := read(t, pm, "report", chromedp.Text(`main`)); !strings.Contains(report, "Spreadsheet trainer, 5 years") || !strings.Contains(report, adopted) {
		t.Fatalf("the report lacks the panel's qualifications or the adopted cut: %.500s", report)
	}

	// The next candidate is decided by the new version; the credential cites it.
	credID := passByAPI(t, s, "candidate@example.com", "Formulas")
	var cred map[string]any
	if st := s.call(t, "GET", "/api/v1/credentials/"+credID, s.login(t, "candidate@example.com"), nil, &cred); st != http.StatusOK {
		t.Fatalf("credential: %d", st)
	}
	if doc := fmt.Sprint(cred); !strings.Contains(doc, fmt.Sprintf("standard-v%d", latest.Version)) {
		t.Fatalf("the credential does not cite standard version %d: %.600s", latest.Version, doc)
	}
}
