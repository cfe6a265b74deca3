package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/cmd/touchstone/loadtest"
	"github.com/touchstone-assess/touchstone/migrations"
)

// TestLoadtest runs the load tool at a small scale against the real
// server on both backends: 30 candidates at a fast pace (an answer every
// half second), a fifth of them dropping off once and resuming, webcam
// snapshots on; every endpoint must be exercised without an error and
// every acknowledged answer must be in the database. Then one
// acknowledged answer is deleted and the database check must report it.
func TestLoadtest(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: starts the whole server (-short skips it)")
	}
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			s := startServerWith(t, backend, map[string]string{"TOUCHSTONE_TRUSTED_PROXIES": "127.0.0.1"})
			dbURL := s.env["TOUCHSTONE_DATABASE_URL"]
			if dbURL == "" {
				dbURL = filepath.Join(s.env["TOUCHSTONE_DATA_DIR"], "touchstone.db")
			}
			ctx := context.Background()
			var out bytes.Buffer
			// A low bcrypt cost keeps 30 sign-ins cheap on a CI machine.
			if err := run(ctx, []string{"loadtest", "setup", "--database-url", dbURL, "--candidates", "30", "--bcrypt-cost", "4",
				"--exam", "Pivot Tables", "--snapshot-seconds", "10"}, nil, &out); err != nil {
				t.Fatalf("setup: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "30 created") {
				t.Fatalf("setup said %q, want 30 created", out.String())
			}

			rep, err := loadtest.Run(ctx, loadtest.Config{URL: s.URL, Candidates: 30, Exam: "Pivot Tables", Ramp: 2 * time.Second,
				Duration: 10 * time.Second, SaveEvery: 500 * time.Millisecond, EventEvery: time.Second, SnapshotEvery: 6 * time.Second,
				Disconnect: 0.2, Offline: 2 * time.Second, Live: true, ForwardedFor: true, DatabaseURL: dbURL})
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			t.Logf("report:\n%s", text.String())
			if !rep.OK() {
				t.Errorf("the run failed: %d errors, problems %v", rep.Errors, rep.Problems)
			}
			for _, name := range []string{loadtest.EndpointLogin, loadtest.EndpointStart, loadtest.EndpointView, loadtest.EndpointSave,
				loadtest.EndpointEvents, loadtest.EndpointSnapshot, loadtest.EndpointLive, loadtest.EndpointMessages,
				loadtest.EndpointResume, loadtest.EndpointSubmit} {
				count := int64(0)
				for _, e := range rep.Endpoints {
					if e.Name == name {
						count = e.Count
					}
				}
				if count == 0 {
					t.Errorf("endpoint %q was not exercised", name)
				}
			}
			if rep.Completed != 30 || rep.Disconnects == 0 || rep.Resumed != rep.Disconnects || rep.StreamsOpened < 30 {
				t.Errorf("completed %d, disconnects %d, resumed %d, streams opened %d; want 30 submitted, some disconnects all resumed, a stream each",
					rep.Completed, rep.Disconnects, rep.Resumed, rep.StreamsOpened)
			}
			if rep.Check == nil || rep.Check.Lost != 0 || rep.Check.Saves < 30*8 || rep.Check.Acknowledged < 30*5 || rep.Check.Stored != rep.Check.Acknowledged {
				t.Fatalf("database check %+v: want hundreds acknowledged, all stored", rep.Check)
			}
			b, err := json.Marshal(rep)
			if err != nil || !bytes.Contains(b, []byte(`"p99_ms"`)) {
				t.Errorf("JSON report: %v %s", err, b)
			}

			// A planted loss: one acknowledged answer's row disappears.
			db, err := migrations.Connect(dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer migrations.Close(db)
			var victim struct{ AttemptID, ItemID string }
			if err := db.Raw(`SELECT r.attempt_id, r.item_id FROM responses r JOIN attempts a ON a.id = r.attempt_id
				JOIN users u ON u.id = a.candidate_id WHERE u.email LIKE 'load-%' AND r.seq > 0 ORDER BY r.attempt_id, r.item_id LIMIT 1`).Scan(&victim).Error; err != nil || victim.ItemID == "" {
				t.Fatalf("find an acknowledged answer: %v %+v", err, victim)
			}
			if err := db.Exec("DELETE FROM responses WHERE attempt_id = ? AND item_id = ?", victim.AttemptID, victim.ItemID).Error; err != nil {
				t.Fatal(err)
			}
			chk, err := rep.Recheck(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			if chk.Lost != 1 || chk.Stored != rep.Check.Stored-1 || len(chk.Examples) != 1 || !strings.Contains(chk.Examples[0], victim.ItemID) {
				t.Errorf("after deleting %+v: check %+v, want exactly that answer lost", victim, chk)
			}
		})
	}
}

// TestLoadtestFlags: a mistaken flag is a usage error (exit 2) naming it.
func TestLoadtestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"loadtest", "--candidates", "0"}, "--candidates 0"},
		{[]string{"loadtest", "--disconnect", "1.5"}, "--disconnect: 1.5"},
		{[]string{"loadtest", "--procs", "-1"}, "--procs -1"},
		{[]string{"loadtest", "--url", "127.0.0.1:8080"}, "--url:"},
		{[]string{"loadtest", "--mode", "saturate", "--pgbench", "--database-url", "data/touchstone.db"}, "--pgbench: needs --database-url"},
		{[]string{"loadtest", "--save-every", "often"}, "save-every"},
		{[]string{"loadtest", "setup", "--exam", "Charts"}, "--exam and --snapshot-seconds go together"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), tc.args, func(string) string { return "" }, &out)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v (exit %d), want a usage error with %q", tc.args, err, exitCode(err), tc.want)
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"loadtest", "setup", "--candidates", "3"}, func(string) string { return "" }, &out)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "database-url: required") {
		t.Errorf("setup without a database: got %v, want an error naming --database-url", err)
	}
}

// TestLoadtestCPUProfile: --cpuprofile writes the tool's own profile even
// when the run fails, and a file it cannot create is an error naming it.
// The run gives back the CPUs it took (--procs).
func TestLoadtestCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loadtest.pprof")
	procs := runtime.GOMAXPROCS(0)
	// Nothing listens on port 1: the run fails at the first sign-in.
	err := run(context.Background(), []string{"loadtest", "--url", "http://127.0.0.1:1", "--candidates", "1", "--cpuprofile", path},
		func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "sign in") {
		t.Fatalf("run against no server: %v, want a sign-in failure", err)
	}
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS after a run = %d, want %d as before it", got, procs)
	}
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("profile %q: %v, %d bytes; want a gzipped pprof profile", path, err, len(b))
	}
	err = run(context.Background(), []string{"loadtest", "--cpuprofile", filepath.Join(path, "no", "such", "dir")}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--cpuprofile") {
		t.Errorf("a profile that cannot be created: %v, want an error naming --cpuprofile", err)
	}
}
