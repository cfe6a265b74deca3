// Package webtest builds a real Touchstone web server for tests: every
// domain service on a real test database (internal/dbtest), seeded with a
// small program — one user per role, an exam of six items in two domains
// with an approved modified-Angoff standard, and the badge a pass earns.
//
// It imports package web, so use it from external test packages
// (package web_test, or any other package's tests), not from package web's
// own internal tests.
package webtest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"github.com/touchstone-assess/touchstone/internal/award"
	"github.com/touchstone-assess/touchstone/internal/blob"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// BaseURL is the public URL of the test deployment.
const BaseURL = "http://example.test"

// Start is the fixture clock's initial time.
var Start = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// User is a fixture account with the password it signs in with.
type User struct {
	auth.User
	Password string
}

// Users are the fixture's accounts: one per role, and a second candidate.
// Proctor is assigned to the exam as its proctor and reviewer.
type Users struct {
	Admin, Manager, Psychometrician, Proctor, Author, Candidate, Candidate2 User
}

// All lists every fixture account.
func (u Users) All() []User {
	return []User{u.Admin, u.Manager, u.Psychometrician, u.Proctor, u.Author, u.Candidate, u.Candidate2}
}

// Fixture is a seeded server and the services behind it.
type Fixture struct {
	Server *web.Server
	DB     *gorm.DB
	KV     *kv.Memory // the shared state: login rate-limit counters
	Clock  *Clock     // the clock of every service and of KV

	Auth        *auth.Service
	Bank        *items.Store
	Assess      *assess.Service
	Proctoring  *proctor.Log
	Snapshots   *proctor.Snapshots
	Blobs       *blob.Local
	Credentials *credential.Service
	Audit       *audit.Reader
	// Metrics are the server's measurements, shared by every Instance;
	// Metrics.Handler serves them as Prometheus scrapes them.
	Metrics *web.Metrics

	// ReadyErr is what the server's readiness check returns (nil: ready).
	ReadyErr error

	Users         Users
	IssuerID      string
	AchievementID string
	Program       assess.Program
	Exam          assess.Exam
	Items         []items.Item      // the exam's items, in delivery order
	Keys          map[string]string // item id → id of the correct option
	Wrong         map[string]string // item id → id of a wrong option
	Study         assess.Study
	Standard      assess.Standard // approved, version 1: cut 3 of 6

	mu       sync.Mutex
	sessions map[string]auth.Session
	logins   int
}

// Password is the password of every fixture account.
const Password = "correct horse battery staple"

// signingSeed fixes the issuer's Ed25519 key.
var signingSeed = bytes.Repeat([]byte{0x5e}, ed25519.SeedSize)

