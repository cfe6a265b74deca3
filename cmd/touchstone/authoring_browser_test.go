package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// step runs browser actions, failing the test with a screenshot on error.
func step(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(name, " ", "-"))
		t.Fatalf("%s: %v", name, err)
	}
}

// An author writes an item in the browser and sends it to review; a
// reviewer, in a browser of their own, approves it; the item is then
// published at version 1, the version candidates get.
func TestBrowserAuthorAndReviewer(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: starts the whole server with the demo (-short skips it)")
	}
	author := browser(t)
	s := startServer(t, "sqlite")

	signIn(t, author, s, "author@example.com")
	step(t, author, "write an item",
		chromedp.Navigate(s.URL+"/authoring/items/new"),
		chromedp.WaitVisible(`#f-stem`),
		chromedp.SendKeys(`#f-domain`, "FORMULAS"),
		chromedp.SendKeys(`#f-stem`, "Which function counts the **non-empty** cells of a range?"),
		chromedp.SendKeys(`#opt-text-1`, "COUNTA"),
		chromedp.SendKeys(`#opt-text-2`, "COUNT"),
		chromedp.SendKeys(`#opt-text-3`, "COUNTBLANK"),
		chromedp.Click(`#opt-key-1`),
		chromedp.SendKeys(`#f-rationale`, "COUNT counts numbers only; COUNTA counts every non-empty cell."),
		waitText(`#preview`, "non-empty"),
	)
	screenshot(t, author, "authoring-new")
	step(t, author, "save the draft", chromedp.Click(`#save-item`), chromedp.WaitVisible(`#submit-item`))
	location := read(t, author, "read the item's address", chromedp.Location())
	id, ok := strings.CutPrefix(location, s.URL+"/authoring/items/")
	if !ok {
		t.Fatalf("after saving, the browser is at %s, want the item's page", location)
	}
	id, _, _ = strings.Cut(id, "?")
	step(t, author, "send it to review", chromedp.Click(`#submit-item`), chromedp.WaitNotPresent(`#submit-item`))
	if n := read(t, author, "look for the approve button", chromedp.Evaluate[string](`String(document.querySelectorAll('#approve-item').length)`)); n != "0" {
		t.Errorf("the author sees %s approve buttons on their own item, want none", n)
	}

	reviewer := browser(t)
	signIn(t, reviewer, s, "psychometrician@example.com")
	step(t, reviewer, "open the review queue",
		chromedp.Navigate(s.URL+"/authoring/review"),
		chromedp.WaitVisible(`a[href="/authoring/items/`+id+`"]`),
	)
	screenshot(t, reviewer, "authoring-review-queue")
	step(t, reviewer, "approve",
		chromedp.Click(`a[href="/authoring/items/`+id+`"]`),
		chromedp.WaitVisible(`#approve-item`),
		chromedp.SendKeys(`#f-note`, "Keyed right; distractors plausible."),
		chromedp.Click(`#approve-item`),
		chromedp.WaitNotPresent(`#approve-item`),
	)

	var it struct {
		Status           string `json:"status"`
		PublishedVersion *int   `json:"published_version"`
		Comments         []struct {
			Body string `json:"body"`
		} `json:"comments"`
	}
	token := s.login(t, "admin@example.com")
	if st := s.call(t, "GET", "/api/v1/items/"+id, token, nil, &it); st != http.StatusOK {
		t.Fatalf("item %s: status %d", id, st)
	}
	if it.Status != "approved" || it.PublishedVersion == nil || *it.PublishedVersion != 1 {
		t.Errorf("after review: status %s, published %v; want approved at version 1", it.Status, it.PublishedVersion)
	}
	noted := false
	for _, c := range it.Comments {
		noted = noted || strings.Contains(c.Body, "distractors plausible")
	}
	if !noted {
		t.Errorf("the reviewer's note is not among the item's comments: %+v", it.Comments)
	}

	// The bank lists the new item with its import and export tools.
	step(t, author, "the bank", chromedp.Navigate(s.URL+"/authoring/items"), chromedp.WaitVisible(`#bank-table`))
	screenshot(t, author, "authoring-bank")
}

// A program manager grants an accommodation from the exam's Delivery &
// policy page; the candidate's next attempt gets the extra time.
func TestBrowserManagerGrantsAccommodation(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: starts the whole server with the demo (-short skips it)")
	}
	ctx := browser(t)
	s := startServer(t, "sqlite")
	candidate := s.login(t, "candidate@example.com")
	e := s.exam(t, candidate, "Charts")
	signIn(t, ctx, s, "manager@example.com")
	step(t, ctx, "grant",
		chromedp.Navigate(s.URL+"/manage/exams/"+e.ID),
		chromedp.WaitVisible(`#grant-form`),
		chromedp.SendKeys(`#email`, "candidate@example.com"),
		chromedp.SetValue(`#time_multiplier`, "1.25"),
		chromedp.SetValue(`#extra_break_minutes`, "15"),
		chromedp.SendKeys(`#note`, "Request 2026-118"),
		chromedp.Click(`#grant`),
		chromedp.WaitVisible(`#saved-notice`),
		waitText(`#accommodations`, "Request 2026-118"),
	)
	screenshot(t, ctx, "exam-settings")
	step(t, ctx, "the new-exam page", chromedp.Click(`#new-exam`), chromedp.WaitVisible(`#new-exam-form`))
	screenshot(t, ctx, "exam-new")
	var a struct {
		StartedAt time.Time `json:"started_at"`
		Deadline  time.Time `json:"deadline"`
		Accom     struct {
			TimeMultiplier    float64 `json:"time_multiplier"`
			ExtraBreakMinutes int     `json:"extra_break_minutes"`
		} `json:"accommodations"`
	}
	if st := s.call(t, "POST", "/api/v1/exams/"+e.ID+"/attempts", candidate, nil, &a); st != http.StatusCreated {
		t.Fatalf("start: status %d", st)
	}
	if a.Accom.TimeMultiplier != 1.25 || a.Accom.ExtraBreakMinutes != 15 {
		t.Errorf("the attempt's accommodations: %+v, want ×1.25 and 15 minutes", a.Accom)
	}
	var exams []struct {
		ID              string `json:"id"`
		DurationSeconds int    `json:"duration_seconds"`
	}
	s.call(t, "GET", "/api/v1/exams", candidate, nil, &exams)
	for _, x := range exams {
		if x.ID != e.ID {
			continue
		}
		want := time.Duration(float64(x.DurationSeconds)*1.25) * time.Second
		if got := a.Deadline.Sub(a.StartedAt); got < want-time.Second || got > want+time.Second {
			t.Errorf("time allowed: %s, want 1.25 × %d s = %s", got, x.DurationSeconds, want)
		}
	}
}
