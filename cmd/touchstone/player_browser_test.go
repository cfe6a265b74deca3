package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// answerCurrent answers the question the player shows, whatever its kind,
// as a candidate would through the page, and returns the Answer it gave.
const answerCurrent = `(() => {
  const body = document.getElementById('question-body');
  const q = body.querySelector('.question');
  switch (body.dataset.kind) {
    case 'single_choice': case 'true_false': {
      const inputs = q.querySelectorAll('input');
      const i = inputs[inputs.length > 1 ? 1 : 0];
      i.click();
      return {choice: i.value};
    }
    case 'multiple_response': {
      const i = q.querySelector('input');
      i.click();
      return {choices: [i.value]};
    }
    case 'numeric': case 'short_text': {
      const i = q.querySelector('input');
      i.value = '42';
      i.dispatchEvent(new Event('input', {bubbles: true}));
      return {text: '42'};
    }
    case 'ordering': {
      q.querySelector('button[id$="-keep-order"]').click();
      return {choices: [...q.querySelectorAll('.order-item')].map((li) => li.dataset.id)};
    }
    case 'matching': {
      const pairs = {};
      for (const s of q.querySelectorAll('select')) {
        s.selectedIndex = 1;
        pairs[s.dataset.option] = s.value;
        s.dispatchEvent(new Event('change', {bubbles: true}));
      }
      return {pairs};
    }
  }
  throw new Error('unknown kind ' + body.dataset.kind);
})()`

// shownAnswer reads the answer the player shows for the current question.
const shownAnswer = `(() => {
  const body = document.getElementById('question-body');
  const q = body.querySelector('.question');
  const on = [...q.querySelectorAll('input:checked')].map((i) => i.value);
  switch (body.dataset.kind) {
    case 'single_choice': case 'true_false': return on.length ? {choice: on[0]} : null;
    case 'multiple_response': return on.length ? {choices: on} : null;
    case 'numeric': case 'short_text': { const v = q.querySelector('input').value; return v ? {text: v} : null; }
    case 'ordering': return {choices: [...q.querySelectorAll('.order-item')].map((li) => li.dataset.id)};
    case 'matching': { const p = {}; for (const s of q.querySelectorAll('select')) if (s.value) p[s.dataset.option] = s.value; return {pairs: p}; }
  }
  return null;
})()`

// sameJSON reports whether two JSON documents hold the same value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// setOffline cuts the browser's network (requests fail and navigator.onLine
// is false, with the offline event) or restores it.
func setOffline(ctx context.Context, offline bool) error {
	var rules []*network.Conditions
	if offline {
		rules = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: rules}); err != nil {
		return err
	}
	_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1})
	return err
}

