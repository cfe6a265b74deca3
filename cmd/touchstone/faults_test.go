package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/migrations"
)

// saveAnswer is the body of a save of a multiple-choice answer.
func saveAnswer(choice string, seq int64) map[string]any {
	return map[string]any{"answer": map[string]string{"choice": choice}, "seq": seq}
}

type savedReply struct {
	Applied bool  `json:"applied"`
	Seq     int64 `json:"seq"`
}

// sentLog records, per item, the choice sent with each seq and the
// highest seq the server acknowledged as applied.
type sentLog struct {
	mu    sync.Mutex
	sent  map[string]map[int64]string
	acked map[string]int64
}

func newSentLog() *sentLog {
	return &sentLog{sent: map[string]map[int64]string{}, acked: map[string]int64{}}
}

func (l *sentLog) send(item string, seq int64, choice string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent[item] == nil {
		l.sent[item] = map[int64]string{}
	}
	l.sent[item][seq] = choice
}

func (l *sentLog) ack(item string, seq int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[item] = max(l.acked[item], seq)
}

// check compares what the server holds with what was acknowledged: every
// acknowledged save is there or overtaken by a later one that was sent
// (a save in flight may be committed without its answer arriving).
func (l *sentLog) check(t *testing.T, a contractAttempt) (acked int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, it := range a.Items {
		want := l.acked[it.ItemID]
		if want == 0 {
			continue
		}
		acked++
		var got struct {
			Choice string `json:"choice"`
		}
		_ = json.Unmarshal(it.Answer, &got)
		switch {
		case it.Seq < want:
			t.Errorf("item %s: the server holds seq %d, but seq %d was acknowledged: an acknowledged answer was lost", it.ItemID, it.Seq, want)
		case l.sent[it.ItemID][it.Seq] == "":
			t.Errorf("item %s: the server holds seq %d, which was never sent", it.ItemID, it.Seq)
		case got.Choice != l.sent[it.ItemID][it.Seq]:
			t.Errorf("item %s: the server holds %s at seq %d, but %q was sent with it", it.ItemID, it.Answer, it.Seq, l.sent[it.ItemID][it.Seq])
		}
	}
	return acked
}

// saveLoad runs workers that save answers to the attempt's items until
// stop is closed, each worker on its own items with growing seqs and
// alternating choices. Without onReply a worker ends when the server
// stops answering; with it, every answer goes to onReply and the worker
// goes on.
func saveLoad(s *server, token string, a contractAttempt, workers int, log *sentLog, stop <-chan struct{}, onReply func(reply, error)) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var seq int64
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				// Worker w owns items w, w+workers, …
				i := w + (n%((len(a.Items)-w+workers-1)/workers))*workers
				it := a.Items[i]
				seq++
				choice := it.Content.Options[int(seq)%len(it.Content.Options)].ID
				log.send(it.ItemID, seq, choice)
				r, err := s.try("PUT", "/api/v1/attempts/"+a.ID+"/responses/"+it.ItemID, token, saveAnswer(choice, seq))
				if onReply != nil {
					onReply(r, err)
				}
				if err != nil {
					if onReply == nil {
						return // the server is gone
					}
					time.Sleep(50 * time.Millisecond)
					continue
				}
				var out savedReply
				if r.Status == http.StatusOK && json.Unmarshal(r.Body, &out) == nil && out.Applied {
					log.ack(it.ItemID, seq)
				}
			}
		}()
	}
	return &wg
}

// startExam starts the exam titled title for the holder of token through
// the API and returns the attempt as the API then shows it.
func (s *server) startExam(t *testing.T, token, title string) contractAttempt {
	t.Helper()
	e := s.exam(t, token, title)
	var started attempt
	if st := s.call(t, "POST", "/api/v1/exams/"+e.ID+"/attempts", token, nil, &started); st != http.StatusCreated {
		t.Fatalf("start: status %d", st)
	}
	return s.attempt(t, token, started.ID)
}

