package web_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"github.com/touchstone-assess/touchstone/internal/award"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web"
	"github.com/touchstone-assess/touchstone/web/auth"
)

const password = "correct horse battery staple"

// The seeded accounts, by the name the tests use.
var accounts = []struct {
	name, email, full string
	roles             []auth.Role
}{
	{"admin", "admin@example.com", "Samira Haddad", []auth.Role{auth.Admin}},
	{"manager", "manager@example.com", "Daniel Okoro", []auth.Role{auth.ProgramManager}},
	{"psychometrician", "psych@example.com", "Helena Lindqvist", []auth.Role{auth.Psychometrician}},
	{"proctor", "proctor@example.com", "Luis Ortega", []auth.Role{auth.Proctor}},
	{"author", "author@example.com", "Claire Dubois", []auth.Role{auth.Author}},
	{"candidate", "candidate@example.com", "Jordan Lee", []auth.Role{auth.Candidate}},
	{"candidate2", "riley@example.com", "Riley Chen", []auth.Role{auth.Candidate}},
	{"candidate3", "sam@example.com", "Sam Patel", []auth.Role{auth.Candidate}},
}

// bank is the item content of the seeded exam: alternating between its
// two domains, so that any even prefix covers both. Key is an index into
// Options; a and b are the 2PL parameters of the simulated pilot.
var bank = []struct {
	domain, stem, exhibit string
	options               []string
	key                   int
	rationale             string
	a, b                  float64
}{
	{"F-REF", "Cell B2 contains the formula =A2*C1. The cell is copied and pasted into cell D5. Which formula does D5 contain?", "",
		[]string{"=A5*C4", "=C2*E1", "=C5*E4", "=A2*C1"}, 2,
		"Relative references shift by the same offset as the copy, so A2 becomes C5 and C1 becomes E4.", 1.2, -0.4},
	{"F-LOG", "Which formula counts the orders in column B that are over 500 and were placed in the North region (column C)?", "",
		[]string{`=COUNTIF(B:B,">500")`, `=COUNTIFS(B:B,">500",C:C,"North")`, `=SUMIFS(B:B,C:C,"North")`, `=IF(B:B>500,C:C="North")`}, 1,
		"COUNTIFS applies every criterion pair at once; COUNTIF takes a single criterion.", 1.0, 0.1},
	{"F-REF", "Cell B2 contains =$A2*B$1 and is filled across and down to D4. What value does D4 display?",
		"     A     B     C     D\n1          1     2     3\n2   10\n3   20\n4   30",
		[]string{"10", "30", "60", "90"}, 3,
		"In D4 the formula becomes =$A4*D$1, giving 30*3 = 90.", 1.4, 0.7},
	{"F-LOG", `A2 holds 72 and B2 holds "No". What does =IF(AND(A2>=50,B2="Yes"),"Pass","Review") display?`, "",
		[]string{"Pass", "Review", "FALSE", "#VALUE!"}, 1,
		"AND needs both conditions; B2 is not Yes, so IF returns its third argument.", 0.9, -1.1},
	{"F-REF", "A tax rate is stored in F1. The formula in C2 multiplies the price in B2 by the rate and will be filled down to C50. Which formula belongs in C2?", "",
		[]string{"=B2*$F$1", "=$B$2*F1", "=$B2*F1", "=B$2*$F1"}, 0,
		"The price reference must move with each row while the rate stays fixed.", 1.1, -0.2},
	{"F-LOG", `What does =SUMIF(A2:A6,"Tea",B2:B6) return for the data shown?`,
		"     A        B\n2   Tea      4\n3   Coffee   7\n4   Tea      5\n5   Juice    2\n6   Tea      1",
		[]string{"3", "10", "19", "#N/A"}, 1,
		"SUMIF adds B where A equals Tea: 4 + 5 + 1 = 10.", 0.05, 0},
	{"F-REF", "Cell D2 contains =B2+C2. A user deletes column C entirely. What does the formula, now in C2, display?", "",
		[]string{"The value of B2", "#VALUE!", "#NAME?", "#REF!"}, 3,
		"Deleting a referenced cell leaves an invalid reference, so the formula returns #REF!.", 1.3, 2.6},
	{"F-LOG", "Which function returns the position of a value in a sorted list of scores, largest first?", "",
		[]string{"RANK.EQ", "MATCH", "LARGE", "COUNTIF"}, 0,
		"RANK.EQ returns the rank of a number within a list; LARGE returns the k-th largest value instead.", 1.0, -4.5},
}

type fixtureOptions struct {
	BaseURL string
	Now     func() time.Time // nil: a settable test clock
	Items   int              // items of the main exam, from bank; 0 means 4
	Pilots  int              // simulated pilot attempts; 0 means 40
}

