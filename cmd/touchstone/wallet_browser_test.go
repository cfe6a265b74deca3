package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// poll waits until the expression is truthy in the page, failing the test
// with a screenshot after timeout.
func poll(t *testing.T, ctx context.Context, what, expression string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expression, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(what, " ", "-"))
		t.Fatalf("%s: %v", what, err)
	}
}

// shootWidths saves screenshots of the page at desktop and phone widths
// (390 CSS px) and checks that the phone width does not scroll sideways.
func shootWidths(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	screenshot(t, ctx, name+"-desktop")
	step(t, ctx, "narrow "+name, chromedp.EmulateViewport(390, 844), chromedp.Sleep(300*time.Millisecond))
	checkNoHorizontalScroll(t, ctx, "390px "+name)
	screenshot(t, ctx, name+"-390")
	step(t, ctx, "wide "+name, chromedp.EmulateViewport(1280, 900), chromedp.Sleep(200*time.Millisecond))
}

// A program manager defines an achievement with a colour and a level in
// the browser and sees the badge preview follow what they type; the
// editor of the new achievement shows it saved.
func TestBrowserAchievementEditor(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: starts the whole server with the demo (-short skips it)")
	}
	ctx := browser(t)
	s := startServer(t, "sqlite")
	signIn(t, ctx, s, "manager@example.com")

	step(t, ctx, "open the list",
		chromedp.Navigate(s.URL+"/manage/achievements"),
		chromedp.WaitVisible(`#achievements`),
		chromedp.WaitVisible(`#badge-preview`),
	)
	poll(t, ctx, "first preview", `document.getElementById('badge-preview').complete && document.getElementById('badge-preview').naturalWidth > 0`)
	for _, f := range []struct{ sel, text string }{
		{`#name`, "Pivot Table Pro"},
		{`#description`, "Summarises data with pivot tables."},
		{`textarea[name="criteria"]`, "Build a pivot table, then group and filter it."},
		{`#level`, "Advanced"},
		{`#validity_days`, "365"},
		{`#target_name-0`, "Pivot tables"},
		{`#target_url-0`, "https://example.org/skills/pivot"},
	} {
		step(t, ctx, "type "+f.sel, chromedp.SendKeys(f.sel, f.text))
	}
	// A colour input has no keyboard text; set it as the picker would.
	step(t, ctx, "pick a colour", chromedp.Evaluate[chromedp.Void](`(() => { const c = document.getElementById('color');
		c.value = '#b45309'; c.dispatchEvent(new Event('input', {bubbles: true})); })()`))
	poll(t, ctx, "preview follows the form", `(() => { const img = document.getElementById('badge-preview');
		return img.src.includes('name=Pivot+Table+Pro') && img.src.includes('level=Advanced') && img.src.includes('color=%23b45309') &&
			img.complete && img.naturalWidth > 0; })()`)
	if got := read(t, ctx, "colour label", chromedp.Text(`#color-value`)); got != "#b45309" {
		t.Errorf("colour label %q, want #b45309", got)
	}
	step(t, ctx, "add a skill row", chromedp.Click(`#add-alignment`), chromedp.WaitVisible(`#target_name-1`))
	step(t, ctx, "scroll to the form", chromedp.ScrollIntoView(`#new-achievement`))
	shootWidths(t, ctx, "achievement-new")

	navigateBy(t, ctx, "create", chromedp.Click(`#create-achievement`))
	step(t, ctx, "see it saved", chromedp.WaitVisible(`#saved-notice`))
	if h := read(t, ctx, "heading", chromedp.Text(`h1`)); h != "Pivot Table Pro" {
		t.Errorf("editor heading %q, want the new achievement", h)
	}
	poll(t, ctx, "saved preview", `(() => { const img = document.getElementById('badge-preview');
		return img.src.includes('color=%23b45309') && img.complete && img.naturalWidth > 0; })()`)
	for sel, want := range map[string]string{`#level`: "Advanced", `#validity_days`: "365", `#target_name-0`: "Pivot tables", `#color`: "#b45309"} {
		if got := read(t, ctx, "value of "+sel, chromedp.Evaluate[string](`document.querySelector('`+sel+`').value`)); got != want {
			t.Errorf("%s: got %q, want %q", sel, got, want)
		}
	}
	shootWidths(t, ctx, "achievement-edit")

	// The public pages: a badge that counts towards a certificate, and the
	// certificate with its pathway.
	step(t, ctx, "badge page", chromedp.Navigate(s.URL+"/achievements/formulas#criteria"), chromedp.WaitVisible(`#pathways`))
	if got := read(t, ctx, "counts towards", chromedp.Text(`#pathways`)); !strings.Contains(got, "Spreadsheet Analyst") {
		t.Errorf("badge page: counts towards %q, want the Spreadsheet Analyst certificate", got)
	}
	shootWidths(t, ctx, "achievement-public")
	step(t, ctx, "certificate page", chromedp.Navigate(s.URL+"/achievements/spreadsheet-analyst"), chromedp.WaitVisible(`#earned-by`))
	shootWidths(t, ctx, "achievement-certificate")
}