// New builds the services on db, seeds the program and returns the fixture
// with its server. Setup errors fail tb at once.
func New(tb testing.TB, db *gorm.DB) *Fixture {
	tb.Helper()
	ctx := context.Background()
	clk := &Clock{t: Start}
	f := &Fixture{DB: db, Clock: clk, Keys: map[string]string{}, Wrong: map[string]string{}, sessions: map[string]auth.Session{}}

	f.KV = kv.NewMemory(clk.Now)
	tb.Cleanup(func() { _ = f.KV.Close() })
	f.Auth = auth.NewService(db, f.KV, clk.Now, auth.Limits{})
	f.Auth.Cost = bcrypt.MinCost
	// Sessions are cached as in production while invalidations arrive.
	watch, stopWatching := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); f.Auth.WatchSessions(watch) }()
	tb.Cleanup(func() { stopWatching(); <-watched })
	f.Bank = items.NewStore(db, clk.Now)
	f.Assess = assess.NewService(db, f.Bank, clk.Now)
	f.Proctoring = proctor.NewLog(db, clk.Now)
	blobs, err := blob.NewLocal(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	f.Blobs = blobs
	f.Snapshots = proctor.NewSnapshots(f.Proctoring, blobs)
	f.Metrics = web.NewMetrics()
	f.Credentials = credential.NewService(db, clk.Now, BaseURL, ed25519.NewKeyFromSeed(signingSeed), credential.WithIssued(f.Metrics.CredentialIssued))
	f.Audit = audit.NewReader(db)
	f.Assess.OnPass = award.OnPass(f.Credentials, f.Auth)
	f.Assess.OnRescore = award.OnRescore(f.Credentials)
	f.Assess.OnReview = award.OnReview(f.Credentials)
	f.Assess.Risk = f.Proctoring.Risk

	must := func(what string, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("webtest: %s: %v", what, err)
		}
	}
	f.IssuerID, err = f.Credentials.EnsureIssuer(ctx, credential.IssuerInput{Name: "Touchstone Test Issuer", URL: BaseURL})
	must("issuer", err)
	f.AchievementID, err = f.Credentials.CreateAchievement(ctx, f.IssuerID, credential.AchievementInput{
		Slug: "data-fundamentals", Name: "Data Fundamentals", AchievementType: "Badge",
		Description: "Passed the Data Fundamentals exam.", Criteria: "Meet the approved standard of the Data Fundamentals exam.",
	})
	must("achievement", err)

	for _, u := range []struct {
		dst         *User
		email, name string
		roles       []auth.Role
	}{
		{&f.Users.Admin, "admin@example.test", "Ada Admin", []auth.Role{auth.Admin}},
		{&f.Users.Manager, "manager@example.test", "Mo Manager", []auth.Role{auth.ProgramManager}},
		{&f.Users.Psychometrician, "psychometrician@example.test", "Pat Psychometrician", []auth.Role{auth.Psychometrician}},
		{&f.Users.Proctor, "proctor@example.test", "Priya Proctor", []auth.Role{auth.Proctor}},
		{&f.Users.Author, "author@example.test", "Aoife Author", []auth.Role{auth.Author}},
		{&f.Users.Candidate, "candidate@example.test", "Cal Candidate", []auth.Role{auth.Candidate}},
		{&f.Users.Candidate2, "candidate2@example.test", "Cleo Candidate", []auth.Role{auth.Candidate}},
	} {
		*u.dst = f.NewUser(tb, u.email, u.name, u.roles...)
	}

	f.Program, err = f.Assess.CreateProgram(ctx, assess.Program{Slug: "data", Name: "Data Literacy"})
	must("program", err)
	author := f.Users.Author.ID
	var ids []string
	for i := range 6 {
		domain := "D1"
		if i >= 3 {
			domain = "D2"
		}
		// Four options with opaque ids; the key sits at a different
		// position from item to item.
		opts := make([]items.Option, 4)
		for j := range opts {
			opts[j] = items.Option{ID: fmt.Sprintf("opt-%x", 0xa17+97*i+13*j), Text: fmt.Sprintf("Choice %d of question %d", j+1, i+1)}
		}
		keyAt := (i*3 + 1) % 4
		it, err := f.Bank.Create(ctx, author, f.Program.ID, items.Content{
			Domain: domain, Stem: fmt.Sprintf("Question %d: which choice is right?", i+1), Options: opts, Key: opts[keyAt].ID,
			Rationale: fmt.Sprintf("Rationale %d: choice %d is right because of the zebra-%d rule.", i+1, keyAt+1, i+1),
		})
		must("item", err)
		f.Items = append(f.Items, it)
		ids = append(ids, it.ID)
		f.Keys[it.ID], f.Wrong[it.ID] = it.Key, opts[(keyAt+1)%4].ID
	}
	f.Exam, err = f.Assess.CreateExam(ctx, assess.Exam{
		ProgramID: f.Program.ID, Slug: "data-fundamentals", Title: "Data Fundamentals", Description: "Six questions on data.",
		Duration: 30 * time.Minute, AchievementID: f.AchievementID,
		Domains: []assess.Domain{
			{Code: "D1", Name: "Collecting data", Skill: "Collects data soundly."},
			{Code: "D2", Name: "Reading data", Skill: "Reads data correctly."},
		},
		ItemIDs: ids,
	})
	must("exam", err)
	// The proctor is the exam's proctor and reviewer: proctoring data is
	// seen only by those assigned to its exam.
	for _, role := range []string{assess.StaffProctor, assess.StaffReviewer} {
		must("staff", f.Assess.AssignStaff(ctx, f.Users.Admin.ID, f.Exam.ID, f.Users.Proctor.ID, role))
	}

	f.Study, err = f.Assess.CreateStudy(ctx, f.Users.Psychometrician.ID, assess.Study{ExamID: f.Exam.ID, Title: "Initial standard",
		Panelists: []assess.Panelist{{Name: "Panelist A"}, {Name: "Panelist B"}, {Name: "Panelist C"}}})
	must("study", err)
	f.RateItems(tb, 1, 0.5)
	proposed, err := f.Assess.ProposeStandard(ctx, f.Users.Psychometrician.ID, f.Study.ID)
	must("propose standard", err)
	f.Standard, err = f.Assess.ApproveStandard(ctx, f.Users.Manager.ID, proposed.ID)
	must("approve standard", err)

	f.Server = f.Instance(tb, f.KV)
	return f
}