// fixture is a real server on a real SQLite database, seeded with one
// program: an exam with an approved standard and a badge, and a second
// exam that has no standard yet.
type fixture struct {
	tb      testing.TB
	srv     *web.Server
	clock   *testClock
	auth    *auth.Service
	assess  *assess.Service
	proctor *proctor.Log
	creds   *credential.Service
	users   map[string]auth.User
	exam    assess.Exam
	draft   assess.Exam // no standard
	items   []items.Item
	slug    string // the badge's achievement
	std     assess.Standard
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newFixture(tb testing.TB, o fixtureOptions) *fixture {
	tb.Helper()
	if o.BaseURL == "" {
		o.BaseURL = "https://touchstone.example"
	}
	if o.Items == 0 {
		o.Items = 4
	}
	if o.Pilots == 0 {
		o.Pilots = 40
	}
	f := &fixture{tb: tb, users: map[string]auth.User{}, slug: "spreadsheet-formulas"}
	now := o.Now
	if now == nil {
		f.clock = &testClock{t: time.Date(2026, time.March, 12, 9, 30, 0, 0, time.UTC)}
		now = f.clock.Now
	}
	ctx := context.Background()
	db := dbtest.SQLite(tb)
	itemStore := items.NewStore(db, now)
	f.assess = assess.NewService(db, itemStore, now)
	f.proctor = proctor.NewLog(db, now)
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 7)
	}
	f.creds = credential.NewService(db, now, o.BaseURL, ed25519.NewKeyFromSeed(seed))
	f.auth = auth.NewService(db, kv.NewMemory(now), now, auth.Limits{})
	f.auth.Cost = bcrypt.MinCost

	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, a := range accounts {
		u, err := f.auth.CreateUser(ctx, auth.NewUser{Email: a.email, Name: a.full, Password: password, Roles: a.roles})
		must(err)
		f.users[a.name] = u
	}

	issuer, err := f.creds.EnsureIssuer(ctx, credential.IssuerInput{Name: "Touchstone Test Academy", URL: "https://academy.example",
		Description: "A sample credentialing body that awards verifiable badges for spreadsheet skills."})
	must(err)
	program, err := f.assess.CreateProgram(ctx, assess.Program{Slug: "spreadsheets", Name: "Spreadsheet Skills"})
	must(err)
	domains := []assess.Domain{
		{Code: "F-REF", Name: "References, ranges and errors", Description: "Relative, absolute and mixed references; error values such as #REF! and #DIV/0!.",
			Skill: "Write formulas whose references behave correctly when copied."},
		{Code: "F-LOG", Name: "Logic and conditional aggregation", Description: "IF, AND and OR; SUMIFS, COUNTIFS and ranking functions.",
			Skill: "Summarise and classify data with logical and conditional functions."},
	}
	alignments := make([]credential.Alignment, len(domains))
	for i, d := range domains {
		alignments[i] = credential.Alignment{TargetName: d.Skill, TargetURL: f.creds.AchievementURL(f.slug) + "#skill-" + d.Code,
			TargetDescription: d.Description, TargetFramework: program.Name, TargetCode: d.Code}
	}
	badge, err := f.creds.CreateAchievement(ctx, issuer, credential.AchievementInput{Slug: f.slug, Name: "Spreadsheet Formulas",
		Description:     "The holder builds correct, copy-safe spreadsheet formulas and summarises data with conditional functions.",
		Criteria:        "To earn this badge, a candidate must:\n\n1. Sit the **Spreadsheet Formulas** exam under proctored conditions.\n2. Score at or above the approved passing standard.",
		AchievementType: "Badge", Alignments: alignments})
	must(err)

	var ids []string
	for i, b := range bank[:o.Items] {
		opts := make([]items.Option, len(b.options))
		for j, text := range b.options {
			opts[j] = items.Option{ID: fmt.Sprintf("o%d%c%04x", i+1, 'k'+j, (i+1)*7919%65536), Text: text}
		}
		it, err := itemStore.Create(ctx, f.users["author"].ID, program.ID, items.Content{Domain: b.domain, Stem: b.stem, Exhibit: b.exhibit,
			Options: opts, Key: opts[b.key].ID, Rationale: b.rationale})
		must(err)
		f.items = append(f.items, it)
		ids = append(ids, it.ID)
	}
	f.exam, err = f.assess.CreateExam(ctx, assess.Exam{ProgramID: program.ID, Slug: "formulas", Title: "Spreadsheet Formulas",
		Description: "Write and interpret the formulas everyday spreadsheet analysis depends on: references, conditional logic and aggregation.",
		Duration:    30 * time.Minute, AchievementID: badge, Domains: domains, ItemIDs: ids})
	must(err)
	f.draft, err = f.assess.CreateExam(ctx, assess.Exam{ProgramID: program.ID, Slug: "pivot-tables", Title: "Pivot Tables",
		Description: "Summarise data with pivot tables: grouping, filtering and calculated fields.", Duration: 25 * time.Minute,
		Domains: domains[:1], ItemIDs: ids[:1]})
	must(err)
	for _, e := range []string{f.exam.ID, f.draft.ID} {
		for _, role := range []string{assess.StaffProctor, assess.StaffReviewer} {
			must(f.assess.AssignStaff(ctx, f.users["admin"].ID, e, f.users["proctor"].ID, role))
		}
	}

	f.recordPilot(ctx, o.Pilots, now())
	f.std = f.setStandard(ctx, 0.65)
	f.std, err = f.assess.ApproveStandard(ctx, f.users["manager"].ID, f.std.ID)
	must(err)

	f.assess.OnPass = award.OnPass(f.creds, f.auth)
	f.srv, err = web.New(web.Config{Auth: f.auth, Items: itemStore, Assess: f.assess, Proctor: f.proctor, Credentials: f.creds,
		Audit: audit.NewReader(db), IssuerID: issuer, BaseURL: o.BaseURL, Ready: func(context.Context) error { return nil }, Now: now,
		Live: kv.NewMemory(now)})
	must(err)
	return f
}

// recordPilot stores n simulated pilot attempts, answered under a 2PL
// model with a fixed seed, so that the statistics have data.
func (f *fixture) recordPilot(ctx context.Context, n int, now time.Time) {
	f.tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	pilots := make([]auth.NewUser, n)
	for i := range pilots {
		pilots[i] = auth.NewUser{Email: fmt.Sprintf("pilot-%03d@example.invalid", i+1), Name: fmt.Sprintf("Pilot %03d", i+1),
			Roles: []auth.Role{auth.Candidate}, Simulated: true}
	}
	users, err := f.auth.CreateUsers(ctx, pilots)
	if err != nil {
		f.tb.Fatal(err)
	}
	past := make([]assess.PastAttempt, n)
	for i, u := range users {
		theta := rng.NormFloat64()
		answers := map[string]string{}
		for j, it := range f.items {
			p := 0.2 + 0.8/(1+math.Exp(-bank[j].a*(theta-bank[j].b)))
			if rng.Float64() < p {
				answers[it.ID] = it.Key
			} else {
				answers[it.ID] = wrong(it)
			}
		}
		start := now.Add(-time.Duration(30+i) * time.Hour)
		past[i] = assess.PastAttempt{CandidateID: u.ID, StartedAt: start, SubmittedAt: start.Add(20 * time.Minute), Answers: answers}
	}
	if err := f.assess.RecordHistory(ctx, f.exam.ID, past, true); err != nil {
		f.tb.Fatal(err)
	}
}

// setStandard runs a modified-Angoff study of the main exam whose panel
// rates every item about rating, and proposes its standard.
func (f *fixture) setStandard(ctx context.Context, rating float64) assess.Standard {
	f.tb.Helper()
	return f.setStandardOf(ctx, f.exam, rating)
}

func (f *fixture) setStandardOf(ctx context.Context, exam assess.Exam, rating float64) assess.Standard {
	f.tb.Helper()
	st, err := f.assess.CreateStudy(ctx, f.users["psychometrician"].ID, assess.Study{ExamID: exam.ID, Title: "Angoff study",
		Panelists: []assess.Panelist{{Name: "Ana"}, {Name: "Ben"}, {Name: "Chloé"}}})
	if err != nil {
		f.tb.Fatal(err)
	}
	var ratings []assess.Rating
	for i, p := range st.Panelists {
		for _, it := range exam.ItemIDs {
			ratings = append(ratings, assess.Rating{PanelistID: p.ID, ItemID: it, Round: 1, Value: rating + 0.05*float64(i-1)})
		}
	}
	if err := f.assess.RecordRatings(ctx, st.ID, ratings); err != nil {
		f.tb.Fatal(err)
	}
	std, err := f.assess.ProposeStandard(ctx, f.users["psychometrician"].ID, st.ID)
	if err != nil {
		f.tb.Fatal(err)
	}
	return std
}

