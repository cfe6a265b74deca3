package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWorkbenchInBrowser: the demo psychometrician opens the item analysis
// of the Formulas exam and one of its items; axe-core checks both pages
// and a phone-width view must not scroll sideways. Screenshots:
// item-analysis, item-options and their 390px views.
func TestWorkbenchInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server with the demo (-short skips it)")
	}
	chromium(t)
	axe := axeSource(t)
	s := startServer(t, "sqlite")
	token := s.login(t, "psychometrician@example.com")
	e := s.exam(t, token, "Formulas")

	ctx := browser(t)
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			screenshot(t, ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	signIn(t, ctx, s, "psychometrician@example.com")
	page := s.URL + "/psychometrics/exams/" + e.ID
	run("open the item analysis", chromedp.Navigate(page), chromedp.WaitVisible(`#item-stats`), chromedp.WaitVisible(`#stat-alpha`),
		imagesLoaded)
	if n := read(t, ctx, "read N", chromedp.Text(`#stat-n`)); n == "" || n == "0" {
		t.Fatalf("item analysis shows N %q, want the demo's attempts", n)
	}
	screenshot(t, ctx, "item-analysis")
	checkAxe(t, ctx, axe, "item analysis")

	navigateBy(t, ctx, "open the first item", chromedp.Click(`#item-stats tbody tr:first-child a`))
	run("see its options", chromedp.WaitVisible(`#option-stats`), chromedp.WaitVisible(`#review-item`),
		imagesLoaded)
	item := read(t, ctx, "read the location", chromedp.Location())
	screenshot(t, ctx, "item-options")
	checkAxe(t, ctx, axe, "item options")

	run("phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(page), chromedp.WaitVisible(`#item-stats`), chromedp.Sleep(200*time.Millisecond))
	checkNoHorizontalScroll(t, ctx, "390px item analysis")
	screenshot(t, ctx, "item-analysis-390")
	run("phone width item", chromedp.Navigate(item), chromedp.WaitVisible(`#option-stats`), chromedp.Sleep(200*time.Millisecond))
	checkNoHorizontalScroll(t, ctx, "390px item options")
	screenshot(t, ctx, "item-options-390")
}

// imagesLoaded waits until every image of the page (the server-drawn
// plots) has loaded.
var imagesLoaded = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := chromedp.Poll[bool](`[...document.images].every(i => i.complete && i.naturalWidth > 0)`, chromedp.WithPollingTimeout(20*time.Second))(ctx, t)
	return err
})