// A server killed with SIGKILL while candidates save answers loses none it
// acknowledged: after a restart on the same database every save answered
// "applied" is stored, the deadline has not moved, the remaining time is
// deadline − now, and the attempt goes on to its result.
func TestKillMidExamLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9: starts the whole server as a process twice (-short skips it)")
	}
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			s := newServer(t, backend, nil)
			s.launchProcess(t)
			s.addr = s.URL[len("http://"):]
			token := s.login(t, "candidate@example.com")
			before := s.startExam(t, token, "Formulas")

			log := newSentLog()
			stop := make(chan struct{})
			wg := saveLoad(s, token, before, 6, log, stop, nil)
			// Let the load run, then kill the server in the middle of it.
			deadline := time.Now().Add(20 * time.Second)
			for {
				log.mu.Lock()
				n := len(log.acked)
				log.mu.Unlock()
				if n >= len(before.Items)/2 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			s.Kill()
			close(stop)
			wg.Wait()

			s.launchProcess(t)
			token = s.login(t, "candidate@example.com")
			after := s.attempt(t, token, before.ID)
			now := time.Now()
			acked := log.check(t, after)
			if acked == 0 {
				t.Fatal("no save was acknowledged before the kill: the test measured nothing")
			}
			t.Logf("%d items had acknowledged saves before SIGKILL; all kept", acked)
			if after.Status != "in_progress" {
				t.Fatalf("attempt after the restart: status %q, want in_progress", after.Status)
			}
			if !after.Deadline.Equal(before.Deadline) {
				t.Errorf("deadline moved across the kill: %s, was %s", after.Deadline, before.Deadline)
			}
			want := after.Deadline.Sub(now).Seconds()
			if math.Abs(after.RemainingSeconds-want) > 2 || after.RemainingSeconds <= 0 {
				t.Errorf("remaining after the restart: %.1f s, want deadline − now = %.1f s (± 2 s)", after.RemainingSeconds, want)
			}
			// The attempt goes on: a new answer is taken, a replay is not,
			// and the submit scores it.
			it := after.Items[0]
			next := it.Seq + 1
			var got savedReply
			if st := s.call(t, "PUT", "/api/v1/attempts/"+before.ID+"/responses/"+it.ItemID, token, saveAnswer(it.Content.Options[0].ID, next), &got); st != http.StatusOK || !got.Applied {
				t.Fatalf("save after the restart: status %d, %+v; want applied", st, got)
			}
			if st := s.call(t, "PUT", "/api/v1/attempts/"+before.ID+"/responses/"+it.ItemID, token, saveAnswer(it.Content.Options[1].ID, next), &got); st != http.StatusOK || got.Applied {
				t.Fatalf("replay after the restart: status %d, %+v; want not applied", st, got)
			}
			var r result
			if st := s.call(t, "POST", "/api/v1/attempts/"+before.ID+"/submit", token, nil, &r); st != http.StatusOK {
				t.Fatalf("submit after the restart: status %d", st)
			}
			if r.Cut == 0 {
				t.Errorf("result after the restart: %+v, want a scored result", r)
			}
		})
	}
}

// statusCounts counts answers by status, for messages.
type statusCounts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *statusCounts) add(r reply, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	k := fmt.Sprint(r.Status)
	if err != nil {
		k = "error"
	}
	c.m[k]++
}

func (c *statusCounts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.m)
}

// problems collects, from many goroutines, what a fault test found wrong.
type problems struct {
	mu    sync.Mutex
	found []string
}

func (p *problems) addf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.found = append(p.found, fmt.Sprintf(format, args...))
}

// report fails t with the first ten problems and the count of the rest.
func (p *problems) report(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, w := range p.found {
		if i == 10 {
			t.Errorf("… and %d more", len(p.found)-10)
			break
		}
		t.Error(w)
	}
}