func wrong(it items.Item) string {
	for _, o := range it.Options {
		if o.ID != it.Key {
			return o.ID
		}
	}
	panic("item without a distractor")
}

// take starts an attempt of the main exam for a user and answers it:
// correct answers for the first `correct` items, wrong ones after.
func (f *fixture) take(user string, correct int, submit bool) assess.Attempt {
	f.tb.Helper()
	ctx := context.Background()
	a, err := f.assess.Start(ctx, f.exam.ID, f.users[user].ID)
	if err != nil {
		f.tb.Fatal(err)
	}
	for i, it := range f.items {
		ans := it.Key
		if i >= correct {
			ans = wrong(it)
		}
		if _, err := f.assess.SaveResponse(ctx, a.ID, it.ID, assess.ResponseUpdate{Answer: &items.Answer{Choice: ans}}); err != nil {
			f.tb.Fatal(err)
		}
	}
	if submit {
		if _, err := f.assess.Submit(ctx, a.ID, "candidate"); err != nil {
			f.tb.Fatal(err)
		}
	}
	if a, err = f.assess.Attempt(ctx, a.ID); err != nil {
		f.tb.Fatal(err)
	}
	return a
}

// client is a browser-like caller: a session cookie and its CSRF token.
type client struct {
	f       *fixture
	session string
	csrf    string
}

// as signs a user in through the auth service.
func (f *fixture) as(user string) *client {
	f.tb.Helper()
	if user == "" {
		return &client{f: f}
	}
	sess, err := f.auth.Login(context.Background(), f.users[user].Email, password, "192.0.2."+fmt.Sprint(len(user)))
	if err != nil {
		f.tb.Fatalf("login %s: %v", user, err)
	}
	return &client{f: f, session: sess.Token, csrf: sess.CSRFToken}
}

type response struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

func (c *client) do(method, path string, body io.Reader, header map[string]string) response {
	c.f.tb.Helper()
	req := httptest.NewRequest(method, path, body)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if c.session != "" {
		req.AddCookie(&http.Cookie{Name: "ts_session", Value: c.session})
	}
	res, err := c.f.srv.App().Test(req, -1)
	if err != nil {
		c.f.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.f.tb.Fatal(err)
	}
	return response{Status: res.StatusCode, Body: string(b), Header: res.Header, Location: res.Header.Get("Location")}
}

func (c *client) get(path string) response { return c.do(http.MethodGet, path, nil, nil) }

func (c *client) getJSON(path string) response {
	return c.do(http.MethodGet, path, nil, map[string]string{"Accept": "application/json"})
}

// post sends a form as the page would, with the CSRF field.
func (c *client) post(path string, form url.Values) response {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.csrf)
	}
	return c.do(http.MethodPost, path, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

// api sends JSON as the player script does, with the CSRF header.
func (c *client) api(method, path string, body any) response {
	c.f.tb.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.f.tb.Fatal(err)
		}
		r = strings.NewReader(string(b))
	}
	return c.do(method, path, r, map[string]string{"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": c.csrf})
}

func wantCode(tb testing.TB, what string, r response, want int) {
	tb.Helper()
	if r.Status != want {
		tb.Fatalf("%s: status %d, want %d; body: %.400s", what, r.Status, want, r.Body)
	}
}

func wantContains(tb testing.TB, what string, r response, subs ...string) {
	tb.Helper()
	for _, s := range subs {
		if !strings.Contains(r.Body, s) {
			tb.Errorf("%s: body does not contain %q", what, s)
		}
	}
}

func TestLoginForm(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	anon := f.as("")

	page := anon.get("/login?next=/badges")
	wantCode(t, "GET /login", page, http.StatusOK)
	var csrfCookie string
	for _, c := range (&http.Response{Header: page.Header}).Cookies() {
		if c.Name == "ts_csrf" {
			csrfCookie = c.Value
		}
	}
	if csrfCookie == "" {
		t.Fatal("GET /login set no ts_csrf cookie")
	}
	wantContains(t, "GET /login", page, `name="_csrf" value="`+csrfCookie+`"`, `name="next" value="/badges"`, `<meta name="csrf-token" content="`+csrfCookie+`">`)

	post := func(email, pw, next, token string) response {
		form := url.Values{"email": {email}, "password": {pw}, "next": {next}, "_csrf": {token}}
		return anon.do(http.MethodPost, "/login", strings.NewReader(form.Encode()), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "Cookie": "ts_csrf=" + csrfCookie})
	}
	tests := []struct {
		name, email, pw, next, token string
		status                       int
		location, body               string
	}{
		{"wrong password", "candidate@example.com", "not the password", "/badges", csrfCookie, http.StatusUnauthorized, "", "don’t match an account"},
		{"missing password", "candidate@example.com", "", "/", csrfCookie, http.StatusUnprocessableEntity, "", "Enter your email address and your password"},
		{"no CSRF token", "candidate@example.com", password, "/", "", http.StatusForbidden, "", ""},
		{"success", "Candidate@Example.com", password, "/badges", csrfCookie, http.StatusSeeOther, "/badges", ""},
		{"off-site next", "candidate@example.com", password, "//evil.example/x", csrfCookie, http.StatusSeeOther, "/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(tt.email, tt.pw, tt.next, tt.token)
			wantCode(t, tt.name, r, tt.status)
			if r.Location != tt.location {
				t.Errorf("Location = %q, want %q", r.Location, tt.location)
			}
			if tt.body != "" {
				wantContains(t, tt.name, r, tt.body)
			}
			if tt.status == http.StatusSeeOther && !strings.Contains(r.Header.Get("Set-Cookie"), "ts_session=") {
				t.Errorf("no session cookie set: %q", r.Header.Values("Set-Cookie"))
			}
		})
	}
}

