package main

import (
	"bytes"
	"context"
	"flag"
	"strconv"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/cmd/touchstone/loadtest"
)

// The fault drills run at CI scale by default; at full scale with, e.g.,
//
//	go test ./cmd/touchstone -run TestFaultDrills -timeout 60m -v -args \
//	  -drills.candidates=1000 -drills.duration=5m -drills.save-every=20s
var (
	drillCandidates = flag.Int("drills.candidates", 20, "TestFaultDrills: candidates taking the exam through each fault")
	drillDuration   = flag.Duration("drills.duration", 30*time.Second, "TestFaultDrills: time each candidate spends in the exam")
	drillSaveEvery  = flag.Duration("drills.save-every", time.Second, "TestFaultDrills: each candidate saves an answer this often (events twice as seldom)")
)

// TestFaultDrills puts the load tool's candidates through each fault in
// the middle of their exam, on two instances of one deployment
// (PostgreSQL and Redis) with the requests spread across both: one
// instance killed with SIGKILL and started again on the same address, and
// the database unreachable for five seconds. Calls may find the server unavailable
// while it lasts; afterwards every candidate carries on and submits, no
// call fails otherwise, and every answer the server acknowledged, before
// or after, is in the database.
func TestFaultDrills(t *testing.T) {
	if testing.Short() {
		t.Skip("fault drills: start the whole server and a crowd of candidates (-short skips them)")
	}
	n := *drillCandidates
	drills := []struct {
		name  string
		fault func(t *testing.T, s *server, db *tcpProxy)
	}{
		{"kill -9 and restart", func(t *testing.T, s *server, _ *tcpProxy) {
			s.Kill()
			time.Sleep(time.Second)
			s.launchProcess(t)
		}},
		{"database away for 5 s", func(t *testing.T, _ *server, db *tcpProxy) {
			db.Down()
			time.Sleep(5 * time.Second)
			db.Up(t)
		}},
	}
	for _, d := range drills {
		t.Run(d.name, func(t *testing.T) {
			s, proxy := startBehindProxy(t, map[string]string{"TOUCHSTONE_TRUSTED_PROXIES": "127.0.0.1"})
			other := &server{env: s.env, addr: "127.0.0.1:0"}
			other.launch(t)
			dbURL := s.env["TOUCHSTONE_DATABASE_URL"]
			ctx := context.Background()
			var out bytes.Buffer
			if err := run(ctx, []string{"loadtest", "setup", "--database-url", dbURL, "--candidates", strconv.Itoa(n), "--bcrypt-cost", "4",
				"--exam", "Formulas", "--snapshot-seconds", "10"}, nil, &out); err != nil {
				t.Fatalf("setup: %v\n%s", err, out.String())
			}

			ramp := time.Duration(n) * 30 * time.Millisecond
			type outcome struct {
				rep loadtest.Report
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				rep, err := loadtest.Run(ctx, loadtest.Config{URL: s.URL + "," + other.URL, Candidates: n, Exam: "Formulas", Ramp: ramp,
					Duration: *drillDuration, SaveEvery: *drillSaveEvery, EventEvery: 2 * *drillSaveEvery, SnapshotEvery: 10 * time.Second,
					Live: true, ForwardedFor: true, Outages: true, DatabaseURL: dbURL})
				done <- outcome{rep, err}
			}()
			time.Sleep(ramp + *drillDuration/3)
			faultAt := time.Now()
			d.fault(t, s, proxy)
			t.Logf("fault over after %s", time.Since(faultAt).Round(time.Millisecond))

			o := <-done
			if o.err != nil {
				t.Fatal(o.err)
			}
			var text bytes.Buffer
			if err := o.rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			t.Logf("report:\n%s", text.String())
			rep := o.rep
			if !rep.OK() {
				t.Errorf("the drill failed: %d errors, problems %v", rep.Errors, rep.Problems)
			}
			if rep.Unavailable == 0 {
				t.Errorf("no call found the server unavailable: the fault was not felt")
			}
			if rep.Completed != int64(n) {
				t.Errorf("%d of %d candidates submitted after the fault", rep.Completed, n)
			}
			if rep.Check == nil || rep.Check.Acknowledged == 0 || rep.Check.Lost != 0 {
				t.Errorf("database check %+v: want acknowledged answers, none lost", rep.Check)
			}
		})
	}
}
