package main

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// A psychometrician corrects a miskeyed item in the browser: the item's
// review page, a flag, the rekey form, the preview of exactly what changes
// and the apply; both demo candidates who answered the item get their
// credential re-issued with the corrected score. Every page passes axe.
func TestBrowserRekey(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: starts the whole server with the demo (-short skips it)")
	}
	ctx := browser(t)
	axe := axeSource(t)
	s := startServer(t, "sqlite")

	// Two candidates sit Formulas: the first answers the first item with a
	// distractor — the option the rekey will make the key — and every
	// other item right; the second answers every item right.
	cal, riley := s.login(t, "candidate@example.com"), s.login(t, "riley@example.com")
	e := s.exam(t, cal, "Formulas")
	keys := s.keys(t, e.ID)
	var item, distractor string
	type sat struct {
		result
		AttemptID string
	}
	sit := func(token string, first func(options []string) string) sat {
		t.Helper()
		var a attempt
		if st := s.call(t, "POST", "/api/v1/exams/"+e.ID+"/attempts", token, nil, &a); st != http.StatusCreated {
			t.Fatalf("start: status %d", st)
		}
		for i, it := range a.Items {
			answer := keys[it.ID]
			if i == 0 {
				item = it.ID
				var ids []string
				for _, o := range it.Content.Options {
					ids = append(ids, o.ID)
				}
				answer = first(ids)
			}
			if st := s.call(t, "PUT", "/api/v1/attempts/"+a.ID+"/responses/"+it.ID, token, map[string]any{"answer": answer}, nil); st != http.StatusOK {
				t.Fatalf("answer %s: status %d", it.ID, st)
			}
		}
		var r result
		if st := s.call(t, "POST", "/api/v1/attempts/"+a.ID+"/submit", token, nil, &r); st != http.StatusOK {
			t.Fatalf("submit: status %d", st)
		}
		if !r.Passed || r.CredentialID == nil {
			t.Fatalf("result %+v, want a pass with a credential", r)
		}
		return sat{r, a.ID}
	}
	before := sit(cal, func(options []string) string {
		for _, o := range options {
			if o != keys[item] {
				distractor = o
				return o
			}
		}
		t.Fatal("the first item has no distractor")
		return ""
	})
	beforeRiley := sit(riley, func([]string) string { return keys[item] })

	signIn(t, ctx, s, "psychometrician@example.com")
	step(t, ctx, "the item review page",
		chromedp.Navigate(s.URL+"/psychometrics/items/"+item),
		chromedp.WaitVisible(`#flag-item`),
	)
	navigateBy(t, ctx, "flag the item",
		chromedp.SendKeys(`#f-reason`, "Candidates who chose the second option scored higher overall: probable miskey."),
		chromedp.Click(`#flag-item`),
	)
	step(t, ctx, "the flag shows", chromedp.WaitVisible(`#notice`), waitText(`#flags`, "probable miskey"))
	checkAxe(t, ctx, axe, "item review")
	screenshot(t, ctx, "item-review")

	navigateBy(t, ctx, "open the rekey form", chromedp.Click(`#rekey-link`))
	step(t, ctx, "the rekey form", chromedp.WaitVisible(`#preview-rekey`))
	checkAxe(t, ctx, axe, "rekey form")
	navigateBy(t, ctx, "preview",
		chromedp.Click(`#k-`+distractor),
		chromedp.SendKeys(`#f-reason`, "The key contradicts the 2026 syllabus, section 3.2."),
		chromedp.Click(`#preview-rekey`),
	)
	step(t, ctx, "the preview", chromedp.WaitVisible(`#apply-rekey`), waitText(`#total-changed`, "2"))
	for _, id := range []string{before.AttemptID, beforeRiley.AttemptID} {
		step(t, ctx, "the preview lists "+id, chromedp.WaitVisible(`tr[data-attempt="`+id+`"]`))
	}
	checkAxe(t, ctx, axe, "rekey preview")
	screenshot(t, ctx, "rekey-preview")
	step(t, ctx, "narrow", chromedp.EmulateViewport(320, 800))
	checkNoHorizontalScroll(t, ctx, "rekey preview at 320px")
	screenshot(t, ctx, "rekey-preview-320")
	step(t, ctx, "wide again", chromedp.EmulateViewport(1280, 900))

	navigateBy(t, ctx, "apply", chromedp.Click(`#apply-rekey`))
	step(t, ctx, "applied", chromedp.WaitVisible(`#notice`), waitText(`h1`, "Rekey applied"))
	checkAxe(t, ctx, axe, "rekey applied")
	screenshot(t, ctx, "rekey-applied")

	for name, r := range map[string]struct {
		token  string
		before sat
		score  float64
	}{"candidate": {cal, before, before.Score + 1}, "riley": {riley, beforeRiley, beforeRiley.Score - 1}} {
		var after result
		if st := s.call(t, "GET", "/api/v1/attempts/"+r.before.AttemptID+"/result", r.token, nil, &after); st != http.StatusOK {
			t.Fatalf("%s: result: status %d", name, st)
		}
		if after.Score != r.score || after.CredentialID == nil || *after.CredentialID == *r.before.CredentialID {
			t.Errorf("%s after the rekey: score %v, credential %v; want %v and a re-issued credential", name, after.Score, after.CredentialID, r.score)
		}
	}
}
