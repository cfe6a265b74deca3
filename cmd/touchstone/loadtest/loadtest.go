// Package loadtest is the `touchstone loadtest` tool: it simulates
// candidates taking an exam against a running server, exactly as the exam
// player (web/static/player.js) calls the API, and reports throughput,
// latency percentiles and errors per endpoint; at the end it checks in the
// database that every answer the server acknowledged is stored.
//
// A paced run (ModePaced) gives each of N candidates its own account
// (created beforehand by Setup with one shared password hash), spreads
// their sign-ins over a ramp, and has each one sign in (POST
// /api/v1/session, keeping the session cookie and sending the CSRF token
// on writes), start the attempt, load it, hold its server-sent event
// stream open (re-reading the attempt and the proctor's messages each time
// it opens, as the player does), save an answer every SaveEvery (PUT
// …/responses/{item} with the item's whole state and a sequence number
// from one counter per attempt, one request at a time), post proctoring
// events every EventEvery and a webcam snapshot every SnapshotEvery, and
// submit at the end. A share of them (Disconnect) drop off once mid-exam:
// the stream closes, answers given meanwhile queue, and on coming back
// the candidate re-reads the attempt, checks that the time left is what
// it should be and that the answers saved before are there, reopens the
// stream and sends the queue.
//
// A saturating run (ModeSaturate) has Workers candidates save answers back
// to back without pacing, for the endpoint's throughput; with Pgbench it
// then runs pgbench on the same PostgreSQL database, the same number of
// clients and the same duration, doing the store's answer UPDATE on a
// scratch copy of the responses table, and reports both throughputs and
// their ratio.
//
// Many candidates share few addresses on a load-testing machine, and
// login limits count per client address; the tool therefore sends each
// candidate's requests with its own X-Forwarded-For address (from
// 10.0.0.0/8), as a load balancer would. The server believes it only when
// started with TOUCHSTONE_TRUSTED_PROXIES naming the tool's address (e.g.
// 127.0.0.1); otherwise every candidate counts against one address's limit.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Modes of a run.
const (
	ModePaced    = "paced"
	ModeSaturate = "saturate"
)

// DefaultPassword is the load accounts' password unless one is given.
const DefaultPassword = "touchstone load test password"

// Config is a run's settings. The zero value of a duration or count
// takes the default given with it.
type Config struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080, or the
	// base URLs of several instances of one deployment separated by
	// commas: each request then goes to the next in turn, as a
	// round-robin load balancer would send it.
	URL string
	// Mode is ModePaced (the default) or ModeSaturate.
	Mode string
	// Candidates is how many candidates a paced run simulates (default
	// 10); accounts 1…Candidates are used (see AccountEmail).
	Candidates int
	// Workers is how many candidates save back to back in a saturating
	// run (default 8).
	Workers int
	// FirstAccount is the number of the first load account used
	// (default 1), so that runs can use disjoint sets of accounts.
	FirstAccount int
	// Password is the load accounts' password (default DefaultPassword).
	Password string
	// Ramp spreads the candidates' sign-ins and starts evenly over this
	// long (default 0: all at once).
	Ramp time.Duration
	// Duration is how long each candidate stays in the exam (paced), or
	// how long the workers save (saturate); default 1 minute.
	Duration time.Duration
	// SaveEvery, EventEvery and SnapshotEvery pace each candidate: an
	// answer, a batch of proctoring events and a webcam snapshot (when
	// the exam takes them) at these intervals (defaults 20 s, 10 s, 30 s),
	// each within ±10 % so that candidates do not act in lockstep.
	SaveEvery, EventEvery, SnapshotEvery time.Duration
	// Disconnect is the share of candidates (0 to 1) that lose their
	// connection once mid-exam, for Offline (default 5 s), and resume.
	Disconnect float64
	// Offline is how long a disconnected candidate stays away.
	Offline time.Duration
	// Exam is the title or id of the exam to take; empty takes the
	// simplest: a fixed-form exam with a standard and no prerequisite,
	// with the fewest items.
	Exam string
	// Live holds each attempt's server-sent event stream open as the
	// player does (true by default in the command).
	Live bool
	// DatabaseURL, when set, is the server's database (postgres://… or a
	// SQLite file path), where the acknowledged answers are checked.
	DatabaseURL string
	// Pgbench runs pgbench after a saturating run (PostgreSQL only).
	Pgbench bool
	// ForwardedFor gives each candidate its own X-Forwarded-For address.
	ForwardedFor bool
	// MaxConns bounds the connections the tool opens for requests (the
	// event streams have their own, one per candidate); default 512.
	MaxConns int
	// Outages says the server or its database will be away for a while
	// during the run (a fault drill: a server killed and restarted, a
	// database restarted). Calls that fail for want of them — no
	// connection, a reset, a timeout, 502/503/504 — are then counted as
	// Unavailable, not as errors, and candidates wait them out as the
	// player does: answers stay queued, and resuming and submitting are
	// retried every second for up to two minutes. Lost answers still
	// fail the run.
	Outages bool
	// Timeout bounds one request (default 30 s).
	Timeout time.Duration
	// Seed makes the candidates' choices reproducible (default 1).
	Seed uint64
	// Progress, when set, receives a line every ProgressEvery (default
	// 10 s) while the run lasts, with the saves' p99 over that interval.
	Progress      io.Writer
	ProgressEvery time.Duration
}

