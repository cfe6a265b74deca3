package main

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A server restarted mid-exam loses no acknowledged answer: after the
// restart the candidate's attempt has every answer the server confirmed,
// the same deadline and the right remaining time, a replayed answer is a
// no-op, and the attempt finishes as if nothing had happened.
func TestRestartMidExamLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("restart: starts the whole server with the demo twice (-short skips it)")
	}
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend)
			token := s.login(t, "candidate@example.com")
			e := s.exam(t, token, "Formulas")
			keys := s.keys(t, e.ID)
			var a attempt
			if st := s.call(t, "POST", "/api/v1/exams/"+e.ID+"/attempts", token, nil, &a); st != http.StatusCreated {
				t.Fatalf("start: status %d", st)
			}
			type saved struct {
				Applied bool  `json:"applied"`
				Seq     int64 `json:"seq"`
			}
			save := func(token, itemID string, seq int64) saved {
				t.Helper()
				var out saved
				body := map[string]any{"answer": map[string]string{"choice": keys[itemID]}, "seq": seq}
				if st := s.call(t, "PUT", "/api/v1/attempts/"+a.ID+"/responses/"+itemID, token, body, &out); st != http.StatusOK {
					t.Fatalf("save %s: status %d", itemID, st)
				}
				return out
			}
			const before = 5
			for _, it := range a.Items[:before] {
				if got := save(token, it.ID, 1); !got.Applied {
					t.Fatalf("save %s: not applied", it.ID)
				}
			}
			type view struct {
				Deadline         time.Time `json:"deadline"`
				ServerTime       time.Time `json:"server_time"`
				RemainingSeconds float64   `json:"remaining_seconds"`
				Items            []struct {
					ID     string `json:"item_id"`
					Answer *struct {
						Choice string `json:"choice"`
					} `json:"answer"`
					Seq int64 `json:"seq"`
				} `json:"items"`
			}
			var was view
			if st := s.call(t, "GET", "/api/v1/attempts/"+a.ID, token, nil, &was); st != http.StatusOK {
				t.Fatalf("attempt: status %d", st)
			}

			s.Stop()
			s.Restart(t)

			token = s.login(t, "candidate@example.com")
			var now view
			if st := s.call(t, "GET", "/api/v1/attempts/"+a.ID, token, nil, &now); st != http.StatusOK {
				t.Fatalf("attempt after the restart: status %d", st)
			}
			if !now.Deadline.Equal(was.Deadline) {
				t.Errorf("deadline moved across the restart: %s, was %s", now.Deadline, was.Deadline)
			}
			want := now.Deadline.Sub(now.ServerTime).Seconds()
			if math.Abs(now.RemainingSeconds-want) > 2 || now.RemainingSeconds <= 0 {
				t.Errorf("remaining after the restart: %.0f s, want deadline − server time = %.0f s", now.RemainingSeconds, want)
			}
			for i, it := range now.Items {
				answered := it.Answer != nil && it.Answer.Choice != ""
				switch {
				case i < before && (!answered || it.Answer.Choice != keys[it.ID] || it.Seq != 1):
					t.Errorf("item %d: acknowledged answer lost in the restart: %+v", i+1, it)
				case i >= before && answered:
					t.Errorf("item %d: answered after the restart without being sent", i+1)
				}
			}
			if got := save(token, a.Items[0].ID, 1); got.Applied || got.Seq != 1 {
				t.Errorf("a replayed answer after the restart: got %+v, want not applied at seq 1", got)
			}
			for _, it := range a.Items[before:] {
				save(token, it.ID, 1)
			}
			var r result
			if st := s.call(t, "POST", "/api/v1/attempts/"+a.ID+"/submit", token, nil, &r); st != http.StatusOK {
				t.Fatalf("submit: status %d", st)
			}
			if !r.Passed || r.Score != float64(len(a.Items)) {
				t.Errorf("result: %+v, want a pass with every item right", r)
			}
		})
	}
}

// The browser side of a restart: answers given while the server is down
// wait in the player's queue and reach the restarted server, after those
// it had acknowledged, and the clock still counts to the same deadline.
func TestBrowserServerRestartMidExam(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: starts the whole server with the demo (-short skips it)")
	}
	ctx := browser(t)
	s := startServer(t, "sqlite")
	p := openFormulas(t, ctx, s)
	for i := range 3 {
		p.answer(t, ctx, i)
	}
	step(t, ctx, "saved before the restart", waitText(`#save-status`, "Saved"))

	s.Stop()
	for i := 3; i < 6; i++ {
		p.answer(t, ctx, i)
	}
	step(t, ctx, "queued while the server is down", waitText(`#save-status`, "Not saved"))
	screenshot(t, ctx, "player-server-down")
	s.Restart(t)
	step(t, ctx, "replayed after the restart", waitText(`#save-status`, "Saved"))

	after := s.attempt(t, p.token, p.ID)
	p.wantKeysHeld(t, after, 6)
	if !after.Deadline.Equal(p.Deadline) {
		t.Errorf("deadline moved across the restart: %s, was %s", after.Deadline, p.Deadline)
	}
	shown := read(t, ctx, "read the clock", chromedp.Text(`#timer`))
	wantLeft := after.Deadline.Sub(after.ServerTime)
	if d := clockSeconds(t, shown) - wantLeft; d < -2*time.Second || d > 2*time.Second {
		t.Errorf("timer shows %s after the restart, want %s ± 2 s", shown, wantLeft.Round(time.Second))
	}
}

// playerAttempt is the candidate's attempt of the demo's Formulas exam, open
// in the browser's player.
type playerAttempt struct {
	contractAttempt                   // as started, read through the API
	token           string            // the candidate's API token
	keys            map[string]string // item id → key option id
}

// openFormulas signs the candidate in through the API and in the browser,
// starts the Formulas exam in the player and waits for its first question.
func openFormulas(t *testing.T, ctx context.Context, s *server) playerAttempt {
	t.Helper()
	token := s.login(t, "candidate@example.com")
	e := s.exam(t, token, "Formulas")
	keys := s.keys(t, e.ID)
	signIn(t, ctx, s, "candidate@example.com")
	id := startInBrowser(t, ctx, s, e.ID)
	return playerAttempt{contractAttempt: s.attempt(t, token, id), token: token, keys: keys}
}

// answer answers the attempt's i-th item with its key and goes to the next.
func (p playerAttempt) answer(t *testing.T, ctx context.Context, i int) {
	t.Helper()
	answerKey(t, ctx, p.keys, p.Items[i].ItemID)
	step(t, ctx, "next", chromedp.Click(`#next`))
}

// wantKeysHeld fails t for each of the first n items of after, the attempt
// as the server now holds it, whose answer is not the key the player gave.
func (p playerAttempt) wantKeysHeld(t *testing.T, after contractAttempt, n int) {
	t.Helper()
	for i, it := range after.Items[:n] {
		var got struct {
			Choice string `json:"choice"`
		}
		_ = json.Unmarshal(it.Answer, &got)
		if got.Choice != p.keys[it.ItemID] {
			t.Errorf("item %d: the server holds %s, want the answer given (%s)", i+1, it.Answer, p.keys[it.ItemID])
		}
	}
}