// TestLoginNeverPromotesAPresentedSession: a session cookie planted before
// sign-in is never the one signed in (session fixation), and signing in
// over a live session ends it.
func TestLoginNeverPromotesAPresentedSession(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	login := func(c *client, email, csrf string) string {
		t.Helper()
		form := url.Values{"email": {email}, "password": {password}, "_csrf": {csrf}}
		r := c.do(http.MethodPost, "/login", strings.NewReader(form.Encode()), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "Cookie": "ts_csrf=" + csrf})
		wantCode(t, "POST /login", r, http.StatusSeeOther)
		for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
			if ck.Name == "ts_session" {
				return ck.Value
			}
		}
		t.Fatalf("POST /login set no ts_session cookie: %q", r.Header.Values("Set-Cookie"))
		return ""
	}
	signedIn := func(token string) bool {
		t.Helper()
		r := (&client{f: f, session: token}).get("/badges")
		return r.Status == http.StatusOK
	}

	const planted = "planted-by-someone-else"
	token := login(&client{f: f, session: planted}, f.users["candidate"].Email, "pre-login-token")
	if token == planted {
		t.Fatal("the planted session token was promoted")
	}
	if signedIn(planted) || !signedIn(token) {
		t.Errorf("after sign-in: planted token signed in %v, issued token %v; want false, true", signedIn(planted), signedIn(token))
	}

	old := f.as("candidate")
	replaced := login(old, f.users["candidate2"].Email, old.csrf)
	if replaced == old.session {
		t.Fatal("signing in again kept the old session token")
	}
	if signedIn(old.session) || !signedIn(replaced) {
		t.Errorf("after signing in again: old token signed in %v, new token %v; want false, true", signedIn(old.session), signedIn(replaced))
	}
}

func TestLoginRateLimited(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	anon := f.as("")
	var r response
	for range 12 {
		form := url.Values{"email": {"candidate@example.com"}, "password": {"wrong"}, "_csrf": {"t"}}
		r = anon.do(http.MethodPost, "/login", strings.NewReader(form.Encode()), map[string]string{
			"Content-Type": "application/x-www-form-urlencoded", "Cookie": "ts_csrf=t"})
	}
	wantCode(t, "12th login", r, http.StatusTooManyRequests)
	wantContains(t, "12th login", r, "Too many sign-in attempts")
}

func TestLogout(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.as("candidate")
	wantCode(t, "logout without CSRF", c.post("/logout", url.Values{"_csrf": {"nope"}}), http.StatusForbidden)
	r := c.post("/logout", nil)
	wantCode(t, "logout", r, http.StatusSeeOther)
	if r.Location != "/" {
		t.Errorf("Location = %q, want /", r.Location)
	}
	if got := c.get("/badges"); got.Status != http.StatusFound || !strings.HasPrefix(got.Location, "/login") {
		t.Errorf("after logout GET /badges: %d %q, want a redirect to /login", got.Status, got.Location)
	}
}

func TestPageAccess(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	live := f.take("candidate", 2, false)
	passed := f.take("candidate2", len(f.items), true)
	res, err := f.assess.Result(context.Background(), passed.ID)
	if err != nil || res.CredentialID == "" {
		t.Fatalf("passing attempt: credential %q, err %v", res.CredentialID, err)
	}

	all := []string{"", "admin", "manager", "psychometrician", "proctor", "author", "candidate", "candidate2"}
	signedIn := all[1:]
	only := func(users ...string) []string { return users }
	tests := []struct {
		path    string
		allowed []string // others get 403, or a redirect to /login when signed out
		missing []string // these get 404
	}{
		{"/", all, nil},
		{"/exams", signedIn, nil},
		{"/badges", signedIn, nil},
		{"/attempts/" + live.ID, only("candidate"), only("admin", "manager", "psychometrician", "proctor", "author", "candidate2")},
		{"/attempts/" + passed.ID + "/result", only("admin", "manager", "psychometrician", "proctor", "candidate2"), only("author", "candidate")},
		{"/credentials/" + res.CredentialID, all, nil},
		{"/achievements/" + f.slug, all, nil},
		{"/proctor", only("admin", "proctor"), nil},
		{"/proctor/attempts/" + live.ID, only("admin", "proctor"), nil},
		{"/psychometrics/exams/" + f.exam.ID, only("admin", "manager", "psychometrician"), nil},
		{"/psychometrics/exams/" + f.draft.ID, only("admin", "manager", "psychometrician"), nil},
		{"/standards/exams/" + f.exam.ID, only("admin", "manager", "psychometrician"), nil},
		{"/standards/exams/" + f.draft.ID, only("admin", "manager", "psychometrician"), nil},
		{"/authoring/exams/" + f.exam.ID, only("admin", "author"), nil},
		{"/admin/audit", only("admin"), nil},
	}
	clients := map[string]*client{}
	for _, u := range all {
		clients[u] = f.as(u)
	}
	for _, tt := range tests {
		for _, u := range all {
			name := u
			if name == "" {
				name = "signed out"
			}
			t.Run(tt.path+"/"+name, func(t *testing.T) {
				r := clients[u].get(tt.path)
				switch {
				case slices.Contains(tt.allowed, u):
					wantCode(t, "GET "+tt.path, r, http.StatusOK)
					checkPage(t, tt.path, r)
				case slices.Contains(tt.missing, u):
					wantCode(t, "GET "+tt.path, r, http.StatusNotFound)
				case u == "":
					if r.Status != http.StatusFound || r.Location != "/login?next="+url.QueryEscape(tt.path) {
						t.Errorf("signed out: %d %q, want a redirect to the login page", r.Status, r.Location)
					}
				default:
					wantCode(t, "GET "+tt.path, r, http.StatusForbidden)
					wantContains(t, "403 page", r, "You don’t have access to this page")
				}
			})
		}
	}
}

var (
	inlineHandler = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	inlineScript  = regexp.MustCompile(`(?i)<script(\s[^>]*)?>`)
	styleAttr     = regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`)
)

// checkPage checks what the CSP requires of every page: no inline script,
// style attribute or event handler; and that it is a whole page.
func checkPage(tb testing.TB, what string, r response) {
	tb.Helper()
	if styleAttr.MatchString(r.Body) || strings.Contains(r.Body, "<style") {
		tb.Errorf("%s: inline style", what)
	}
	if inlineHandler.MatchString(r.Body) {
		tb.Errorf("%s: inline event handler: %s", what, inlineHandler.FindString(r.Body))
	}
	for _, m := range inlineScript.FindAllString(r.Body, -1) {
		if !strings.Contains(m, `src="/static/`) {
			tb.Errorf("%s: inline script %s", what, m)
		}
	}
	for _, s := range []string{`<main id="main"`, `<a class="skip-link" href="#main">`, "</footer>", `<html lang="en">`} {
		if !strings.Contains(r.Body, s) {
			tb.Errorf("%s: page lacks %s", what, s)
		}
	}
}

