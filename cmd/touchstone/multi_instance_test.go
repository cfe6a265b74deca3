package main

import (
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/migrations"
)

// startDeployment starts n instances of one deployment at once, as an
// operator's process manager does: one PostgreSQL database, one Redis
// prefix, one issuer key and one file store, and a data directory of each
// instance's own (as on separate hosts). They race to migrate the empty
// database, to create the issuer key and to load the demo.
func startDeployment(t *testing.T, n int) []*server {
	t.Helper()
	shared := t.TempDir()
	first := newServer(t, "postgres+redis", map[string]string{
		"TOUCHSTONE_ISSUER_KEY":     filepath.Join(shared, "issuer-key.pem"),
		"TOUCHSTONE_ISSUER_RSA_KEY": filepath.Join(shared, "issuer-rsa-key.pem"),
		"TOUCHSTONE_BLOB_URL":       filepath.Join(shared, "blobs"),
	})
	out := []*server{first}
	for range n - 1 {
		env := map[string]string{}
		for k, v := range first.env {
			env[k] = v
		}
		env["TOUCHSTONE_DATA_DIR"] = t.TempDir()
		out = append(out, &server{env: env, addr: "127.0.0.1:0"})
	}
	waits := make([]func() error, n)
	for i, s := range out {
		waits[i] = s.begin(t)
	}
	for i, wait := range waits {
		if err := wait(); err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	return out
}

// attemptClock is the clock of an attempt as an instance reports it.
type attemptClock struct {
	Status    string
	Deadline  time.Time
	Remaining int  `json:"remaining_seconds"`
	Held      bool `json:"held"`
}

func (s *server) clock(t *testing.T, token, attemptID string) attemptClock {
	t.Helper()
	var c attemptClock
	if st := s.call(t, "GET", "/api/v1/attempts/"+attemptID, token, nil, &c); st != http.StatusOK {
		t.Fatalf("%s: attempt %s: status %d", s.URL, attemptID, st)
	}
	return c
}

// auditActions counts the audit log's entries about subject by action.
func (s *server) auditActions(t *testing.T, admin, subject string) map[string]int {
	t.Helper()
	var log struct {
		Entries []struct{ Action string }
	}
	if st := s.call(t, "GET", "/api/v1/audit?limit=1000&subject="+subject, admin, nil, &log); st != http.StatusOK {
		t.Fatalf("audit of %s: status %d", subject, st)
	}
	out := map[string]int{}
	for _, e := range log.Entries {
		out[e.Action]++
	}
	return out
}

// TestMultiInstance runs three instances of one deployment and spreads
// each candidate's requests across them: the clock, a proctor's hold, the
// expiry sweep, the login rate limit and credential issuance behave as on
// one instance. It starts the instances at once on an empty database, so
// it also shows that they migrate it, create the issuer key and load the
// demo once between them.
func TestMultiInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers with the demo (-short skips it)")
	}
	began := time.Now()
	in := startDeployment(t, 3)
	t.Logf("three instances started together in %v", time.Since(began).Round(100*time.Millisecond))
	db, err := migrations.Connect(in[0].env["TOUCHSTONE_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { migrations.Close(db) })
	// on picks the instance of the i-th request, as a round-robin load
	// balancer would.
	on := func(i int) *server { return in[i%len(in)] }
	admin := in[0].login(t, "admin@example.com")
	proctor := in[1].login(t, "proctor@example.com")

	t.Run("one issuer key", func(t *testing.T) {
		var programs int64
		if err := db.Table("programs").Count(&programs).Error; err != nil || programs != 1 {
			t.Errorf("%d demo programs (%v), want 1: the demo loaded once", programs, err)
		}
		var keys int64
		if err := db.Table("issuer_keys").Where("algorithm = ?", "Ed25519").Count(&keys).Error; err != nil || keys != 1 {
			t.Errorf("%d Ed25519 issuer keys (%v), want the one the instances share", keys, err)
		}
	})

	// The overdue attempt is set up first, so that the sweepers work on it
	// while the other checks run.
	riley := in[2].login(t, "riley@example.com")
	formulas := in[2].exam(t, riley, "Formulas")
	overdue := startAndAnswer(t, in, riley, formulas.ID)
	if err := db.Exec("UPDATE attempts SET deadline = ? WHERE id = ?", time.Now().UTC().Add(-time.Minute), overdue).Error; err != nil {
		t.Fatal(err)
	}
	// Candidates' page loads race the sweepers to close it.
	var loads sync.WaitGroup
	for i := range 6 {
		loads.Add(1)
		go func() {
			defer loads.Done()
			noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequest("GET", on(i).URL+"/attempts/"+overdue, nil)
			req.Header.Set("Authorization", "Bearer "+riley)
			if resp, err := noRedirect.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}

	candidate := in[0].login(t, "candidate@example.com")
	var (
		held     string
		heldPast time.Time // when the held attempt's stored deadline was set in the past
	)
	t.Run("timers", func(t *testing.T) {
		charts := in[0].exam(t, candidate, "Charts")
		held = startAndAnswer(t, in, candidate, charts.ID)
		clocks := make([]attemptClock, len(in))
		for i := range in {
			clocks[i] = on(i).clock(t, candidate, held)
		}
		for i, c := range clocks {
			if !c.Deadline.Equal(clocks[0].Deadline) || c.Held {
				t.Errorf("instance %d: deadline %v held %v; instance 0: %v", i, c.Deadline, c.Held, clocks[0].Deadline)
			}
			if d := clocks[0].Remaining - c.Remaining; d < 0 || d > 2 {
				t.Errorf("instance %d: %d s left, instance 0 %d s a moment before", i, c.Remaining, clocks[0].Remaining)
			}
		}

		if st := in[0].call(t, "POST", "/api/v1/attempts/"+held+"/hold", proctor, map[string]string{"reason": "second person in view"}, nil); st != http.StatusOK {
			t.Fatalf("hold on instance 0: status %d", st)
		}
		before := in[1].clock(t, candidate, held)
		time.Sleep(1100 * time.Millisecond)
		after := in[2].clock(t, candidate, held)
		if !before.Held || !after.Held || before.Remaining != after.Remaining {
			t.Errorf("held on instance 0: instance 1 says %+v, instance 2 a second later %+v; want held with the same time left", before, after)
		}
		var refusal struct{ Error struct{ Code string } }
		if st := in[1].call(t, "POST", "/api/v1/attempts/"+held+"/submit", candidate, nil, &refusal); st != http.StatusConflict || refusal.Error.Code != "held" {
			t.Errorf("submit on instance 1 while held: status %d %+v, want 409 held", st, refusal)
		}
		// The hold has lasted longer than the minute that was left: the
		// stored deadline is past, but the clock stopped, so neither a
		// page load nor any instance's sweeper may close the attempt.
		now := time.Now().UTC()
		if err := db.Exec("UPDATE attempts SET held_at = ?, deadline = ? WHERE id = ?", now.Add(-10*time.Minute), now.Add(-9*time.Minute), held).Error; err != nil {
			t.Fatal(err)
		}
		heldPast = now
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", in[1].URL+"/attempts/"+held, nil)
		req.Header.Set("Authorization", "Bearer "+candidate)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("the candidate's page of the held attempt past its stored deadline: status %d, want 200 (still open)", resp.StatusCode)
		}
	})

	t.Run("login rate limit", func(t *testing.T) {
		// 10 sign-ins per account in 15 minutes: 6 on one instance and 4
		// on another use them up; the 11th is refused on every instance,
		// the right password too.
		try := func(s *server, password string) int {
			return s.postSession(t, "panelist3@example.com", password, nil)
		}
		for i := range 10 {
			s := in[0]
			if i >= 6 {
				s = in[1]
			}
			if st := try(s, "wrong password"); st != http.StatusUnauthorized {
				t.Fatalf("failed sign-in %d: status %d, want 401", i+1, st)
			}
		}
		if st := try(in[2], "wrong password"); st != http.StatusTooManyRequests {
			t.Errorf("11th sign-in on instance 2: status %d, want 429", st)
		}
		if st := try(in[0], demoPassword); st != http.StatusTooManyRequests {
			t.Errorf("12th sign-in, with the right password, on instance 0: status %d, want 429", st)
		}
	})

	t.Run("overdue attempt closed once", func(t *testing.T) {
		loads.Wait()
		var r result
		deadline := time.Now().Add(20 * time.Second)
		for {
			st := on(int(time.Now().UnixMilli())).call(t, "GET", "/api/v1/attempts/"+overdue+"/result", riley, nil, &r)
			if st == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the overdue attempt is still open 20 s later (status %d)", st)
			}
			time.Sleep(250 * time.Millisecond)
		}
		actions := in[1].auditActions(t, admin, "attempt:"+overdue)
		if actions["attempt.submit"] != 1 {
			t.Errorf("audit of the overdue attempt: %v, want one attempt.submit", actions)
		}
		var by string
		if err := db.Table("attempts").Where("id = ?", overdue).Pluck("submitted_by", &by).Error; err != nil || by != "deadline" {
			t.Errorf("submitted by %q (%v), want deadline", by, err)
		}
		if !r.Passed || r.CredentialID == nil {
			t.Fatalf("overdue attempt answered right: %+v, want a pass with its credential", r)
		}
		if n := countCredentials(t, db, *r.CredentialID); n != 1 {
			t.Errorf("%d credentials for the overdue attempt, want 1", n)
		}
	})

	t.Run("a hold outlives the sweeps", func(t *testing.T) {
		if held == "" {
			t.Skip("no held attempt: the timers test failed")
		}
		// Every instance tries to sweep every 5 s and one of them does: a
		// sweep has run since the held attempt's stored deadline passed.
		time.Sleep(time.Until(heldPast.Add(6 * time.Second)))
		c := in[0].clock(t, candidate, held)
		if c.Status != "in_progress" || !c.Held || c.Remaining != 60 {
			t.Fatalf("held attempt after the sweeps: %+v, want in progress, held, 60 s left", c)
		}
		if st := in[2].call(t, "POST", "/api/v1/attempts/"+held+"/resume", proctor, map[string]string{}, nil); st != http.StatusOK {
			t.Fatalf("resume on instance 2: status %d", st)
		}
		c = in[1].clock(t, candidate, held)
		if c.Held || c.Remaining < 58 || c.Remaining > 60 || math.Abs(time.Until(c.Deadline).Seconds()-60) > 2 {
			t.Errorf("resumed on instance 2, instance 1 says %+v (deadline in %v); want running with a minute left", c, time.Until(c.Deadline))
		}
		var r result
		if st := in[0].call(t, "POST", "/api/v1/attempts/"+held+"/submit", candidate, nil, &r); st != http.StatusOK {
			t.Fatalf("submit after resuming: status %d", st)
		}
	})

	t.Run("concurrent submits on every instance issue one credential", func(t *testing.T) {
		pivot := in[0].exam(t, candidate, "Pivot Tables")
		id := startAndAnswer(t, in, candidate, pivot.ID)
		credentialID := submitTogether(t, 9, on, candidate, id)
		if actions := in[2].auditActions(t, admin, "attempt:"+id); actions["attempt.submit"] != 1 {
			t.Errorf("audit of the attempt: %v, want one attempt.submit", actions)
		}
		if n := countCredentials(t, db, credentialID); n != 1 {
			t.Errorf("%d credentials for the attempt, want 1", n)
		}
		// Every instance publishes the same status.
		var doc struct {
			CredentialStatus struct {
				URL string `json:"statusListCredential"`
			} `json:"credentialStatus"`
		}
		if st := in[1].call(t, "GET", "/api/v1/credentials/"+credentialID, candidate, nil, &doc); st != http.StatusOK {
			t.Fatalf("credential: status %d", st)
		}
		var lists []string
		for i := range in {
			var list struct {
				Subject struct {
					EncodedList string `json:"encodedList"`
				} `json:"credentialSubject"`
			}
			u, err := url.Parse(doc.CredentialStatus.URL)
			if err != nil {
				t.Fatal(err)
			}
			path := u.Path
			if st := on(i).call(t, "GET", path, "", nil, &list); st != http.StatusOK || list.Subject.EncodedList == "" {
				t.Fatalf("status list on instance %d: status %d", i, st)
			}
			lists = append(lists, list.Subject.EncodedList)
		}
		for i := range lists {
			if lists[i] != lists[0] {
				t.Errorf("instance %d publishes a different status list from instance 0", i)
			}
		}
	})

	t.Run("one calibration run at a time", func(t *testing.T) {
		psych := in[0].login(t, "psychometrician@example.com")
		charts := in[0].exam(t, psych, "Charts")
		statuses := make([]int, len(in))
		runs := make([]struct{ ID, Status string }, len(in))
		var wg sync.WaitGroup
		for i := range in {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = on(i).call(t, "POST", "/api/v1/exams/"+charts.ID+"/calibrations", psych, map[string]string{"model": "2pl", "note": "multi-instance"}, &runs[i])
			}()
		}
		wg.Wait()
		started := ""
		for i, st := range statuses {
			switch st {
			case http.StatusAccepted:
				if started != "" {
					t.Errorf("instance %d started a second 2PL run of the exam while run %s runs", i, started)
				}
				started = runs[i].ID
			case http.StatusConflict:
			default:
				t.Errorf("start on instance %d: status %d, want 202 or 409", i, st)
			}
		}
		if started == "" {
			t.Fatalf("no instance started the run: %v", statuses)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			var run struct{ Status string }
			if st := on(int(time.Now().UnixMilli())).call(t, "GET", "/api/v1/calibrations/"+started, psych, nil, &run); st != http.StatusOK {
				t.Fatalf("run: status %d", st)
			}
			if run.Status != "running" {
				if run.Status != "done" {
					t.Errorf("the run ended %s", run.Status)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the run is still running after 60 s")
			}
			time.Sleep(200 * time.Millisecond)
		}
	})

	// Each instance runs a chainer that places the entries written on any
	// of them; they take turns on the chain's head.
	t.Run("audit chain intact", func(t *testing.T) {
		var log struct {
			Chain    string
			Unplaced int64
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			if st := in[2].call(t, "GET", "/api/v1/audit?limit=1", admin, nil, &log); st != http.StatusOK || log.Chain != "intact" {
				t.Fatalf("audit chain after concurrent writers on three instances: status %d, %q; want intact", st, log.Chain)
			}
			if log.Unplaced == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d audit entries still unplaced after 20 s", log.Unplaced)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var entries, placed int64
		if err := db.Raw("SELECT count(*), count(pos) FROM audit_log").Row().Scan(&entries, &placed); err != nil {
			t.Fatal(err)
		}
		if entries < 10 || placed != entries {
			t.Errorf("%d audit entries, %d placed; want all of at least 10 placed", entries, placed)
		}
		if err := audit.Verify(db); err != nil {
			t.Errorf("audit chain read from the database: %v", err)
		}
	})
	t.Logf("multi-instance test took %v", time.Since(began).Round(100*time.Millisecond))
}

// startAndAnswer starts the candidate's attempt of exam on one instance
// and answers every item with its key, each answer on the next instance.
func startAndAnswer(t *testing.T, in []*server, token, examID string) string {
	t.Helper()
	keys := in[0].keys(t, examID)
	var a attempt
	if st := in[1].call(t, "POST", "/api/v1/exams/"+examID+"/attempts", token, nil, &a); st != http.StatusCreated {
		t.Fatalf("start: status %d", st)
	}
	for i, it := range a.Items {
		if st := in[i%len(in)].call(t, "PUT", "/api/v1/attempts/"+a.ID+"/responses/"+it.ID, token, map[string]string{"answer": keys[it.ID]}, nil); st != http.StatusOK {
			t.Fatalf("answer %d on instance %d: status %d", i, i%len(in), st)
		}
	}
	return a.ID
}

// countCredentials counts the stored credentials issued for the same
// attempt as credential id (its issuance key).
func countCredentials(t *testing.T, db *gorm.DB, id string) int64 {
	t.Helper()
	var key string
	if err := db.Table("credentials").Where("id = ?", id).Pluck("issuance_key", &key).Error; err != nil || key == "" {
		t.Fatalf("issuance key of credential %s: %q, %v", id, key, err)
	}
	var n int64
	if err := db.Table("credentials").Where("issuance_key = ?", key).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
