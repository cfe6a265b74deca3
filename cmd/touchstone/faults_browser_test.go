package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser side of a database restart: while PostgreSQL is unreachable
// the server answers the player's saves with 503 and Retry-After; the
// player keeps the answers given meanwhile in its queue and says so, and
// once the database is back (the same server, its pool recovered) it
// sends them, after those acknowledged before and in the order given.
func TestBrowserDatabaseOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: starts the whole server with the demo (-short skips it)")
	}
	ctx := browser(t)
	s, proxy := startBehindProxy(t, nil)
	token := s.login(t, "candidate@example.com")
	e := s.exam(t, token, "Formulas")
	keys := s.keys(t, e.ID)
	signIn(t, ctx, s, "candidate@example.com")
	attemptID := startInBrowser(t, ctx, s, e.ID)
	a := s.attempt(t, token, attemptID)

	answer := func(i int) {
		t.Helper()
		answerKey(t, ctx, keys, a.Items[i].ItemID)
		step(t, ctx, "next", chromedp.Click(`#next`))
	}
	for i := range 3 {
		answer(i)
	}
	step(t, ctx, "saved before the outage", waitText(`#save-status`, "Saved"))

	proxy.Down()
	down := time.Now()
	for i := 3; i < 6; i++ {
		answer(i)
	}
	step(t, ctx, "queued while the database is down", waitText(`#save-status`, "Not saved yet: 3 answers kept on this device"))
	screenshot(t, ctx, "player-database-down")
	// The outage lasts a while: the queue keeps retrying, and keeps them.
	time.Sleep(time.Until(down.Add(6 * time.Second)))
	queued := read(t, ctx, "read the queue", chromedp.Evaluate[string](
		`JSON.stringify(JSON.parse(localStorage.getItem('touchstone:queue:`+attemptID+`') || '{}').pending || [])`))
	var pending [][]json.RawMessage
	if err := json.Unmarshal([]byte(queued), &pending); err != nil || len(pending) != 3 {
		t.Fatalf("the player's stored queue during the outage: %s (%v), want the 3 answers given", queued, err)
	}
	proxy.Up(t)
	up := time.Now()
	step(t, ctx, "replayed after the database returned", waitText(`#save-status`, "Saved"))
	// The server asked for a retry after 2 s; the queue does not back off
	// beyond that.
	if took := time.Since(up); took > 5*time.Second {
		t.Errorf("the queue was sent %s after the database returned, want within 5 s (Retry-After: 2)", took.Round(100*time.Millisecond))
	} else {
		t.Logf("the queue was sent %s after the database returned", took.Round(100*time.Millisecond))
	}

	after := s.attempt(t, token, attemptID)
	for i, it := range after.Items[:6] {
		var got struct {
			Choice string `json:"choice"`
		}
		_ = json.Unmarshal(it.Answer, &got)
		if got.Choice != keys[it.ItemID] {
			t.Errorf("item %d: the server holds %s, want the answer given (%s)", i+1, it.Answer, keys[it.ItemID])
		}
		if i > 0 && it.Seq <= after.Items[i-1].Seq {
			t.Errorf("item %d stored at seq %d, item %d at seq %d: want the order in which they were answered", i+1, it.Seq, i, after.Items[i-1].Seq)
		}
	}
}
