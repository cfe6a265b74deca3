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
	p := openFormulas(t, ctx, s)
	for i := range 3 {
		p.answer(t, ctx, i)
	}
	step(t, ctx, "saved before the outage", waitText(`#save-status`, "Saved"))

	proxy.Down()
	down := time.Now()
	for i := 3; i < 6; i++ {
		p.answer(t, ctx, i)
	}
	step(t, ctx, "queued while the database is down", waitText(`#save-status`, "Not saved yet: 3 answers kept on this device"))
	screenshot(t, ctx, "player-database-down")
	// The outage lasts a while: the queue keeps retrying, and keeps them.
	time.Sleep(time.Until(down.Add(6 * time.Second)))
	queued := read(t, ctx, "read the queue", chromedp.Evaluate[string](
		`JSON.stringify(JSON.parse(localStorage.getItem('touchstone:queue:`+p.ID+`') || '{}').pending || [])`))
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

	after := s.attempt(t, p.token, p.ID)
	p.wantKeysHeld(t, after, 6)
	for i := 1; i < 6; i++ {
		if it := after.Items[i]; it.Seq <= after.Items[i-1].Seq {
			t.Errorf("item %d stored at seq %d, item %d at seq %d: want the order in which they were answered", i+1, it.Seq, i, after.Items[i-1].Seq)
		}
	}
}