// Instance returns a server over the fixture's services and database —
// another instance of the same deployment — whose live updates go
// through live, with options applied to its configuration.
func (f *Fixture) Instance(tb testing.TB, live kv.Store, options ...func(*web.Config)) *web.Server {
	tb.Helper()
	cfg := web.Config{
		Auth: f.Auth, Items: f.Bank, Assess: f.Assess, Proctor: f.Proctoring, Snapshots: f.Snapshots, Blobs: f.Blobs,
		Credentials: f.Credentials, Audit: f.Audit, IssuerID: f.IssuerID, BaseURL: BaseURL, Now: f.Clock.Now, Live: live,
		Ready:   func(context.Context) error { return f.ReadyErr },
		Metrics: f.Metrics,
		Logger:  slog.New(slog.NewTextHandler(logWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, o := range options {
		o(&cfg)
	}
	srv, err := web.New(cfg)
	if err != nil {
		tb.Fatalf("webtest: server: %v", err)
	}
	return srv
}

// RateItems records a rating of value by every panelist of the study for
// every item in round, so that a new standard can be proposed (value 0.5
// gives a cut of 3 of 6).
func (f *Fixture) RateItems(tb testing.TB, round int, value float64) {
	tb.Helper()
	var ratings []assess.Rating
	for _, p := range f.Study.Panelists {
		for _, it := range f.Items {
			ratings = append(ratings, assess.Rating{PanelistID: p.ID, ItemID: it.ID, Round: round, Value: value})
		}
	}
	if err := f.Assess.RecordRatings(context.Background(), f.Study.ID, ratings); err != nil {
		tb.Fatalf("webtest: ratings: %v", err)
	}
}

// NewUser creates an account that signs in with Password. An empty email
// makes a unique one.
func (f *Fixture) NewUser(tb testing.TB, email, name string, roles ...auth.Role) User {
	tb.Helper()
	if email == "" {
		email = "user-" + uuid.NewString()[:8] + "@example.test"
	}
	if name == "" {
		name = "Test User"
	}
	u, err := f.Auth.CreateUser(context.Background(), auth.NewUser{Email: email, Name: name, Password: Password, Roles: roles})
	if err != nil {
		tb.Fatalf("webtest: create user %s: %v", email, err)
	}
	return User{User: u, Password: Password}
}

// Session returns a session of u, signing in through the auth service the
// first time (not through HTTP, and from a client address of its own, so
// that it spends none of the HTTP client's rate limit). Tests that end the
// session should use NewSession.
func (f *Fixture) Session(tb testing.TB, u User) auth.Session {
	tb.Helper()
	f.mu.Lock()
	sess, ok := f.sessions[u.ID]
	f.mu.Unlock()
	if ok {
		return sess
	}
	sess = f.NewSession(tb, u)
	f.mu.Lock()
	f.sessions[u.ID] = sess
	f.mu.Unlock()
	return sess
}

// NewSession signs u in again and returns the new session.
func (f *Fixture) NewSession(tb testing.TB, u User) auth.Session {
	tb.Helper()
	f.mu.Lock()
	f.logins++
	addr := fmt.Sprintf("webtest-%d", f.logins)
	f.mu.Unlock()
	sess, err := f.Auth.Login(context.Background(), u.Email, u.Password, addr)
	if err != nil {
		tb.Fatalf("webtest: sign in %s: %v", u.Email, err)
	}
	return sess
}

// Token returns u's bearer token.
func (f *Fixture) Token(tb testing.TB, u User) string {
	tb.Helper()
	return f.Session(tb, u).Token
}

// Response is an answer of the server with its body read.
type Response struct {
	*http.Response
	Body []byte
}

// JSON decodes the body into dst, failing tb when it is not JSON.
func (r *Response) JSON(tb testing.TB, dst any) {
	tb.Helper()
	if err := json.Unmarshal(r.Body, dst); err != nil {
		tb.Fatalf("response %d is not JSON (%v): %s", r.StatusCode, err, r.Body)
	}
}

// Do sends req to the server and reads the answer.
func (f *Fixture) Do(tb testing.TB, req *http.Request) *Response {
	tb.Helper()
	resp, err := f.Server.App().Test(req, -1)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return &Response{Response: resp, Body: body}
}

// NewRequest returns a request for the server. A string or []byte body is
// sent as it is, anything else non-nil as JSON; a non-nil body is labelled
// application/json.
func NewRequest(method, target string, body any) *http.Request {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			panic(fmt.Sprintf("webtest: encode request body: %v", err))
		}
		r = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, target, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// WithBearer sets req's bearer token and returns req.
func WithBearer(req *http.Request, token string) *http.Request {
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// WithCookie sends sess as the session cookie, with its CSRF token in the
// X-CSRF-Token header when csrf is true, and returns req.
func WithCookie(req *http.Request, sess auth.Session, csrf bool) *http.Request {
	req.AddCookie(&http.Cookie{Name: "ts_session", Value: sess.Token})
	if csrf {
		req.Header.Set("X-CSRF-Token", sess.CSRFToken)
	}
	return req
}

// logWriter sends the server's log to the test log.
type logWriter struct{ tb testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
