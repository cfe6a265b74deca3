package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// The browser tests drive the served pages in headless Chromium. They run
// with TOUCHSTONE_TEST_BROWSER=1, with TOUCHSTONE_REQUIRE_SERVICES=1 (where
// a missing chromium or npm package fails them), or with
// TOUCHSTONE_SCREENSHOTS=dir, where they keep their screenshots.

// fakeCamera gives the browser Chromium's fake webcam (a synthetic test
// pattern, no face), granted without a prompt.
var fakeCamera = []chromedp.ExecAllocatorOption{
	chromedp.Flag("use-fake-device-for-media-stream", true),
	chromedp.Flag("use-fake-ui-for-media-stream", true),
}

// startBrowser starts headless Chromium, 1280×900 with a fresh profile and
// opts, and returns its first tab; both close when the test ends. It skips
// the test unless browser tests are requested, and without chromium on
// PATH unless services are required. The browser is started here, so a
// deadline set on the tab bounds the steps and not the browser's life.
func startBrowser(t *testing.T, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	require := dbtest.RequireServices()
	if os.Getenv("TOUCHSTONE_TEST_BROWSER") != "1" && !require && os.Getenv("TOUCHSTONE_SCREENSHOTS") == "" {
		t.Skip("browser test not requested: set TOUCHSTONE_TEST_BROWSER=1, or TOUCHSTONE_SCREENSHOTS=dir to keep the screenshots (needs Debian's chromium)")
	}
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if require {
			t.Fatal("TOUCHSTONE_REQUIRE_SERVICES=1 but no chromium on PATH (apt-get install chromium)")
		}
		t.Skip("no chromium on PATH (apt-get install chromium)")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900)),
		opts...)...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("1")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// tabAs opens a tab of browser in a browser context of its own (its own
// cookies), signed in to the server at base as u; it closes when the test
// ends.
func tabAs(t *testing.T, browser context.Context, f *webtest.Fixture, base string, u webtest.User) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	setSession(t, ctx, base, f.NewSession(t, u).Token)
	return ctx
}

// setSession signs the tab in to the server at base with a session token,
// through the session cookie as the sign-in page sets it. The cookie has no
// expiry: the fixture's clock, which dates the session, is not the
// browser's.
func setSession(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	httpOnly := true
	browserStep(t, ctx, "sign in", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: "ts_session", Value: token, URL: base + "/", HTTPOnly: &httpOnly})
		return err
	}))
}

// signInByForm signs the tab in through the sign-in page at base, after
// dropping any session it had.
func signInByForm(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	browserStep(t, ctx, "sign in as "+email, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
		return err
	}), chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.CSS("form[action='/logout']")))
}

// browserStep runs the actions in the tab; when one fails it keeps a
// screenshot of the page (failed-step.png), even past the tab's deadline,
// and fails the test with the step's name.
func browserStep(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		name := "failed-" + strings.ReplaceAll(step, " ", "-")
		shotCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		png, shotErr := chromedp.Run(shotCtx, viewport)
		if shotErr == nil {
			shotErr = keepScreenshot(name, png)
		}
		if shotErr != nil {
			t.Logf("screenshot %s: %v", name, shotErr)
		}
		t.Fatalf("%s: %v", step, err)
	}
}

// until waits until the page's expression is true.
func until(expr string, opts ...chromedp.PollOption) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](expr, opts...)(ctx, tg)
		return err
	})
}

// evalJS evaluates a script in the tab and returns its value, failing the
// test when it throws.
func evalJS[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// What saveScreenshot captures.
var (
	wholePage = chromedp.FullScreenshot(100)
	viewport  = chromedp.CaptureScreenshot()
)

// elementShot captures the first element matching the CSS selector.
func elementShot(sel string) chromedp.Action[[]byte] { return chromedp.Screenshot(chromedp.CSS(sel)) }

// saveScreenshot captures the tab (wholePage, viewport or an elementShot)
// and keeps it as $TOUCHSTONE_SCREENSHOTS/name.png when that is set. A
// capture that fails is an error of the test, not the end of it.
func saveScreenshot(t *testing.T, ctx context.Context, name string, shot chromedp.Action[[]byte]) {
	t.Helper()
	png, err := chromedp.Run(ctx, shot)
	if err == nil {
		err = keepScreenshot(name, png)
	}
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

// keepScreenshot writes the picture to $TOUCHSTONE_SCREENSHOTS/name.png
// when that is set.
func keepScreenshot(name string, png []byte) error {
	dir := os.Getenv("TOUCHSTONE_SCREENSHOTS")
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

// checkAxe runs axe-core (`npm ci` in web/a11y) on the tab's page for WCAG
// 2.2 A and AA and fails the test with every violation. Without axe-core
// it logs that the page was not checked, or fails when services are
// required.
func checkAxe(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("a11y", "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		if dbtest.RequireServices() {
			t.Fatalf("TOUCHSTONE_REQUIRE_SERVICES=1 but axe-core is missing (%v): run `npm ci` in web/a11y", err)
		}
		t.Logf("axe-core missing (%v): %s not checked; run `npm ci` in web/a11y", err, what)
		return
	}
	type violation struct {
		ID    string `json:"id"`
		Help  string `json:"help"`
		Nodes []struct {
			Target  []any  `json:"target"`
			Summary string `json:"failureSummary"`
		} `json:"nodes"`
	}
	// DevTools evaluation is not bound by the page's Content-Security-Policy.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void]("window.axe || (function(){"+string(src)+"\n})(); true")); err != nil {
		t.Fatalf("%s: inject axe: %v", what, err)
	}
	vs, err := chromedp.Run(ctx, chromedp.Evaluate[[]violation](`axe.run(document, {runOnly: {type: 'tag', values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}, resultTypes: ['violations']})
		.then(r => r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary}))})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe: %v", what, err)
	}
	for _, v := range vs {
		var b strings.Builder
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "\n      %v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
		}
		t.Errorf("%s: axe %s: %s%s", what, v.ID, v.Help, b.String())
	}
}

// scrollThrough scrolls the page to its end and back, so that lazy images
// load.
func scrollThrough(t *testing.T, ctx context.Context) {
	t.Helper()
	height := evalJS[int](t, ctx, `document.body.scrollHeight`)
	for y := 0; y <= height; y += 600 {
		evalJS[int](t, ctx, fmt.Sprintf(`window.scrollTo(0, %d), %d`, y, y))
		browserStep(t, ctx, "scroll", chromedp.Sleep(30*time.Millisecond))
	}
	evalJS[int](t, ctx, `window.scrollTo(0, 0), 0`)
}