func TestPlayerShowsNoKeys(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.as("candidate")

	wantCode(t, "start an exam without a standard", c.post("/exams/"+f.draft.ID+"/start", nil), http.StatusConflict)
	r := c.post("/exams/"+f.exam.ID+"/start", nil)
	wantCode(t, "start", r, http.StatusSeeOther)
	id := strings.TrimPrefix(r.Location, "/attempts/")
	if id == r.Location || id == "" {
		t.Fatalf("start redirected to %q, want /attempts/{id}", r.Location)
	}
	again := c.post("/exams/"+f.exam.ID+"/start", nil)
	if again.Location != r.Location {
		t.Errorf("starting again went to %q, want the open attempt %q", again.Location, r.Location)
	}

	player := c.get("/attempts/" + id)
	wantCode(t, "player", player, http.StatusOK)
	checkPage(t, "player", player)
	first := f.items[0]
	want := []string{`id="player"`, `data-attempt-id="` + id + `"`, `data-deadline="2026-03-12T10:00:00Z"`, `data-server-time="2026-03-12T09:30:00Z"`,
		`id="timer"`, `id="save-status"`, `aria-live="polite"`, `id="next"`, `id="prev"`, `id="submit"`, `id="confirm-submit"`, `<dialog`,
		`class="qmap"`, `src="/static/player.js"`, `type="module"`, "30:00", `id="question-body"`, `id="offline-banner"`,
		`id="timer-warning"`, `id="time-announce"`, `id="break-dialog"`}
	wantContains(t, "player", player, want...)
	// The question itself is drawn by question.js from the attempt API, the
	// one renderer of items for candidates: the page holds only the frame.
	if strings.Contains(player.Body, first.Stem) {
		t.Error("player page renders the stem itself; question.js should")
	}
	if n := strings.Count(player.Body, `data-index="`); n != len(f.items) {
		t.Errorf("question map has %d buttons, want %d", n, len(f.items))
	}

	attempt := c.getJSON("/api/v1/attempts/" + id)
	wantCode(t, "attempt API", attempt, http.StatusOK)

	// Save through the API, as the player does, then reload.
	ans := first.Options[1].ID
	wantCode(t, "save", c.api(http.MethodPut, "/api/v1/attempts/"+id+"/responses/"+first.ID, map[string]any{"answer": ans}), http.StatusOK)
	wantCode(t, "flag", c.api(http.MethodPut, "/api/v1/attempts/"+id+"/responses/"+f.items[1].ID, map[string]any{"flagged": true}), http.StatusOK)
	reloaded := c.get("/attempts/" + id)
	wantContains(t, "reloaded player", reloaded, "is-answered", "is-flagged", "Question 1, answered", "Question 2, not answered, flagged")
	wantCode(t, "events", c.api(http.MethodPost, "/api/v1/attempts/"+id+"/events", map[string]any{"events": []map[string]any{
		{"kind": "focus_lost", "at": "2026-03-12T09:31:00.123Z"}, {"kind": "paste"}, {"kind": "heartbeat"}}}), http.StatusNoContent)

	for name, r := range map[string]response{"player": player, "reloaded player": reloaded, "attempt API": attempt,
		"home": c.get("/"), "exams": c.get("/exams"), "badges": c.get("/badges")} {
		if strings.Contains(r.Body, `"key"`) || strings.Contains(r.Body, "is-key") || strings.Contains(r.Body, "rationale") {
			t.Errorf("%s shows a key or rationale field", name)
		}
		for _, b := range bank {
			if strings.Contains(r.Body, b.rationale) {
				t.Errorf("%s contains the rationale %q", name, b.rationale)
			}
		}
	}

	// The author sees them, on the one page meant for it.
	items := f.as("author").get("/authoring/exams/" + f.exam.ID)
	wantContains(t, "authoring", items, bank[0].rationale, "is-key", "Key")

	// The proctor sees the events.
	proc := f.as("proctor").get("/proctor/attempts/" + id)
	wantContains(t, "proctor attempt", proc, "Left the exam window", "Pasted text", "Jordan Lee", "browser clock 09:31:00 UTC")
	if strings.Contains(proc.Body, "<strong>Heartbeat</strong>") {
		t.Error("the proctor's event list shows heartbeats")
	}
	wantContains(t, "proctor list", f.as("proctor").get("/proctor"), "Jordan Lee", "In progress", "Left the exam window ×1", "/proctor/attempts/"+id)
}

func TestPassIssuesValidCredential(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.as("candidate")
	id := strings.TrimPrefix(c.post("/exams/"+f.exam.ID+"/start", nil).Location, "/attempts/")
	for _, it := range f.items {
		wantCode(t, "save", c.api(http.MethodPut, "/api/v1/attempts/"+id+"/responses/"+it.ID, map[string]any{"answer": it.Key}), http.StatusOK)
	}
	wantCode(t, "submit", c.api(http.MethodPost, "/api/v1/attempts/"+id+"/submit", nil), http.StatusOK)

	r := c.get("/attempts/" + id)
	if r.Status != http.StatusSeeOther || r.Location != "/attempts/"+id+"/result" {
		t.Errorf("player of a submitted attempt: %d %q, want a redirect to the result", r.Status, r.Location)
	}
	result := c.get("/attempts/" + id + "/result")
	wantCode(t, "result", result, http.StatusOK)
	checkPage(t, "result", result)
	res, err := f.assess.Result(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, "result", result, `id="result-status"`, ">Passed<", "4 of 4", "Pass mark", "3 of 4", "Version 1", "modified-Angoff",
		"References, ranges and errors", "Strong", `id="view-badge" href="/credentials/`+res.CredentialID+`"`,
		"https://touchstone.example/credentials/"+res.CredentialID)

	// The recipient sees the details of a private credential; anyone else
	// its status only.
	cred := c.get("/credentials/" + res.CredentialID)
	wantCode(t, "credential", cred, http.StatusOK)
	checkPage(t, "credential", cred)
	wantContains(t, "credential", cred, `id="verification"`, `data-status="valid"`, "Valid credential", "Spreadsheet Formulas",
		"Touchstone Test Academy", "Identity: hashed email (verifiable by the holder)", `id="credential-score">4 of 4`,
		`id="credential-required">2.6`, "The pass mark is 2.6 on a scale from 0 to 4 points.", "approved on 12 March 2026 by Daniel Okoro",
		"DataIntegrityProof", "eddsa-rdfc-2022", `href="/api/v1/credentials/`+res.CredentialID+`"`, `property="og:title"`,
		`href="/achievements/spreadsheet-formulas#skill-F-REF"`, "<strong>Spreadsheet Formulas</strong>")
	anon := f.as("").get("/credentials/" + res.CredentialID)
	wantContains(t, "credential, anonymous", anon, `data-status="valid"`, "Valid credential", "Spreadsheet Formulas", `id="private-note"`)
	if strings.Contains(anon.Body, "candidate@example.com") || strings.Contains(anon.Body, "Jordan") {
		t.Error("the public credential page shows the recipient")
	}
	if strings.Contains(anon.Body, `id="credential-score"`) {
		t.Error("the page of a private credential shows the score to anyone")
	}

	badges := c.get("/badges")
	wantContains(t, "badges", badges, "Spreadsheet Formulas", "/credentials/"+res.CredentialID, "/api/v1/credentials/"+res.CredentialID, "Active")

	ach := f.as("").get("/achievements/" + f.slug)
	wantContains(t, "achievement", ach, `id="skill-F-REF"`, `id="skill-F-LOG"`, `id="standard-v1"`, "<strong>Spreadsheet Formulas</strong>", "3 of 4")
	wantCode(t, "unknown achievement", f.as("").get("/achievements/nope"), http.StatusNotFound)

	if err := f.creds.Revoke(context.Background(), f.users["admin"].ID, res.CredentialID, "issued in error"); err != nil {
		t.Fatal(err)
	}
	revoked := f.as("").get("/credentials/" + res.CredentialID)
	wantContains(t, "revoked credential", revoked, `data-status="revoked"`, "Revoked credential", "issued in error")
	wantContains(t, "badges after revocation", c.get("/badges"), "Revoked")
}