func (c *Config) defaults() error {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Mode == "" {
		c.Mode = ModePaced
	}
	if c.Candidates == 0 {
		c.Candidates = 10
	}
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.FirstAccount == 0 {
		c.FirstAccount = 1
	}
	if c.Password == "" {
		c.Password = DefaultPassword
	}
	set(&c.Duration, time.Minute)
	set(&c.SaveEvery, 20*time.Second)
	set(&c.EventEvery, 10*time.Second)
	set(&c.SnapshotEvery, 30*time.Second)
	set(&c.Offline, 5*time.Second)
	set(&c.Timeout, 30*time.Second)
	set(&c.ProgressEvery, 10*time.Second)
	if c.MaxConns == 0 {
		c.MaxConns = 512
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	for _, one := range strings.Split(c.URL, ",") {
		u, err := url.Parse(one)
		if one == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("url: %q is not an http:// or https:// URL of the server", one)
		}
	}
	switch {
	case c.Mode != ModePaced && c.Mode != ModeSaturate:
		return fmt.Errorf("mode: %q is not %s or %s", c.Mode, ModePaced, ModeSaturate)
	case c.Candidates < 0:
		return fmt.Errorf("candidates: %d must be at least 1", c.Candidates)
	case c.Workers < 0:
		return fmt.Errorf("workers: %d must be at least 1", c.Workers)
	case c.FirstAccount < 0:
		return fmt.Errorf("first-account: %d must be at least 1", c.FirstAccount)
	case c.Disconnect < 0 || c.Disconnect > 1:
		return fmt.Errorf("disconnect: %g is not a share from 0 to 1", c.Disconnect)
	case c.Ramp < 0 || c.Duration < 0 || c.SaveEvery < 0 || c.EventEvery < 0 || c.SnapshotEvery < 0 || c.Offline < 0:
		return errors.New("durations must not be negative")
	case c.Pgbench && c.Mode != ModeSaturate:
		return errors.New("pgbench: compares with a saturating run: add --mode saturate")
	case c.Pgbench && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://"):
		return errors.New("pgbench: needs --database-url of the server's PostgreSQL database")
	}
	return nil
}

// ConfigError is a setting of Config that cannot be used; its message
// starts with the setting's flag name ("disconnect: …").
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }

// AccountEmail is the email of load account n (from 1).
func AccountEmail(n int) string { return fmt.Sprintf("load-%06d@loadtest.invalid", n) }