// passExam takes the exam as the user through the API, answering every
// item with its key, and returns the credential the pass earned.
func passExam(t *testing.T, s *server, email, title string) string {
	t.Helper()
	token := s.login(t, email)
	e := s.exam(t, token, title)
	keys := s.keys(t, e.ID)
	var a attempt
	if st := s.call(t, "POST", "/api/v1/exams/"+e.ID+"/attempts", token, nil, &a); st != http.StatusCreated {
		t.Fatalf("start %s: status %d", title, st)
	}
	for _, it := range a.Items {
		if st := s.call(t, "PUT", "/api/v1/attempts/"+a.ID+"/responses/"+it.ID, token, map[string]string{"answer": keys[it.ID]}, nil); st != http.StatusOK {
			t.Fatalf("answer: status %d", st)
		}
	}
	var r result
	if st := s.call(t, "POST", "/api/v1/attempts/"+a.ID+"/submit", token, nil, &r); st != http.StatusOK || !r.Passed || r.CredentialID == nil {
		t.Fatalf("submit: status %d, result %+v; want a pass with a credential", st, r)
	}
	return *r.CredentialID
}

// A candidate passes an exam and finds the credential in the wallet: the
// card with its state, expiry and downloads, and the visibility form.
func TestBrowserWalletAfterPass(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: starts the whole server with the demo (-short skips it)")
	}
	s := startServer(t, "sqlite")
	credentialID := passExam(t, s, "candidate@example.com", "Formulas")

	ctx := browser(t)
	signIn(t, ctx, s, "candidate@example.com")
	step(t, ctx, "open the wallet",
		chromedp.Navigate(s.URL+"/badges"),
		chromedp.WaitVisible(`#badge-`+credentialID),
	)
	card := `#badge-` + credentialID
	if state := read(t, ctx, "state", chromedp.Text(card+` .pill`)); !strings.HasPrefix(state, "Active") {
		t.Errorf("the new credential's state %q, want Active", state)
	}
	step(t, ctx, "open the downloads", chromedp.Click(card+` details summary`))
	downloads := read(t, ctx, "downloads", chromedp.Evaluate[string](`[...document.querySelectorAll('`+card+` a[data-download]')].filter(a => a.offsetParent).map(a => a.getAttribute('href')).join(' ')`))
	base := "/credentials/" + credentialID
	// The demo issuer has an RSA key, so RS256 VC-JWTs are offered too.
	if want := base + "/credential.json " + base + "/credential.jwt " + base + "/credential.jwt?alg=RS256 " + base + "/badge.png " + base + "/badge.svg"; downloads != want {
		t.Errorf("visible downloads %q, want %q", downloads, want)
	}
	if got := read(t, ctx, "visibility toggle", chromedp.Text(`#visibility-`+credentialID)); !strings.HasPrefix(got, "Make public") {
		t.Errorf("visibility toggle %q, want Make public (credentials start private)", got)
	}
	shootWidths(t, ctx, "wallet")
}