func TestFailShowsFeedback(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	a := f.take("candidate", 1, true)
	r := f.as("candidate").get("/attempts/" + a.ID + "/result")
	wantCode(t, "result", r, http.StatusOK)
	wantContains(t, "result", r, "Not passed", "1 of 4", "2 points", "Needs focus")
	if strings.Contains(r.Body, ">Passed<") || strings.Contains(r.Body, "view-badge") {
		t.Error("a failed result shows a pass")
	}
	staff := f.as("psychometrician").get("/attempts/" + a.ID + "/result")
	wantContains(t, "result seen by staff", staff, "Jordan Lee", "candidate@example.com")
}

func TestExpiredAttemptIsSubmitted(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	a := f.take("candidate", 3, false)
	c := f.as("candidate")
	if r := c.get("/attempts/" + a.ID + "/result"); r.Status != http.StatusSeeOther || r.Location != "/attempts/"+a.ID {
		t.Errorf("result of an open attempt: %d %q, want a redirect to the player", r.Status, r.Location)
	}
	f.clock.Advance(31 * time.Minute)
	r := c.get("/attempts/" + a.ID)
	if r.Status != http.StatusSeeOther || r.Location != "/attempts/"+a.ID+"/result" {
		t.Fatalf("player after the deadline: %d %q, want a redirect to the result", r.Status, r.Location)
	}
	res := c.get(r.Location)
	wantContains(t, "result", res, "Passed", "3 of 4", "automatically when the time ran out")
}

func TestApproveStandard(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	proposed := f.setStandard(context.Background(), 0.8)
	page := f.as("manager").get("/standards/exams/" + f.exam.ID)
	wantContains(t, "standards", page, "Version 2", "Proposed · awaiting approval", `action="/standards/`+proposed.ID+`/approve"`,
		"Approved · in force", "Daniel Okoro", "Helena Lindqvist")
	if psych := f.as("psychometrician").get("/standards/exams/" + f.exam.ID); strings.Contains(psych.Body, "/approve") {
		t.Error("a psychometrician is offered the approve button")
	}
	wantCode(t, "approve by a psychometrician", f.as("psychometrician").post("/standards/"+proposed.ID+"/approve", nil), http.StatusForbidden)
	m := f.as("manager")
	wantCode(t, "approve without CSRF", m.post("/standards/"+proposed.ID+"/approve", url.Values{"_csrf": {""}}), http.StatusForbidden)
	r := m.post("/standards/"+proposed.ID+"/approve", nil)
	wantCode(t, "approve", r, http.StatusSeeOther)
	if want := "/standards/exams/" + f.exam.ID + "#standard-v2"; r.Location != want {
		t.Errorf("Location = %q, want %q", r.Location, want)
	}
	after := m.get("/standards/exams/" + f.exam.ID)
	wantContains(t, "standards after approval", after, "Superseded")
	if strings.Contains(after.Body, "/approve") {
		t.Error("an approved standard still offers approval")
	}
	wantCode(t, "approve twice", m.post("/standards/"+proposed.ID+"/approve", nil), http.StatusConflict)
	wantContains(t, "audit", f.as("admin").get("/admin/audit"), "Chain intact", "standard.approve", "Daniel Okoro")
}

func TestStatisticsPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{Items: 8, Pilots: 300})
	base := "/psychometrics/exams/" + f.exam.ID
	p := f.as("psychometrician")
	r := p.get(base)
	wantCode(t, "statistics", r, http.StatusOK)
	wantContains(t, "statistics", r, `id="stat-n">300<`, "Cronbach", `id="stat-cut"`, `id="stat-dc"`, `id="stat-csem"`,
		`<img src="`+base+`/score-distribution.svg"`, "Data table of the score distribution",
		"Low discrimination", "Very easy", "Weak distractor", "p below 0.20", `id="item-stats"`,
		`href="`+base+`/items/`+f.items[0].ID+`"`, base+"/items.csv", base+"/responses.csv", base+"/analysis.json")
	if strings.Contains(r.Body, bank[0].rationale) {
		t.Error("the statistics page shows a rationale")
	}
	empty := p.get("/psychometrics/exams/" + f.draft.ID)
	wantContains(t, "statistics without data", empty, "No scored attempts yet")

	// The filter keeps its query on every link; a window with no attempt is empty.
	window := p.get(base + "?from=2020-01-01&to=2020-12-31")
	wantContains(t, "empty window", window, "No submitted attempt matches", `value="2020-01-01"`)
	wantCode(t, "bad date", p.get(base+"?from=yesterday"), http.StatusUnprocessableEntity)
	wantCode(t, "unknown form", p.get(base+"?form=nope"), http.StatusUnprocessableEntity)
	wantCode(t, "manager", f.as("manager").get(base), http.StatusOK)
	wantCode(t, "candidate", f.as("candidate").get(base), http.StatusForbidden)

	// The item page: its statistics, option table and plot, the review link.
	it := p.get(base + "/items/" + f.items[5].ID)
	wantCode(t, "item page", it, http.StatusOK)
	wantContains(t, "item page", it, "Item 6", `id="option-stats"`, "Never chosen", "Negative discrimination", "Possible miskey",
		`<img src="`+base+`/items/`+f.items[5].ID+`/options.svg"`, "Data table of the option plot",
		`href="/psychometrics/items/`+f.items[5].ID+`"`, "Review this item (flag, retire, rekey)")
	wantCode(t, "item not in the exam", p.get(base+"/items/"+uuidLike), http.StatusNotFound)

	// Every download answers in its format.
	for path, ctype := range map[string]string{
		"/analysis.json": "application/json", "/summary.csv": "text/csv", "/summary.json": "application/json",
		"/items.csv": "text/csv", "/items.json": "application/json", "/responses.csv": "text/csv",
		"/choices.csv": "text/csv", "/key.csv": "text/csv", "/scores.csv": "text/csv",
		"/score-distribution.svg": "image/svg+xml", "/score-distribution.png": "image/png",
		"/score-distribution.csv": "text/csv", "/score-distribution.json": "application/json",
		"/items/" + f.items[1].ID + "/options.csv": "text/csv", "/items/" + f.items[1].ID + "/options.json": "application/json",
		"/items/" + f.items[1].ID + "/options.svg": "image/svg+xml", "/items/" + f.items[1].ID + "/options.png": "image/png",
		"/items/" + f.items[1].ID + "/option-groups.csv": "text/csv", "/items/" + f.items[1].ID + "/option-groups.json": "application/json",
	} {
		d := p.get(base + path)
		if d.Status != http.StatusOK || !strings.HasPrefix(d.Header.Get("Content-Type"), ctype) || len(d.Body) < 20 {
			t.Errorf("%s: got %d %q (%d bytes), want 200 %s", path, d.Status, d.Header.Get("Content-Type"), len(d.Body), ctype)
		}
	}
	if d := p.get(base + "/responses.csv"); !strings.HasPrefix(d.Body, "person,"+f.items[0].ID+",") {
		t.Errorf("responses.csv: got header %.80q, want person,<item ids>", d.Body)
	}
}

// uuidLike is a well-formed id that names nothing.
const uuidLike = "00000000-0000-4000-8000-0000000000ff"

func TestHomeAndErrors(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	anon := f.as("")
	home := anon.get("/")
	wantContains(t, "home", home, "Verify a credential", `name="credential"`, `href="/login"`)
	id := "0b6f8c1e-4d4a-4c43-9d2a-8f1e2b3c4d5e"
	for _, q := range []string{id, "https://touchstone.example/credentials/" + id + "/"} {
		r := anon.get("/?credential=" + url.QueryEscape(q))
		if r.Status != http.StatusSeeOther || r.Location != "/credentials/"+id {
			t.Errorf("verify %q: %d %q, want a redirect to /credentials/%s", q, r.Status, r.Location, id)
		}
	}
	bad := anon.get("/?credential=hello")
	wantCode(t, "verify garbage", bad, http.StatusUnprocessableEntity)
	wantContains(t, "verify garbage", bad, `aria-invalid="true"`, "That is not a credential link or id")

	missing := anon.get("/credentials/" + id)
	wantCode(t, "unknown credential", missing, http.StatusNotFound)
	checkPage(t, "404", missing)
	wantContains(t, "404", missing, "We couldn’t find that page")
	wantCode(t, "no such page", anon.get("/nope"), http.StatusNotFound)

	dash := f.as("admin").get("/")
	wantContains(t, "admin dashboard", dash, "Welcome, Samira Haddad", "Chain intact", "Proctoring", "Analysis and standards", "Authoring",
		`href="/admin/audit"`, `action="/logout"`)
	cand := f.as("candidate").get("/")
	wantContains(t, "candidate dashboard", cand, "Your exams", "Your badges", `href="/badges"`)
	if strings.Contains(cand.Body, `href="/proctor"`) || strings.Contains(cand.Body, `href="/admin/audit"`) {
		t.Error("a candidate's navigation offers staff pages")
	}
	exams := f.as("candidate").get("/exams")
	wantContains(t, "exams", exams, "Spreadsheet Formulas", "30 minutes", "4 questions", "Pass mark: 3 of 4", "References, ranges and errors",
		`action="/exams/`+f.exam.ID+`/start"`, "Pivot Tables", "opens once its passing standard is approved")
	staff := f.as("psychometrician").get("/exams?view=statistics")
	wantContains(t, "statistics chooser", staff, "Item statistics", "/psychometrics/exams/"+f.exam.ID)
	if strings.Contains(staff.Body, "/start") {
		t.Error("a psychometrician is offered to start an exam")
	}
}

func TestStaticAssets(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, p := range []string{"/static/app.css", "/static/player.js", "/static/proctor.js", "/static/copy.js", "/static/favicon.svg"} {
		r := f.as("").get(p)
		wantCode(t, p, r, http.StatusOK)
		if len(r.Body) < 100 {
			t.Errorf("%s is %d bytes", p, len(r.Body))
		}
	}
	js := f.as("").get("/static/player.js").Body
	for _, s := range []string{"X-CSRF-Token", "/responses/", "/submit", "/events", "server_time", "showModal", "localStorage", "heartbeat",
		"focus_lost", "visibility_hidden", "fullscreen_exit", "copy", "paste"} {
		if !strings.Contains(js, s) {
			t.Errorf("player.js does not mention %q", s)
		}
	}
}