// Concurrent submits of one attempt — twenty at once, spread across two
// instances of one deployment, each a double click (two submits back to
// back) — and replays of an answer give exactly one result, one score,
// one credential and one audit entry of each kind for the decision; the
// replays answer applied:false and change nothing.
func TestConcurrentSubmitsAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server with the demo (-short skips it)")
	}
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend)
			instances := []*server{s}
			if backend == "postgres+redis" {
				second := &server{env: s.env, addr: "127.0.0.1:0"}
				second.launch(t)
				instances = append(instances, second)
			}
			db := openServerDB(t, s)
			token := s.login(t, "candidate@example.com")
			var me struct{ ID string }
			s.call(t, "GET", "/api/v1/me", token, nil, &me)
			e := s.exam(t, token, "Pivot Tables")
			keys := s.keys(t, e.ID)
			a := s.startExam(t, token, e.Title)
			for i, it := range a.Items {
				in := instances[i%len(instances)]
				var got savedReply
				if st := in.call(t, "PUT", "/api/v1/attempts/"+a.ID+"/responses/"+it.ItemID, token, saveAnswer(keys[it.ItemID], 1), &got); st != http.StatusOK || !got.Applied {
					t.Fatalf("save %d: status %d, %+v", i, st, got)
				}
			}
			// Replays of the same seq, on every instance, with another
			// answer: not applied, nothing changes.
			first := a.Items[0]
			wrong := first.Content.Options[0].ID
			if wrong == keys[first.ItemID] {
				wrong = first.Content.Options[1].ID
			}
			for _, in := range instances {
				for range 3 {
					var got savedReply
					if st := in.call(t, "PUT", "/api/v1/attempts/"+a.ID+"/responses/"+first.ItemID, token, saveAnswer(wrong, 1), &got); st != http.StatusOK || got.Applied || got.Seq != 1 {
						t.Fatalf("replay: status %d, %+v; want 200, not applied, seq 1", st, got)
					}
				}
			}
			if got := s.attempt(t, token, a.ID); string(got.Items[0].Answer) != fmt.Sprintf(`{"choice":%q}`, keys[first.ItemID]) {
				t.Fatalf("after replays the first answer is %s, want the key %s", got.Items[0].Answer, keys[first.ItemID])
			}

			count := func(query string, args ...any) int64 {
				t.Helper()
				var n int64
				if err := db.Raw(query, args...).Scan(&n).Error; err != nil {
					t.Fatalf("%s: %v", query, err)
				}
				return n
			}
			credsBefore := count("SELECT count(*) FROM credentials WHERE recipient_id = ?", me.ID)
			issuedBefore := count("SELECT count(*) FROM audit_log WHERE action = 'credential.issue'")

			const clickers = 20
			type outcome struct {
				status int
				res    result
				err    error
			}
			outcomes := make([]outcome, 2*clickers)
			var wg sync.WaitGroup
			ready := make(chan struct{})
			for i := range clickers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					in := instances[i%len(instances)]
					<-ready
					for click := range 2 { // a double click
						o := &outcomes[2*i+click]
						r, err := in.try("POST", "/api/v1/attempts/"+a.ID+"/submit", token, nil)
						o.status, o.err = r.Status, err
						if err == nil && r.Status == http.StatusOK {
							o.err = json.Unmarshal(r.Body, &o.res)
						}
					}
				}()
			}
			close(ready)
			wg.Wait()
			var credential string
			for i, o := range outcomes {
				if o.err != nil || o.status != http.StatusOK || o.res.CredentialID == nil || !o.res.Passed {
					t.Fatalf("submit %d: status %d, %+v, %v; want 200, a pass and a credential", i, o.status, o.res, o.err)
				}
				if credential == "" {
					credential = *o.res.CredentialID
				}
				if *o.res.CredentialID != credential || o.res.Score != outcomes[0].res.Score {
					t.Fatalf("submit %d answered credential %s score %v; submit 0: %s, %v: want one result", i, *o.res.CredentialID, o.res.Score, credential, outcomes[0].res.Score)
				}
			}
			if got := count("SELECT count(*) FROM attempts WHERE id = ? AND status = 'submitted' AND score IS NOT NULL", a.ID); got != 1 {
				t.Errorf("%d scored result rows for the attempt, want 1", got)
			}
			if got := count("SELECT count(*) FROM credentials WHERE recipient_id = ?", me.ID) - credsBefore; got != 1 {
				t.Errorf("%d credentials issued to the candidate, want 1", got)
			}
			if got := count("SELECT count(*) FROM audit_log WHERE action = 'credential.issue'") - issuedBefore; got != 1 {
				t.Errorf("%d credential.issue audit entries, want 1", got)
			}
			var dup []struct {
				Action, Subject string
				N               int64
			}
			if err := db.Raw(`SELECT action, subject, count(*) AS n FROM audit_log WHERE subject IN (?, ?)
				GROUP BY action, subject HAVING count(*) > 1`, "attempt:"+a.ID, "credential:"+credential).Scan(&dup).Error; err != nil {
				t.Fatal(err)
			}
			if len(dup) > 0 {
				t.Errorf("audit entries repeated for one decision: %+v", dup)
			}
			// A replay after the submit is refused and changes nothing.
			for _, in := range instances {
				if r, err := in.try("PUT", "/api/v1/attempts/"+a.ID+"/responses/"+first.ItemID, token, saveAnswer(wrong, 2)); err != nil || r.Status != http.StatusConflict {
					t.Errorf("save after submit: %d %s %v; want 409", r.Status, r.Body, err)
				}
			}
			var r result
			if st := s.call(t, "GET", "/api/v1/attempts/"+a.ID+"/result", token, nil, &r); st != http.StatusOK || r.Score != outcomes[0].res.Score || r.CredentialID == nil || *r.CredentialID != credential {
				t.Errorf("result after it all: status %d, %+v; want score %v and credential %s", st, r, outcomes[0].res.Score, credential)
			}
		})
	}
}

