package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestCredentialShareAndVerifyInBrowser: a candidate who passed opens the
// credential's page, makes it public and downloads the baked PNG; an
// anonymous visitor in another browser uploads it on /verify and is told
// it is valid. Screenshots: the credential page at desktop and phone
// widths, and the verification report.
func TestCredentialShareAndVerifyInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server with the demo (-short skips it)")
	}
	chromium(t)
	s := startServer(t, "sqlite")
	credentialID := passByAPI(t, s, "candidate@example.com", "Pivot Tables")
	axe := optionalAxe(t)

	ctx := browser(t)
	run := func(ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			screenshot(t, ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	signIn(t, ctx, s, "candidate@example.com")
	page := s.URL + "/credentials/" + credentialID
	run(ctx, "open the credential", chromedp.Navigate(page), chromedp.WaitVisible(`#verification`), chromedp.WaitVisible(`#visibility-toggle`))
	if got := read(t, ctx, "read the visibility", chromedp.Text(`#visibility-state`)); got != "Private" {
		t.Fatalf("a new credential is %q, want Private", got)
	}
	navigateBy(t, ctx, "make it public", chromedp.Click(`#visibility-toggle`))
	run(ctx, "see it public",
		waitText(`#visibility-state`, "Public"),
		chromedp.WaitVisible(`#linkedin`),
	)
	if got := read(t, ctx, "read the status", chromedp.Text(`#verification-title`)); got != "Valid credential" {
		t.Fatalf("credential page says %q, want Valid credential", got)
	}
	screenshot(t, ctx, "credential")
	if axe != "" {
		checkAxe(t, ctx, axe, "credential page")
	}

	downloads := t.TempDir()
	run(ctx, "download the baked PNG",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
			return err
		}),
		chromedp.Click(`#downloads a[href="/credentials/`+credentialID+`/badge.png"]`),
	)
	badge := waitForFile(t, downloads, ".png")

	run(ctx, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(page), chromedp.WaitVisible(`#verification`), chromedp.Sleep(200*time.Millisecond))
	checkNoHorizontalScroll(t, ctx, "390px credential page")
	screenshot(t, ctx, "credential-390")

	anon := browser(t)
	run(anon, "open the home page", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(`a[href="/verify"]`))
	navigateBy(t, anon, "open the verify page", chromedp.Click(`a[href="/verify"]`))
	run(anon, "choose the badge", chromedp.WaitVisible(`#verify-file`), chromedp.SetUploadFiles(`#verify-file`, []string{badge}))
	navigateBy(t, anon, "upload the badge", chromedp.Click(`#verify-submit`))
	run(anon, "see the report", chromedp.WaitVisible(`#verification`))
	if got := read(t, anon, "read the report", chromedp.Text(`#verification-title`)); got != "Valid credential" {
		t.Fatalf("verification report says %q, want Valid credential", got)
	}
	checks := read(t, anon, "read the checks", chromedp.Text(`#checks`))
	for _, want := range []string{"format", "proof", "schema", "issuer key", "dates", "status"} {
		if !strings.Contains(strings.ToLower(checks), want) {
			t.Errorf("the report lists no %q check: %q", want, checks)
		}
	}
	if got := read(t, anon, "read the achievement", chromedp.Text(`#report-achievement`)); got != "Spreadsheet Pivot Tables" {
		t.Errorf("report names the achievement %q", got)
	}
	screenshot(t, anon, "verify-report")
	if axe != "" {
		checkAxe(t, anon, axe, "verification report")
	}
	run(anon, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Sleep(200*time.Millisecond))
	checkNoHorizontalScroll(t, anon, "390px verification report")
	screenshot(t, anon, "verify-report-390")
}

// passByAPI passes the exam titled title as the user with email, answering
// every item with its key, and returns the credential the pass earned.
func passByAPI(t *testing.T, s *server, email, title string) string {
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
		t.Fatalf("submit: status %d, %+v; want a pass with a credential", st, r)
	}
	return *r.CredentialID
}

// optionalAxe returns axe-core's bundle when web/a11y has it installed;
// without it the accessibility checks are left out (and the test says so)
// unless services are required, in which case axeSource fails.
func optionalAxe(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("../../web/a11y/node_modules/axe-core/axe.min.js"); err != nil && os.Getenv("TOUCHSTONE_REQUIRE_SERVICES") != "1" {
		t.Log("axe-core not installed (npm ci in web/a11y): accessibility checks left out")
		return ""
	}
	return axeSource(t)
}

// waitForFile waits for a finished download with the extension ext in dir
// and returns its path.
func waitForFile(t *testing.T, dir, ext string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ext) {
				return filepath.Join(dir, e.Name())
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s file was downloaded to %s", ext, dir)
	return ""
}
