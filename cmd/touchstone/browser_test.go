package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// chromium returns the path of a headless-capable Chromium (Debian's
// chromium), skipping when browser tests are not requested or failing when
// services are required and it is missing.
func chromium(t *testing.T) string {
	t.Helper()
	require := dbtest.RequireServices()
	if os.Getenv("TOUCHSTONE_TEST_BROWSER") != "1" && !require {
		t.Skip("browser test not requested: set TOUCHSTONE_TEST_BROWSER=1 (needs Debian's chromium)")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if require {
		t.Fatal("TOUCHSTONE_REQUIRE_SERVICES=1 but no chromium on PATH (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH (apt-get install chromium)")
	return ""
}

// browser starts a headless Chromium for the test, closed at cleanup.
func browser(t *testing.T) context.Context {
	t.Helper()
	return browserWith(t, 3*time.Minute)
}

// browserWith is browser with a time limit and Chromium flags of its own.
func browserWith(t *testing.T, limit time.Duration, flags ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(opts, flags...)...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// screenshot saves the page to $TOUCHSTONE_SCREENSHOTS/name.png when set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("TOUCHSTONE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// browserPass is the acceptance path: the demo candidate signs in, takes the
// Formulas exam answering every item, submits, sees the pass and opens the
// badge's public page, which says the credential is valid.
func browserPass(t *testing.T, s *server) {
	ctx := browser(t)
	token := s.login(t, "candidate@example.com")
	e := s.exam(t, token, "Formulas")
	keys := s.keys(t, e.ID)

	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			screenshot(t, ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	run("sign in",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, "candidate@example.com"),
		chromedp.SendKeys(`input[name=password]`, demoPassword),
		chromedp.Submit(`input[name=password]`),
		chromedp.WaitNotPresent(`input[name=password]`),
	)
	run("start the exam",
		chromedp.Navigate(s.URL+"/exams"),
		chromedp.WaitVisible(`form[action="/exams/`+e.ID+`/start"] button`),
		chromedp.Click(`form[action="/exams/`+e.ID+`/start"] button`),
		chromedp.WaitVisible(`#next`),
	)
	screenshot(t, ctx, "player")

	location := read(t, ctx, "read the attempt", chromedp.Location())
	attemptID := strings.TrimPrefix(location, s.URL+"/attempts/")
	var a attempt
	if st := s.call(t, "GET", "/api/v1/attempts/"+attemptID, token, nil, &a); st != http.StatusOK {
		t.Fatalf("attempt %s: status %d", attemptID, st)
	}
	for i, it := range a.Items {
		option := `#option-` + keys[it.ID]
		run("answer item "+it.ID,
			chromedp.WaitVisible(option),
			chromedp.Click(option),
		)
		if i < len(a.Items)-1 {
			run("next", chromedp.Click(`#next`))
		}
	}
	run("saved", chromedp.WaitVisible(`#save-status`), waitText(`#save-status`, "Saved"))
	run("submit",
		chromedp.Click(`#submit`),
		chromedp.WaitVisible(`#confirm-submit`),
		chromedp.Click(`#confirm-submit`),
		chromedp.WaitVisible(`#result-status`),
	)
	screenshot(t, ctx, "result")
	status := read(t, ctx, "read the result", chromedp.Text(`#result-status`))
	if !strings.Contains(status, "Passed") {
		t.Fatalf("result status %q, want it to say Passed", status)
	}
	run("open the badge",
		chromedp.Click(`a[href^="/credentials/"]`),
		chromedp.WaitVisible(`#verification`),
	)
	screenshot(t, ctx, "credential")
	verdict := read(t, ctx, "read the verification", chromedp.Text(`#verification`))
	if !strings.Contains(strings.ToLower(verdict), "valid") || strings.Contains(strings.ToLower(verdict), "invalid") {
		t.Fatalf("credential page says %q, want valid", verdict)
	}
}

// read runs an action that returns a string, failing the test on error.
func read(t *testing.T, ctx context.Context, step string, a chromedp.Action[string]) string {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
		t.Fatalf("%s: %v", step, err)
	}
	return v
}

// navigateBy runs actions that load a new page (a link followed, a form
// posted) and waits for that page, so that later steps never query the page
// being replaced.
func navigateBy(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := chromedp.RunResponse(ctx, actions...); err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(name, " ", "-"))
		t.Fatalf("%s: %v", name, err)
	}
}

// waitText waits until the element's text contains want. A page that is
// being replaced (a form posted a moment ago) makes a query fail for a
// moment; those failures are retried for up to 20 seconds.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		give := time.Now().Add(20 * time.Second)
		for {
			got, err := chromedp.Text(sel)(ctx, tg)
			if err != nil && time.Now().After(give) {
				return err
			}
			if err == nil && strings.Contains(got, want) {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
}