// Report is the outcome of a run.
type Report struct {
	Mode       string  `json:"mode"`
	URL        string  `json:"url"`
	Exam       string  `json:"exam"`
	ExamID     string  `json:"exam_id"`
	Candidates int     `json:"candidates"`
	Elapsed    float64 `json:"elapsed_seconds"`
	// Endpoints are the figures of each endpoint called.
	Endpoints []EndpointStats `json:"endpoints"`
	// Steady holds the figures of a paced run's steady window, when every
	// candidate was in the exam (from the last start to the first
	// candidate's time up): the run without its ramps. Nil when the candidates
	// were never all in the exam at once.
	Steady    *Window `json:"steady,omitempty"`
	Requests  int64   `json:"requests"`
	PerSecond float64 `json:"requests_per_second"`
	Errors    int64   `json:"errors"`
	// Unavailable counts calls that failed during a planned outage
	// (Config.Outages).
	Unavailable int64 `json:"unavailable,omitempty"`
	// Completed counts candidates who submitted.
	Completed int64 `json:"completed"`
	// StreamsOpened counts server-sent event streams opened (the server
	// ends each after five minutes and the player reopens it);
	// StreamsPeak is the most open at once.
	StreamsOpened int64 `json:"streams_opened"`
	StreamsPeak   int64 `json:"streams_peak"`
	// InExamPeak is the most candidates in the exam at once, between
	// their start and their submission: the run's concurrency, which is
	// below Candidates when the ramp is longer than the time in the exam.
	InExamPeak int64 `json:"in_exam_peak"`
	// Disconnects counts candidates who dropped off mid-exam; Resumed
	// those who came back and found their attempt as they left it.
	Disconnects int64 `json:"disconnects"`
	Resumed     int64 `json:"resumed"`
	// SnapshotsOff is set when the exam takes no snapshots (none sent).
	SnapshotsOff bool `json:"snapshots_off,omitempty"`
	// SavesPerSecond is the rate of acknowledged answer saves over the
	// saving period (saturate: the workers' duration).
	SavesPerSecond float64 `json:"saves_per_second"`
	// Check is the database check of the acknowledged answers; nil when
	// no database was given.
	Check *Check `json:"check,omitempty"`
	// Pgbench is the raw PostgreSQL comparison of a saturating run.
	Pgbench *Pgbench `json:"pgbench,omitempty"`
	// Problems lists what failed the run beyond the endpoint errors.
	Problems []string `json:"problems,omitempty"`

	acks *ledger
}

// Recheck checks the database at dbURL again against the answers this
// run's server acknowledged: after a server restart or a failover, say.
func (r Report) Recheck(ctx context.Context, dbURL string) (Check, error) {
	if r.acks == nil {
		return Check{}, errors.New("recheck: the report has no acknowledgements (read from JSON?)")
	}
	return checkAnswers(ctx, dbURL, r.acks)
}

// OK reports whether the run passed: no error on any endpoint, no lost
// answer, no other problem.
func (r Report) OK() bool {
	return r.Errors == 0 && len(r.Problems) == 0 && (r.Check == nil || r.Check.Lost == 0)
}

// retry calls try until it succeeds, or, during a planned outage
// (Config.Outages), until it fails otherwise than for want of the server
// or two minutes have passed, a second apart. It returns try's last error.
func (r *run) retry(ctx context.Context, try func() error) error {
	give := time.Now().Add(2 * time.Minute)
	for {
		err := try()
		var ce *callError
		if err == nil || !r.cfg.Outages || !errors.As(err, &ce) || !unavailable(ce.Reason) || time.Now().After(give) {
			return err
		}
		if !sleep(ctx, time.Second) {
			return err
		}
	}
}

// run is one run's shared state.
type run struct {
	cfg      Config
	bases    []string      // the instances' base URLs
	turn     atomic.Uint64 // which instance the next request goes to
	rec      *recorder
	http     *fasthttp.Client
	streams  *http.Client
	exam     examInfo
	acks     *ledger
	problems []string
	mu       sync.Mutex

	openStreams, inExam             gauge // streams open; candidates between start and submit
	streamsOpened                   atomic.Int64
	disconnects, resumed, completed atomic.Int64
	saves                           atomic.Int64
	snapshotsOff                    atomic.Bool
}

// gauge counts what is open now and remembers the most open at once.
type gauge struct{ now, peak atomic.Int64 }

// up counts one more and returns how many there are now.
func (g *gauge) up() int64 {
	n := g.now.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	return n
}

func (g *gauge) down() { g.now.Add(-1) }