// TestPlayerOfflineQueue answers three questions while the browser is
// offline, then reconnects: the three saves must reach the server in the
// order they were made, and the API must then hold all three answers with
// increasing sequence numbers.
func TestPlayerOfflineQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server with the demo (-short skips it)")
	}
	ctx := browser(t)
	s := startServer(t, "sqlite")
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			screenshot(t, ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	signIn(t, ctx, s, "candidate@example.com")
	token := s.login(t, "candidate@example.com")
	attemptID := startInBrowser(t, ctx, s, s.exam(t, token, "Formulas").ID)
	a := s.attempt(t, token, attemptID)
	if len(a.Items) < 3 {
		t.Fatalf("the attempt has %d items, want at least 3", len(a.Items))
	}

	// Record, in order, the saves that the server answered.
	var mu sync.Mutex
	puts := map[network.RequestID]string{}
	var arrived []string
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if e.Request.Method == http.MethodPut && strings.Contains(e.Request.URL, "/responses/") {
				puts[e.RequestID] = e.Request.URL[strings.LastIndex(e.Request.URL, "/")+1:]
			}
		case *network.EventResponseReceived:
			if id, ok := puts[e.RequestID]; ok && e.Response.Status == http.StatusOK {
				arrived = append(arrived, id)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}

	// nextAt is where Next sits on the page: the offline banner must not
	// move it, or a candidate's click as the connection drops lands
	// beside it.
	nextAt := func(when string) float64 {
		t.Helper()
		top, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById('next').getBoundingClientRect().top + window.scrollY`))
		if err != nil {
			t.Fatalf("where Next is %s: %v", when, err)
		}
		return top
	}

	run("show question 1", chromedp.WaitVisible(fmt.Sprintf(`#question-body[data-item-id=%q] .question`, a.Items[0].ItemID)))
	online := nextAt("online")
	run("go offline", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error { return setOffline(ctx, true) }),
		chromedp.WaitVisible(`#offline-banner`))
	if offline := nextAt("offline"); math.Abs(offline-online) > 0.5 {
		t.Errorf("Next moved from %.1f px to %.1f px down the page when the offline banner showed", online, offline)
	}
	want := make([][]byte, 3)
	for i := range 3 {
		run(fmt.Sprintf("show question %d", i+1), chromedp.WaitVisible(fmt.Sprintf(`#question-body[data-item-id=%q] .question`, a.Items[i].ItemID)))
		given, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](answerCurrent))
		if err != nil {
			t.Fatalf("answer question %d: %v", i+1, err)
		}
		want[i] = given
		run("next", chromedp.Click(`#next`))
	}
	run("offline banner", chromedp.WaitVisible(`#offline-banner`), waitText(`#save-status`, "Offline"))
	screenshot(t, ctx, "player-offline")
	checkAxe(t, ctx, axeSource(t), "player offline")
	run("phone width", chromedp.EmulateViewport(390, 844))
	checkNoHorizontalScroll(t, ctx, "390px offline player")
	// On a phone the banner keeps to a line or two: the timer bar says what is kept.
	if share, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById('offline-banner').getBoundingClientRect().height / window.innerHeight`)); err != nil {
		t.Fatal(err)
	} else if share > 0.1 {
		t.Errorf("on a phone the offline banner covers %.0f%% of the screen's height, want at most 10%%", share*100)
	}
	// ... and the timer bar keeps to one line: the status takes its brief form.
	if height, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('.player-bar').getBoundingClientRect().height`)); err != nil {
		t.Fatal(err)
	} else if height > 64 {
		t.Errorf("on a phone the offline timer bar is %.0f px high, want at most 64", height)
	}
	screenshot(t, ctx, "player-offline-390")
	run("desktop width", chromedp.EmulateViewport(1280, 900))
	queued, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`JSON.parse(localStorage.getItem('touchstone:queue:`+attemptID+`')).pending.map((p) => p[0])`))
	if err != nil {
		t.Fatal(err)
	}
	if wantQueued := []string{a.Items[0].ItemID, a.Items[1].ItemID, a.Items[2].ItemID}; !reflect.DeepEqual(queued, wantQueued) {
		t.Fatalf("queue in localStorage holds %v, want %v", queued, wantQueued)
	}
	for i, it := range s.attempt(t, token, attemptID).Items[:3] {
		if len(it.Answer) > 0 && string(it.Answer) != "null" {
			t.Fatalf("item %d has answer %s on the server while the browser was offline", i+1, it.Answer)
		}
	}
	mu.Lock()
	arrived = nil
	mu.Unlock()

	run("come back online", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error { return setOffline(ctx, false) }),
		waitText(`#save-status`, "Saved"))
	mu.Lock()
	got := append([]string(nil), arrived...)
	mu.Unlock()
	if wantOrder := []string{a.Items[0].ItemID, a.Items[1].ItemID, a.Items[2].ItemID}; !reflect.DeepEqual(got, wantOrder) {
		t.Errorf("saves reached the server in the order %v, want %v", got, wantOrder)
	}
	after := s.attempt(t, token, attemptID)
	var lastSeq int64
	for i, it := range after.Items[:3] {
		if !sameJSON(it.Answer, want[i]) {
			t.Errorf("item %d: server holds %s, want %s", i+1, it.Answer, want[i])
		}
		if it.Seq <= lastSeq {
			t.Errorf("item %d: seq %d, want above the previous item's %d", i+1, it.Seq, lastSeq)
		}
		lastSeq = it.Seq
	}
	run("banner gone", chromedp.WaitNotVisible(`#offline-banner`))
}

