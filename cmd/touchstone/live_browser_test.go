package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestLiveProctoringAcrossInstancesInBrowser is the proctoring acceptance
// path across two server instances of one deployment (one PostgreSQL, one
// Redis). The candidate's browser has Chromium's fake camera, on instance
// A; the proctor's browser is on instance B. The candidate's webcam
// snapshots (face-checked in the candidate's browser with the models
// Touchstone serves) and page events reach the proctor's live console
// without a reload. From the session the proctor then pauses the exam,
// messages the candidate, resumes, adds time and ends the attempt; the
// candidate's page reacts to each without a reload.
func TestLiveProctoringAcrossInstancesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers with the demo (-short skips it)")
	}
	chromium(t)
	axe := optionalAxe(t)
	s := startServerWith(t, "postgres+redis", map[string]string{"TOUCHSTONE_PROCTORING_ASSETS": humanPackage(t)})
	second := &server{env: s.env, addr: "127.0.0.1:0"}
	second.launch(t)
	if second.URL == s.URL {
		t.Fatal("the second instance listens where the first does")
	}
	token := s.login(t, "candidate@example.com")
	e := s.exam(t, token, "Charts")

	// The program manager turns on snapshots every 10 s, with weights.
	policy := map[string]any{"snapshot_seconds": 10, "review_at": 5,
		"weights": map[string]float64{"no_face": 2, "context_menu": 1, "print": 1, "focus_lost": 1}}
	var set map[string]any
	if got := s.call(t, "PUT", "/api/v1/exams/"+e.ID+"/proctoring", s.login(t, "manager@example.com"), policy, &set); got != 200 || set["snapshot_seconds"] != float64(10) {
		t.Fatalf("set the proctoring policy: %d %v", got, set)
	}

	run := func(ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			screenshot(t, ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	poll := func(ctx context.Context, step, cond string) {
		t.Helper()
		run(ctx, step, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond))(ctx, tg)
			return err
		}))
	}
	eval := func(ctx context.Context, js string) string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return out
	}
	// reacts waits for the candidate's page to show what the proctor did,
	// and logs how long it took from the proctor's click.
	candidate := fakeCameraBrowser(t)
	reacts := func(step string, since time.Time, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		run(candidate, step, actions...)
		t.Logf("%s: the candidate's page reacted %v after the proctor's action", step, time.Since(since).Round(10*time.Millisecond))
	}

	signIn(t, candidate, s, "candidate@example.com")
	attemptID := startInBrowser(t, candidate, s, e.ID)
	poll(candidate, "camera on", `document.getElementById('camera').dataset.state === 'on'`)
	cameraOn := time.Now()

	// The proctor's live console on the other instance shows the session
	// with its latest snapshot, face-checked: the fake camera shows no face.
	proctor := browser(t)
	signIn(t, proctor, second, "proctor@example.com")
	run(proctor, "open the console", chromedp.Navigate(second.URL+"/proctor"), chromedp.WaitVisible(`#sessions`))
	poll(proctor, "console live", `document.getElementById('live-status').dataset.state === 'open' && document.getElementById('console').dataset.readAt !== undefined`)
	eval(proctor, `window.notReloaded = true; ''`)
	card := `document.querySelector('.session-card[data-attempt="` + attemptID + `"]')`
	poll(proctor, "the session's card with a face-checked snapshot", card+` !== null && `+card+`.querySelector('img') !== null && `+card+`.querySelector('.shot-badges').textContent.includes('No face')`)
	firstAt := time.Now()
	t.Logf("first snapshot: on the console %v after the candidate's camera came on", firstAt.Sub(cameraOn).Round(10*time.Millisecond))
	first := eval(proctor, card+`.querySelector('img').getAttribute('src')`)
	// The image itself comes from the proctor's instance, out of the
	// blob store the candidate's instance wrote to.
	poll(proctor, "the snapshot's image", card+`.querySelector('img').complete && `+card+`.querySelector('img').naturalWidth === 640`)

	// Page events on the candidate's side reach the card within seconds.
	at := time.Now()
	run(candidate, "print and context menu", chromedp.Evaluate[chromedp.Void](`
		window.dispatchEvent(new Event('beforeprint'));
		document.getElementById('question-body').dispatchEvent(new MouseEvent('contextmenu', {bubbles: true, cancelable: true}));
		true`))
	poll(proctor, "events on the card", card+`.querySelector('.event-list').textContent.includes('Opened the context menu') && `+
		card+`.querySelector('.event-list').textContent.includes('Tried to print')`)
	t.Logf("print and context menu: on the console %v after the candidate's page raised them", time.Since(at).Round(10*time.Millisecond))

	// The next snapshot replaces the first, 10 s later, without a reload.
	poll(proctor, "the next snapshot", card+`.querySelector('img').getAttribute('src') !== `+strconv.Quote(first))
	t.Logf("second snapshot: on the console %v after the first", time.Since(firstAt).Round(10*time.Millisecond))
	risk := eval(proctor, card+`.querySelector('.risk-value').textContent`)
	if r, err := strconv.ParseFloat(risk, 64); err != nil || r < 6 {
		t.Errorf("risk on the card %q, want at least 6 (two snapshots without a face at 2, print and context menu at 1)", risk)
	}
	if got := eval(proctor, `String(window.notReloaded)`); got != "true" {
		t.Error("the console reloaded")
	}
	screenshot(t, proctor, "proctor-console")
	if axe != "" {
		checkAxe(t, proctor, axe, "proctor's live console")
	}

	run(proctor, "open the session", chromedp.Click(`.session-card[data-attempt="`+attemptID+`"] a.session-link`), chromedp.WaitVisible(`#hold`))
	if loc := eval(proctor, `location.href`); loc != second.URL+"/proctor/attempts/"+attemptID {
		t.Fatalf("the card's link led to %s", loc)
	}
	screenshot(t, proctor, "proctor-attempt")
	if axe != "" {
		checkAxe(t, proctor, axe, "proctor's attempt page")
	}

	at = time.Now()
	navigateBy(t, proctor, "pause", chromedp.Click(`#hold`))
	reacts("pause", at, chromedp.WaitVisible(`#held-dialog`))
	screenshot(t, candidate, "candidate-held")
	if axe != "" {
		checkAxe(t, candidate, axe, "candidate's page paused by the proctor")
	}

	run(proctor, "write a message", chromedp.WaitVisible(`#message-body`), chromedp.SendKeys(`#message-body`, "Please show your desk to the camera."))
	at = time.Now()
	navigateBy(t, proctor, "send the message", chromedp.Click(`#send-message`))
	reacts("message", at, waitText(`#held-message`, "Please show your desk to the camera."))

	at = time.Now()
	navigateBy(t, proctor, "resume", chromedp.Click(`#resume`))
	reacts("resume", at, chromedp.WaitNotVisible(`#held-dialog`), waitText(`#proctor-message-list`, "Please show your desk"))

	before := read(t, candidate, "timer", chromedp.Text(`#timer`))
	run(proctor, "fill in added time", chromedp.WaitVisible(`#time-reason`), chromedp.SetValue(`#minutes`, "10"), chromedp.SendKeys(`#time-reason`, "camera outage"))
	at = time.Now()
	navigateBy(t, proctor, "add time", chromedp.Click(`#add-time`))
	reacts("add time", at, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for {
			now, err := chromedp.Text(`#timer`)(ctx, tg)
			if err == nil && minutesOf(now) >= minutesOf(before)+9 {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}))

	run(proctor, "give a reason to end", chromedp.WaitVisible(`#terminate-reason`), chromedp.SendKeys(`#terminate-reason`, "a second person in the room"))
	at = time.Now()
	navigateBy(t, proctor, "end the attempt", chromedp.Click(`#terminate`))
	reacts("end", at, chromedp.WaitVisible(`#terminated-note`))
	if got := read(t, candidate, "result", chromedp.Text(`#result-status`)); got == "Passed" {
		t.Fatal("an attempt the proctor ended shows as passed")
	}
	screenshot(t, candidate, "candidate-terminated")
}

// minutesOf reads the minutes of a timer such as "1:05:09" or "24:31".
func minutesOf(clock string) int {
	parts := strings.Split(strings.TrimSpace(clock), ":")
	n := 0
	for _, p := range parts[:len(parts)-1] {
		v := 0
		for _, r := range p {
			if r >= '0' && r <= '9' {
				v = v*10 + int(r-'0')
			}
		}
		n = n*60 + v
	}
	return n
}