// openServerDB opens the database of a server started by the test, beside
// it, for checks the API does not show.
func openServerDB(t *testing.T, s *server) *gorm.DB {
	t.Helper()
	url := s.env["TOUCHSTONE_DATABASE_URL"]
	if url == "" {
		url = filepath.Join(s.env["TOUCHSTONE_DATA_DIR"], "touchstone.db")
	}
	db, err := migrations.Connect(url)
	if err != nil {
		t.Fatalf("open the server's database: %v", err)
	}
	t.Cleanup(func() { migrations.Close(db) })
	return db
}

// A database restart under load: while PostgreSQL is unreachable (a proxy
// between the server and it drops every connection and refuses new ones)
// every API request that needs it answers 503 with Retry-After and
// {"error":{"code":"unavailable"}} within seconds — never 500, never a
// hang, never a 401 — and once the database is back the same server
// answers again (its pool recovers) and every acknowledged answer is
// stored.
func TestDatabaseOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server with the demo (-short skips it)")
	}
	s, proxy := startBehindProxy(t, nil)
	token := s.login(t, "candidate@example.com")
	a := s.startExam(t, token, "Formulas")

	const patience = 3 * time.Second // well under a browser's
	var (
		counts  statusCounts
		wrong   problems
		mu      sync.Mutex
		outage  bool
		slowest time.Duration
	)
	check := func(what string, r reply, err error) {
		counts.add(r, err)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			wrong.addf("%s: %v after %s", what, err, r.Elapsed)
		case r.Status == http.StatusServiceUnavailable:
			slowest = max(slowest, r.Elapsed)
			var body struct {
				Error struct{ Code string } `json:"error"`
			}
			_ = json.Unmarshal(r.Body, &body)
			if r.Header.Get("Retry-After") == "" || body.Error.Code != "unavailable" || r.Elapsed > patience {
				wrong.addf("%s: 503 after %s, Retry-After %q, body %s", what, r.Elapsed, r.Header.Get("Retry-After"), r.Body)
			}
		case r.Status == http.StatusOK || r.Status == http.StatusCreated || r.Status == http.StatusNoContent:
		case outage && r.Status == http.StatusConflict:
			// A save whose transaction the outage cut may be one the
			// server took (a replay then says so), never a 5xx.
		default:
			wrong.addf("%s: status %d %s after %s", what, r.Status, r.Body, r.Elapsed)
		}
	}
	log := newSentLog()
	stop := make(chan struct{})
	wg := saveLoad(s, token, a, 4, log, stop, func(r reply, err error) { check("save", r, err) })
	time.Sleep(time.Second)

	proxy.Down()
	mu.Lock()
	outage = true
	mu.Unlock()
	probes := []struct{ method, path, token string }{
		{"GET", "/api/v1/attempts/" + a.ID, token},
		{"PUT", "/api/v1/attempts/" + a.ID + "/responses/" + a.Items[0].ItemID, token},
		{"POST", "/api/v1/attempts/" + a.ID + "/events", token},
		{"GET", "/api/v1/exams", token},
		{"POST", "/api/v1/session", ""},
	}
	bodies := map[string]any{
		"PUT":  saveAnswer(a.Items[0].Content.Options[0].ID, 1_000_000),
		"POST": map[string]any{"events": []map[string]string{{"kind": "heartbeat"}}, "email": "candidate@example.com", "password": demoPassword},
	}
	down := time.Now()
	unavailable := 0
	for round := 0; time.Since(down) < 4*time.Second; round++ {
		for _, p := range probes {
			if p.path == "/api/v1/session" && round >= 3 {
				continue // the account's login limit is 10 in 15 minutes
			}
			r, err := s.try(p.method, p.path, p.token, bodies[p.method])
			check(p.method+" "+p.path+" during the outage", r, err)
			if err == nil && r.Status == http.StatusServiceUnavailable {
				unavailable++
			} else if err == nil {
				t.Errorf("%s %s during the outage: status %d %s, want 503", p.method, p.path, r.Status, r.Body)
			}
		}
	}
	proxy.Up(t)
	up := time.Now()
	for {
		r, err := s.try("GET", "/api/v1/attempts/"+a.ID, token, nil)
		if err == nil && r.Status == http.StatusOK {
			break
		}
		if time.Since(up) > 15*time.Second {
			t.Fatalf("the server does not recover within 15 s of the database's return: %d %s %v", r.Status, r.Body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	recovered := time.Since(up)
	time.Sleep(time.Second) // saves go on after the recovery
	close(stop)
	wg.Wait()

	after := s.attempt(t, token, a.ID)
	acked := log.check(t, after)
	if unavailable == 0 || acked == 0 {
		t.Fatalf("the outage was not observed: %d probes answered 503, %d items acknowledged", unavailable, acked)
	}
	wrong.report(t)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("answers by status: %s; slowest 503 %s; recovered %s after the database returned", &counts, slowest.Round(time.Millisecond), recovered.Round(time.Millisecond))
}

// startBehindProxy starts a server on PostgreSQL (and Redis) that reaches
// its database through a tcpProxy.
func startBehindProxy(t *testing.T, settings map[string]string) (*server, *tcpProxy) {
	t.Helper()
	s := newServer(t, "postgres+redis", settings)
	u, err := url.Parse(s.env["TOUCHSTONE_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, u.Host)
	u.Host = proxy.Addr
	s.env["TOUCHSTONE_DATABASE_URL"] = u.String()
	s.launchProcess(t)
	s.addr = strings.TrimPrefix(s.URL, "http://")
	return s, proxy
}

// redisServer is a private redis-server of one test, on its own port and
// directory, that the test may stop and start again.
type redisServer struct {
	Port int
	dir  string
	cmd  *exec.Cmd
}

// startRedis starts redis-server on a free port (or port, when not 0).
// A missing redis-server skips the test, or fails it when services are
// required.
func startRedis(t *testing.T, port int) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if dbtest.RequireServices() {
			t.Fatal("redis-server is not on PATH and TOUCHSTONE_REQUIRE_SERVICES=1: install it (apt-get install redis-server)")
		}
		t.Skip("the Redis outage test needs redis-server on PATH")
	}
	r := &redisServer{Port: port, dir: t.TempDir()}
	if r.Port == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		r.Port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	r.cmd = exec.Command(bin, "--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(r.Kill)
	for start := time.Now(); ; {
		c, err := net.DialTimeout("tcp", r.Addr(), time.Second)
		if err == nil {
			c.Close()
			return r
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("redis-server does not listen on %s: %v", r.Addr(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *redisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port)) }

// Kill stops redis-server with SIGKILL, as a crash would.
func (r *redisServer) Kill() {
	if r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

// openStream opens a server-sent event stream and returns its data lines
// once the server says it is open, or the status it answered instead.
func (s *server) openStream(t *testing.T, path, token string) (<-chan string, int, func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, "GET", s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("open %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode, func() {}
	}
	data, opened := make(chan string, 16), make(chan struct{})
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if sc.Text() == "event: open" {
				close(opened)
			}
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && d != "{}" {
				select {
				case data <- d:
				default:
				}
			}
		}
	}()
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("stream %s: no open event within 10 s", path)
	}
	return data, http.StatusOK, cancel
}

// Redis stopped under load: saves, events, sign-ins, starts, submits and
// proctors' actions go on (live views degrade: streams go quiet or are
// refused with 503, never a 500); with Redis back on the same port, a
// proctor's message on one instance reaches the candidate's stream on the
// other again, without restarting either; nothing acknowledged is lost.
func TestRedisOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers with the demo (-short skips it)")
	}
	redis := startRedis(t, 0)
	s := newServer(t, "postgres+redis", nil)
	s.env["TOUCHSTONE_REDIS_URL"] = "redis://" + redis.Addr() + "/0"
	s.launch(t)
	b := &server{env: s.env, addr: "127.0.0.1:0"}
	b.launch(t)

	token := s.login(t, "candidate@example.com")
	proctor := s.login(t, "proctor@example.com")
	a := s.startExam(t, token, "Formulas")
	message := func(body string) int {
		t.Helper()
		r, err := s.try("POST", "/api/v1/attempts/"+a.ID+"/messages", proctor, map[string]string{"body": body})
		if err != nil {
			t.Fatalf("message: %v", err)
		}
		return r.Status
	}
	// delivered reports whether a proctor's message sent on instance A
	// reaches a candidate's stream opened on instance B.
	delivered := func(body string) (bool, int) {
		t.Helper()
		data, st, cancel := b.openStream(t, "/api/v1/attempts/"+a.ID+"/live", token)
		defer cancel()
		if st != http.StatusOK {
			return false, st
		}
		if st := message(body); st != http.StatusOK {
			t.Fatalf("message %q: status %d", body, st)
		}
		timeout := time.After(2 * time.Second)
		for {
			select {
			case d := <-data:
				if strings.Contains(d, `"message"`) && strings.Contains(d, body) {
					return true, st
				}
			case <-timeout:
				return false, st
			}
		}
	}
	if ok, st := delivered("before the outage"); !ok {
		t.Fatalf("a message did not cross instances before the outage (stream status %d)", st)
	}

	var counts statusCounts
	var wrong problems
	check := func(what string, r reply, err error, want ...int) {
		counts.add(r, err)
		if err == nil && slices.Contains(want, r.Status) {
			return
		}
		wrong.addf("%s: status %d %s %v, want %v", what, r.Status, r.Body, err, want)
	}
	log := newSentLog()
	stop := make(chan struct{})
	wg := saveLoad(s, token, a, 3, log, stop, func(r reply, err error) { check("save", r, err, http.StatusOK) })
	time.Sleep(500 * time.Millisecond)
	redis.Kill()

	for _, in := range []*server{s, b} {
		r, err := in.try("POST", "/api/v1/attempts/"+a.ID+"/events", token,
			map[string]any{"events": []map[string]string{{"kind": "focus_lost"}, {"kind": "heartbeat"}}})
		check("events", r, err, http.StatusNoContent)
		r, err = in.try("POST", "/api/v1/session", "", map[string]string{"email": "candidate@example.com", "password": demoPassword})
		check("sign in", r, err, http.StatusCreated)
		r, err = in.try("POST", "/api/v1/attempts/"+a.ID+"/messages", proctor, map[string]string{"body": "during the outage"})
		check("proctor's message", r, err, http.StatusOK)
	}
	// A live view opened now goes quiet, or is refused with 503 for a
	// while when its instance has never subscribed.
	if _, st, cancel := b.openStream(t, "/api/v1/proctor/live", proctor); st != http.StatusOK && st != http.StatusServiceUnavailable {
		t.Errorf("a proctor's console stream opened during the outage: status %d, want 200 (quiet) or 503", st)
	} else {
		cancel()
	}
	// Another candidate starts and submits an exam while Redis is down.
	riley := b.login(t, "riley@example.com")
	charts := b.exam(t, riley, "Charts")
	var other attempt
	r, err := b.try("POST", "/api/v1/exams/"+charts.ID+"/attempts", riley, nil)
	check("start", r, err, http.StatusCreated)
	if err == nil && json.Unmarshal(r.Body, &other) == nil && other.ID != "" {
		r, err = s.try("POST", "/api/v1/attempts/"+other.ID+"/submit", riley, nil)
		check("submit", r, err, http.StatusOK)
	}
	_, st, cancel := b.openStream(t, "/api/v1/attempts/"+a.ID+"/live", token)
	cancel()
	if st != http.StatusOK && st != http.StatusServiceUnavailable {
		t.Errorf("a candidate's stream opened during the outage: status %d, want 200 (quiet) or 503", st)
	}
	time.Sleep(time.Second)

	startRedis(t, redis.Port)
	back := time.Now()
	for n := 0; ; n++ {
		if ok, _ := delivered(fmt.Sprintf("after the outage %d", n)); ok {
			break
		}
		if time.Since(back) > 30*time.Second {
			t.Fatal("live views did not recover within 30 s of Redis's return")
		}
	}
	recovered := time.Since(back)
	close(stop)
	wg.Wait()
	if acked := log.check(t, s.attempt(t, token, a.ID)); acked == 0 {
		t.Error("no save was acknowledged: the test measured nothing")
	}
	wrong.report(t)
	t.Logf("answers by status: %s; live views recovered %s after Redis returned", &counts, recovered.Round(time.Millisecond))
}