func (r *run) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.problems) < 20 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

type examInfo struct {
	ID, Title, Mode string
	Items           int
	HasStandard     bool
	Prerequisites   int
}

// Run runs the load test described by cfg and reports it. It returns an
// error when the run cannot take place (a bad setting, the server or the
// exam not found); failures during the run are in the report (see
// Report.OK).
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.defaults(); err != nil {
		return Report{}, &ConfigError{err}
	}
	r := &run{cfg: cfg, rec: newRecorder(cfg.Outages), acks: newLedger()}
	for _, u := range strings.Split(cfg.URL, ",") {
		r.bases = append(r.bases, strings.TrimRight(u, "/"))
	}
	// Requests go through fasthttp's client: net/http's cost the tool
	// nearly twice the CPU per request, taken from the server it measures.
	// It does not retry: a call that failed counts as failed.
	r.http = &fasthttp.Client{MaxConnsPerHost: cfg.MaxConns, MaxConnWaitTimeout: cfg.Timeout,
		MaxIdleConnDuration: 90 * time.Second, MaxIdemponentCallAttempts: 1, NoDefaultUserAgentHeader: true,
		DisablePathNormalizing: true}
	defer r.http.CloseIdleConnections()
	// One connection per open stream, kept for the stream's reopening
	// when the server ends it, so that thousands of candidates do not use up the
	// machine's ephemeral ports with connections in TIME_WAIT.
	st := &http.Transport{MaxIdleConnsPerHost: max(cfg.Candidates, cfg.Workers), IdleConnTimeout: time.Minute, DisableCompression: true}
	defer st.CloseIdleConnections()
	r.streams = &http.Client{Transport: st}

	exam, err := r.findExam(ctx)
	if err != nil {
		return Report{}, err
	}
	r.exam = exam

	n := cfg.Candidates
	if cfg.Mode == ModeSaturate {
		n = cfg.Workers
	}
	started := time.Now()
	stopProgress := r.progress(ctx, started)
	var savingFor time.Duration
	if cfg.Mode == ModeSaturate {
		savingFor = r.saturate(ctx, n)
	} else {
		r.paced(ctx, n)
		savingFor = time.Since(started)
	}
	stopProgress()
	ended := time.Now()
	elapsed := ended.Sub(started)

	rep := Report{Mode: cfg.Mode, URL: cfg.URL, Exam: exam.Title, ExamID: exam.ID, Candidates: n, Elapsed: elapsed.Seconds(),
		Endpoints: r.rec.stats(elapsed), StreamsOpened: r.streamsOpened.Load(), StreamsPeak: r.openStreams.peak.Load(), InExamPeak: r.inExam.peak.Load(),
		Disconnects: r.disconnects.Load(), Resumed: r.resumed.Load(),
		Completed: r.completed.Load(), SnapshotsOff: r.snapshotsOff.Load(), Steady: r.rec.steadyWindow(started, ended)}
	for _, e := range rep.Endpoints {
		rep.Requests += e.Count
		rep.Errors += e.ErrorSum
		rep.Unavailable += e.Unavailable
	}
	rep.PerSecond = float64(rep.Requests) / elapsed.Seconds()
	if savingFor > 0 {
		rep.SavesPerSecond = float64(r.saves.Load()) / savingFor.Seconds()
	}
	if ctx.Err() != nil {
		r.problem("the run was interrupted: %v", ctx.Err())
	}
	if cfg.DatabaseURL != "" {
		chk, err := checkAnswers(context.WithoutCancel(ctx), cfg.DatabaseURL, r.acks)
		if err != nil {
			r.problem("database check: %v", err)
		} else {
			rep.Check = &chk
		}
	}
	if cfg.Pgbench && ctx.Err() == nil {
		pb, err := RunPgbench(ctx, cfg.DatabaseURL, cfg.Workers, cfg.Duration)
		if err != nil {
			r.problem("pgbench: %v", err)
		} else {
			pb.Ratio = rep.SavesPerSecond / pb.PerSecond
			rep.Pgbench = &pb
		}
	}
	rep.Problems = r.problems
	rep.acks = r.acks
	return rep, nil
}

