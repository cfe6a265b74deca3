package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestLiveProctoringAcrossInstancesInBrowser: a candidate works on one
// server instance and a proctor watches from a second instance of the
// same deployment (one PostgreSQL, one Redis). The proctor pauses the
// exam, messages the candidate, resumes, adds time and ends the attempt;
// the candidate's page reacts to each without a reload.
func TestLiveProctoringAcrossInstancesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers with the demo (-short skips it)")
	}
	chromium(t)
	axe := optionalAxe(t)
	s := startServer(t, "postgres+redis")
	second := &server{env: s.env, addr: "127.0.0.1:0"}
	second.launch(t)
	if second.URL == s.URL {
		t.Fatal("the second instance listens where the first does")
	}
	token := s.login(t, "candidate@example.com")
	e := s.exam(t, token, "Charts")

	run := func(ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			screenshot(t, ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	// reacts waits for the candidate's page to show what the proctor did,
	// and logs how long it took from the proctor's click.
	candidate := browser(t)
	reacts := func(step string, since time.Time, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		run(candidate, step, actions...)
		t.Logf("%s: the candidate's page reacted %v after the proctor's action", step, time.Since(since).Round(10*time.Millisecond))
	}

	signIn(t, candidate, s, "candidate@example.com")
	attemptID := startInBrowser(t, candidate, s, e.ID)

	proctor := browser(t)
	signIn(t, proctor, second, "proctor@example.com")
	console := second.URL + "/proctor/attempts/" + attemptID
	run(proctor, "open the attempt", chromedp.Navigate(console), chromedp.WaitVisible(`#hold`))
	screenshot(t, proctor, "proctor-attempt")
	if axe != "" {
		checkAxe(t, proctor, axe, "proctor's attempt page")
	}

	at := time.Now()
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