// TestPlayerResumeAfterBrowserClose answers two questions, closes the
// browser, and resumes in a new one (nothing in its localStorage): the
// player shows the saved answers and the time left to the deadline.
func TestPlayerResumeAfterBrowserClose(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server with the demo (-short skips it)")
	}
	s := startServer(t, "sqlite")
	token := s.login(t, "candidate@example.com")
	e := s.exam(t, token, "Formulas")

	first := browser(t)
	signIn(t, first, s, "candidate@example.com")
	attemptID := startInBrowser(t, first, s, e.ID)
	a := s.attempt(t, token, attemptID)
	want := make([][]byte, 2)
	for i := range 2 {
		if err := chromedp.Do(first, chromedp.WaitVisible(fmt.Sprintf(`#question-body[data-item-id=%q] .question`, a.Items[i].ItemID))); err != nil {
			t.Fatal(err)
		}
		given, err := chromedp.Run(first, chromedp.Evaluate[json.RawMessage](answerCurrent))
		if err != nil {
			t.Fatalf("answer question %d: %v", i+1, err)
		}
		want[i] = given
		if err := chromedp.Do(first, chromedp.Click(`#next`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(first, waitText(`#save-status`, "Saved")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Cancel(first); err != nil {
		t.Fatalf("close the first browser: %v", err)
	}

	second := browser(t)
	signIn(t, second, s, "candidate@example.com")
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(second, actions...); err != nil {
			screenshot(t, second, "failed-"+strings.ReplaceAll(step, " ", "-"))
			t.Fatalf("%s: %v", step, err)
		}
	}
	run("resume", chromedp.Navigate(s.URL+"/exams"), chromedp.Click(`a[href="/attempts/`+attemptID+`"]`),
		chromedp.WaitVisible(`#question-body .question`), waitText(`#save-status`, "All answers saved"))
	screenshot(t, second, "player-resumed")

	// The clock: within 2 s of deadline − now, read at the same moment.
	shown, err := chromedp.Run(second, chromedp.Text(`#timer`))
	if err != nil {
		t.Fatal(err)
	}
	now := s.attempt(t, token, attemptID)
	wantLeft := now.Deadline.Sub(now.ServerTime)
	if d := clockSeconds(t, shown) - wantLeft; d < -2*time.Second || d > 2*time.Second {
		t.Errorf("timer shows %s, want %s ± 2 s", shown, wantLeft.Round(time.Second))
	}

	for i := range 2 {
		label, err := chromedp.Run(second, chromedp.AttributeValue(fmt.Sprintf(`.qmap button[data-index="%d"]`, i), "aria-label"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(label.Value, ", answered") {
			t.Errorf("question map %d says %q, want answered", i+1, label.Value)
		}
		run(fmt.Sprintf("go to question %d", i+1), chromedp.Click(fmt.Sprintf(`.qmap button[data-index="%d"]`, i)),
			chromedp.WaitVisible(fmt.Sprintf(`#question-body[data-item-id=%q] .question`, a.Items[i].ItemID)))
		got, err := chromedp.Run(second, chromedp.Evaluate[json.RawMessage](shownAnswer))
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(got, want[i]) {
			t.Errorf("question %d shows %s after resuming, want %s", i+1, got, want[i])
		}
	}
}

// clockSeconds parses the player's clock, m:ss or h:mm:ss.
func clockSeconds(t *testing.T, s string) time.Duration {
	t.Helper()
	var total time.Duration
	for _, part := range strings.Split(strings.TrimSpace(s), ":") {
		n, err := strconv.Atoi(part)
		if err != nil {
			t.Fatalf("clock %q: %v", s, err)
		}
		total = total*60 + time.Duration(n)
	}
	return total * time.Second
}