// TestScreenshots serves the seeded app on 127.0.0.1 and captures every
// page in headless Chromium, at desktop and phone widths, into the
// directory named by TOUCHSTONE_SCREENSHOTS: for people to look at, not a
// golden test. It drives the exam player as a candidate would.
func TestScreenshots(t *testing.T) {
	// Every page in a real browser at two widths: run in CI (browser tests
	// on), and by hand with TOUCHSTONE_SCREENSHOTS=dir to keep the pictures.
	browser := startBrowser(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	f := newFixture(t, fixtureOptions{BaseURL: base, Now: time.Now, Items: 8, Pilots: 400})
	go func() { _ = f.srv.App().Listener(ln) }()
	t.Cleanup(func() { f.srv.StopStreams(); _ = f.srv.App().Shutdown() })

	bg := context.Background()
	failed := f.take("candidate2", 3, true)
	live := f.take("candidate3", 5, false)
	at := time.Now().Add(-3 * time.Minute)
	if _, err := f.proctor.Record(bg, live.ID, []proctor.Event{{Kind: proctor.Heartbeat, ClientAt: &at}, {Kind: proctor.FocusLost, ClientAt: &at},
		{Kind: proctor.FocusGained}, {Kind: proctor.Paste, Detail: "38 characters"}, {Kind: proctor.FullscreenExit}, {Kind: proctor.Hidden}, {Kind: proctor.Visible}}); err != nil {
		t.Fatal(err)
	}
	f.setStandard(bg, 0.7) // a proposed version 2 for the manager to approve
	// A one-minute quiz, started now and opened in the player at the end,
	// shows the last-minute warning and the automatic submission.
	quiz, err := f.assess.CreateExam(bg, assess.Exam{ProgramID: f.exam.ProgramID, Slug: "warm-up", Title: "Warm-up quiz",
		Duration: time.Minute, Domains: f.exam.Domains, ItemIDs: f.exam.ItemIDs[:2]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.assess.ApproveStandard(bg, f.users["manager"].ID, f.setStandardOf(bg, quiz, 0.6).ID); err != nil {
		t.Fatal(err)
	}
	// The second candidate takes it: a candidate has one attempt open at a
	// time, and the first takes Formulas below.
	timed, err := f.assess.Start(bg, quiz.ID, f.users["candidate2"].ID)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(browser, 10*time.Minute) // a step that never comes fails, not hangs
	defer cancel()
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browserStep(t, ctx, "step", steps...)
	}
	n := 0
	capture := func(name string, full bool) {
		t.Helper()
		n++
		shot := viewport
		if full {
			shot = wholePage
		}
		saveScreenshot(t, ctx, fmt.Sprintf("%02d-%s", n, name), shot)
	}
	shoot := func(name, path string) {
		t.Helper()
		for _, w := range []int64{1280, 390} {
			do(chromedp.EmulateViewport(w, 900), chromedp.Navigate(base+path), chromedp.WaitReady("body"), chromedp.Sleep(150*time.Millisecond))
			capture(fmt.Sprintf("%s-%d", name, w), true)
		}
		do(chromedp.EmulateViewport(1280, 900))
	}
	login := func(user string) {
		t.Helper()
		signInByForm(t, ctx, base, f.users[user].Email, password)
	}

	res, err := f.assess.Result(bg, failed.ID)
	if err != nil {
		t.Fatal(err)
	}
	shoot("home", "/")
	shoot("login", "/login")
	shoot("not-found", "/credentials/0b6f8c1e-4d4a-4c43-9d2a-8f1e2b3c4d5e")
	shoot("achievement", "/achievements/"+f.slug)

	login("candidate")
	shoot("dashboard-candidate", "/")
	shoot("exams-candidate", "/exams")
	do(chromedp.Navigate(base+"/exams"), chromedp.Click(chromedp.ID("start-formulas")), chromedp.WaitVisible(chromedp.ID("player")))
	loaded := `document.getElementById('save-status').dataset.state === 'idle'`
	do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](loaded)(ctx, t)
		return err
	}))
	capture("player-start-1280", false)
	saved := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`document.getElementById('save-status').dataset.state === 'saved'`)(ctx, t)
		return err
	})
	for i, it := range f.items[:7] {
		do(chromedp.Click(chromedp.ID("option-"+it.Key)), saved)
		if i == 2 {
			do(chromedp.Click(chromedp.ID("flag")), saved)
		}
		do(chromedp.Click(chromedp.ID("next")))
	}
	do(chromedp.Click(chromedp.CSS(`.qmap button[data-index="2"]`)), chromedp.Sleep(100*time.Millisecond))
	capture("player-answered-1280", false)
	do(chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("player")), chromedp.Sleep(500*time.Millisecond))
	capture("player-390", true)
	do(chromedp.EmulateViewport(1280, 900), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("player")), chromedp.Sleep(500*time.Millisecond),
		chromedp.Click(chromedp.ID("submit")), chromedp.WaitVisible(chromedp.ID("confirm-submit")))
	capture("player-submit-dialog-1280", false)
	do(chromedp.Click(chromedp.ID("confirm-submit")), chromedp.WaitVisible(chromedp.ID("result-status")))
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("result-status")))
	if err != nil || !strings.Contains(status, "Passed") {
		t.Errorf("result status %q (err %v), want Passed", status, err)
	}
	var resultURL string
	if resultURL, err = chromedp.Run(ctx, chromedp.Evaluate[string]("location.pathname")); err != nil {
		t.Fatal(err)
	}
	shoot("result-pass", resultURL)
	do(chromedp.Click(chromedp.ID("view-badge")), chromedp.WaitVisible(chromedp.ID("verification")))
	verification, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("verification")))
	if err != nil || !strings.Contains(verification, "Valid") {
		t.Errorf("verification %q (err %v), want Valid", verification, err)
	}
	var credentialURL string
	if credentialURL, err = chromedp.Run(ctx, chromedp.Evaluate[string]("location.pathname")); err != nil {
		t.Fatal(err)
	}
	shoot("credential", credentialURL)
	shoot("badges", "/badges")

	login("candidate2")
	shoot("result-fail", "/attempts/"+res.AttemptID+"/result")

	login("admin")
	shoot("dashboard-admin", "/")
	shoot("proctor", "/proctor")
	do(chromedp.Navigate(base+"/proctor"), chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`document.getElementById('console').dataset.readAt !== undefined`)(ctx, t)
		return err
	}))
	if cards, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#sessions .session-card').length`)); err != nil || cards != 2 {
		t.Errorf("console cards after the first read: %d (err %v), want the 2 sessions in progress", cards, err)
	}
	shoot("proctor-attempt", "/proctor/attempts/"+live.ID)
	shoot("statistics", "/psychometrics/exams/"+f.exam.ID)
	shoot("statistics-empty", "/psychometrics/exams/"+f.draft.ID)
	shoot("authoring", "/authoring/exams/"+f.exam.ID)
	shoot("audit", "/admin/audit")
	shoot("forbidden", "/nothing-here")

	login("manager")
	shoot("exams-standards", "/exams?view=standards")
	shoot("standards", "/standards/exams/"+f.exam.ID)

	login("candidate2")
	time.Sleep(time.Until(timed.Deadline.Add(-8 * time.Second)))
	do(chromedp.Navigate(base+"/attempts/"+timed.ID), chromedp.WaitVisible(chromedp.ID("player")),
		chromedp.Click(chromedp.ID("option-"+f.items[0].Key)), chromedp.Sleep(time.Second))
	capture("player-last-minute-1280", false)
	do(chromedp.WaitVisible(chromedp.ID("result-status")))
	capture("result-after-time-up-1280", true)
	if status, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("result-status"))); err != nil || !strings.Contains(status, "Not passed") {
		t.Errorf("after time ran out: result status %q (err %v), want Not passed", status, err)
	}
}