// progress prints a line every ProgressEvery until the returned function
// is called.
func (r *run) progress(ctx context.Context, started time.Time) func() {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(r.cfg.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var reqs, errs int64
			for _, e := range r.rec.stats(time.Since(started)) {
				reqs += e.Count
				errs += e.ErrorSum
			}
			fmt.Fprintf(r.cfg.Progress, "%4.0fs  requests %d  errors %d  saves %d (p99 %v)  in the exam %d  streams open %d  submitted %d\n",
				time.Since(started).Seconds(), reqs, errs, r.saves.Load(), r.rec.recentQuantile(EndpointSave, 0.99).Round(time.Millisecond),
				r.inExam.now.Load(), r.openStreams.now.Load(), r.completed.Load())
		}
	}()
	return func() { close(done); wg.Wait() }
}

// findExam signs in as the first load account and picks the exam.
func (r *run) findExam(ctx context.Context) (examInfo, error) {
	c := r.newClient(r.cfg.FirstAccount)
	if err := c.login(ctx, AccountEmail(r.cfg.FirstAccount), r.cfg.Password); err != nil {
		var ce *callError
		if errors.As(err, &ce) && ce.Status == http.StatusUnauthorized {
			return examInfo{}, fmt.Errorf("sign in as %s: %v: create the load accounts first (touchstone loadtest setup)", AccountEmail(r.cfg.FirstAccount), err)
		}
		return examInfo{}, fmt.Errorf("sign in as %s at %s: %w", AccountEmail(r.cfg.FirstAccount), r.cfg.URL, err)
	}
	var exams []struct {
		ID        string `json:"id"`
		Title     string `json:"title"`
		Mode      string `json:"mode"`
		ItemCount int    `json:"item_count"`
		Standard  *struct {
			ID string `json:"id"`
		} `json:"standard"`
		Policy struct {
			Prerequisites []string `json:"prerequisites"`
		} `json:"policy"`
	}
	if err := c.callJSON(ctx, "exams", http.MethodGet, "/api/v1/exams", nil, http.StatusOK, &exams); err != nil {
		return examInfo{}, fmt.Errorf("list exams: %w", err)
	}
	var all []examInfo
	for _, e := range exams {
		all = append(all, examInfo{ID: e.ID, Title: e.Title, Mode: e.Mode, Items: e.ItemCount, HasStandard: e.Standard != nil,
			Prerequisites: len(e.Policy.Prerequisites)})
	}
	return pickExam(all, r.cfg.Exam)
}

// pickExam finds the exam named (by title or id), or the simplest open
// one when name is empty.
func pickExam(all []examInfo, name string) (examInfo, error) {
	if name != "" {
		var titles []string
		for _, e := range all {
			if e.ID == name || strings.EqualFold(e.Title, name) {
				return e, nil
			}
			titles = append(titles, e.Title)
		}
		return examInfo{}, fmt.Errorf("exam: no exam titled or with id %q (exams: %s)", name, strings.Join(titles, "; "))
	}
	var fit []examInfo
	for _, e := range all {
		if e.Mode == "fixed" && e.HasStandard && e.Prerequisites == 0 && e.Items > 0 {
			fit = append(fit, e)
		}
	}
	if len(fit) == 0 {
		return examInfo{}, errors.New("exam: no fixed-form exam with a standard and no prerequisite: name one with --exam")
	}
	sort.SliceStable(fit, func(i, j int) bool {
		if fit[i].Items != fit[j].Items {
			return fit[i].Items < fit[j].Items
		}
		return fit[i].Title < fit[j].Title
	})
	return fit[0], nil
}

// newClient is account n's browser.
func (r *run) newClient(n int) *client {
	c := &client{bases: r.bases, turn: &r.turn, http: r.http, timeout: r.cfg.Timeout, streams: r.streams, rec: r.rec}
	if r.cfg.ForwardedFor {
		c.addr = fmt.Sprintf("10.%d.%d.%d", (n>>16)&255, (n>>8)&255, n&255)
	}
	return c
}

// jitter returns d within ±10 %.
func jitter(rng *rand.Rand, d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rng.Float64()))
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
