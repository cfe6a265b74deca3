package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// answerKey answers the question on screen with its key (an item id →
// key option id map, as an author sees it) and goes on.
func answerKey(t *testing.T, ctx context.Context, keys map[string]string, itemID string) {
	t.Helper()
	step(t, ctx, "answer "+itemID,
		chromedp.WaitVisible(fmt.Sprintf(`#question-body[data-item-id=%q] .question`, itemID)),
		chromedp.Click(`#option-`+keys[itemID]),
	)
}

// currentItem is the id of the item the player shows.
func currentItem(t *testing.T, ctx context.Context) string {
	t.Helper()
	return read(t, ctx, "read the current item", chromedp.Evaluate[string](`document.getElementById('question-body').dataset.itemId || ''`))
}

// A candidate takes the demo's on-the-fly exam (a form assembled for them)
// and its adaptive exam (items chosen one by one until the standard error
// is small enough) in the browser, answering every item right, and passes
// both; the attempts are what those modes promise.
func TestBrowserLOFTAndCAT(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: starts the whole server with the demo (-short skips it)")
	}
	ctx := browser(t)
	s := startServer(t, "sqlite")
	signIn(t, ctx, s, "candidate@example.com")
	token := s.login(t, "candidate@example.com")

	t.Run("on the fly", func(t *testing.T) {
		e := s.exam(t, token, "Spreadsheet Skills — On the fly")
		keys := s.keys(t, e.ID)
		attemptID := startInBrowser(t, ctx, s, e.ID)
		a := s.attempt(t, token, attemptID)
		if a.Mode != "loft" || len(a.Items) != 20 {
			t.Fatalf("attempt: mode %s with %d items, want loft with 20", a.Mode, len(a.Items))
		}
		for i, it := range a.Items {
			answerKey(t, ctx, keys, it.ItemID)
			if i < len(a.Items)-1 {
				step(t, ctx, "next", chromedp.Click(`#next`))
			}
		}
		screenshot(t, ctx, "player-loft")
		finish(t, ctx, s, token, attemptID, "loft")
	})

	t.Run("adaptive", func(t *testing.T) {
		e := s.exam(t, token, "Spreadsheet Skills — Adaptive")
		keys := s.keys(t, e.ID)
		attemptID := startInBrowser(t, ctx, s, e.ID)
		seen := map[string]bool{}
		for n := 1; ; n++ {
			id := currentItem(t, ctx)
			if seen[id] {
				t.Fatalf("item %s came twice", id)
			}
			seen[id] = true
			answerKey(t, ctx, keys, id)
			if n == 3 {
				screenshot(t, ctx, "player-cat")
			}
			step(t, ctx, "next", chromedp.Click(`#next`), chromedp.Sleep(100*time.Millisecond))
			done := read(t, ctx, "wait for the next item or the end", chromedp.Evaluate[string](`new Promise((resolve) => {
				const was = `+"`"+id+"`"+`;
				const check = () => {
					if (!document.getElementById('cat-done').hidden) return resolve('done');
					if (document.getElementById('question-body').dataset.itemId !== was) return resolve('next');
					setTimeout(check, 50);
				};
				check();
			})`, chromedp.EvalAwaitPromise))
			if done == "done" {
				break
			}
			if n > 40 {
				t.Fatal("the adaptive test went past 40 items")
			}
		}
		a := s.attempt(t, token, attemptID)
		if a.Mode != "cat" || len(a.Items) != len(seen) || len(a.Items) < 8 || len(a.Items) > 30 {
			t.Errorf("attempt: mode %s with %d items (%d shown), want cat with 8 to 30", a.Mode, len(a.Items), len(seen))
		}
		if back := read(t, ctx, "look for a way back", chromedp.Evaluate[string](`String(!document.getElementById('prev') || document.getElementById('prev').disabled || document.getElementById('prev').hidden)`)); back != "true" {
			t.Error("an adaptive test offers the previous question")
		}
		finish(t, ctx, s, token, attemptID, "cat")
	})
}

// finish submits the attempt in the browser and checks the result page
// and the stored result: a pass, in the mode given, with θ for IRT modes.
func finish(t *testing.T, ctx context.Context, s *server, token, attemptID, mode string) {
	t.Helper()
	step(t, ctx, "submit",
		chromedp.Click(`#submit`),
		chromedp.WaitVisible(`#confirm-submit`),
		chromedp.Click(`#confirm-submit`),
		chromedp.WaitVisible(`#result-status`),
	)
	screenshot(t, ctx, "result-"+mode)
	var r struct {
		Mode        string   `json:"mode"`
		Passed      bool     `json:"passed"`
		Theta       *float64 `json:"theta"`
		ScaledScore float64  `json:"scaled_score"`
		Scale       struct {
			Min, Max float64
		} `json:"scale"`
	}
	if st := s.call(t, "GET", "/api/v1/attempts/"+attemptID+"/result", token, nil, &r); st != http.StatusOK {
		t.Fatalf("result: status %d", st)
	}
	if r.Mode != mode || !r.Passed || r.Theta == nil || r.ScaledScore < r.Scale.Min || r.ScaledScore > r.Scale.Max {
		raw, _ := json.Marshal(r)
		t.Errorf("result %s, want a pass in mode %s with θ and a scaled score on its scale", raw, mode)
	}
	if status := read(t, ctx, "read the result", chromedp.Text(`#result-status`)); status != "Passed" {
		t.Errorf("result page says %q, want Passed", status)
	}
}
