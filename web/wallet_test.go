package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// page fetches a page as a browser of u would (u nil: signed out), in a
// new session, since tests move the clock past a session's life.
func walletPage(t *testing.T, f *webtest.Fixture, u *webtest.User, path string) *webtest.Response {
	t.Helper()
	req := webtest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Accept", "text/html")
	if u != nil {
		webtest.WithCookie(req, f.NewSession(t, *u), false)
	}
	return f.Do(t, req)
}

// postForm sends a page form as u, with the session's CSRF token.
func managerForm(t *testing.T, f *webtest.Fixture, u webtest.User, path string, form url.Values) *webtest.Response {
	t.Helper()
	sess := f.Session(t, u)
	form.Set("_csrf", sess.CSRFToken)
	req := webtest.NewRequest(http.MethodPost, path, form.Encode())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	req.AddCookie(&http.Cookie{Name: "ts_session", Value: sess.Token})
	return f.Do(t, req)
}

// newAchievement defines an achievement of the fixture's issuer.
func newAchievement(t *testing.T, f *webtest.Fixture, slug, name, kind string, validityDays int) string {
	t.Helper()
	id, err := f.Credentials.CreateAchievement(context.Background(), f.IssuerID, credential.AchievementInput{
		Slug: slug, Name: name, AchievementType: kind, Description: name + ".", Criteria: "Earn " + name + ".", ValidityDays: validityDays})
	if err != nil {
		t.Fatalf("achievement %s: %v", slug, err)
	}
	return id
}

// issueTo issues the achievement to u directly, as a pass would.
func issueTo(t *testing.T, f *webtest.Fixture, u webtest.User, achievementID, key string) credential.Credential {
	t.Helper()
	c, err := f.Credentials.Issue(context.Background(), credential.IssueRequest{Key: key, AchievementID: achievementID,
		RecipientID: u.ID, RecipientEmail: u.Email, Actor: "test"})
	if err != nil {
		t.Fatalf("issue %s to %s: %v", achievementID, u.Email, err)
	}
	return c
}

// card returns the wallet card of credential id in the page.
func card(t *testing.T, r *webtest.Response, id string) string {
	t.Helper()
	body := string(r.Body)
	start := strings.Index(body, `id="badge-`+id+`"`)
	if start < 0 {
		t.Fatalf("wallet has no card for %s", id)
	}
	rest := body[start:]
	if end := strings.Index(rest, `class="card badge-card`); end >= 0 {
		rest = rest[:end]
	}
	if end := strings.Index(rest, "</ul>\n  <p id=\"copy-status\""); end >= 0 {
		rest = rest[:end]
	}
	return rest
}

type myCredential struct {
	ID         string            `json:"id"`
	State      string            `json:"state"`
	ValidUntil *time.Time        `json:"valid_until"`
	Revoked    bool              `json:"revoked"`
	Suspended  bool              `json:"suspended"`
	Public     bool              `json:"public"`
	Reason     string            `json:"reason"`
	Supersedes *string           `json:"supersedes"`
	Downloads  map[string]string `json:"downloads"`
	Type       string            `json:"achievement_type"`
	Name       string            `json:"achievement"`
}

func myCredentials(t *testing.T, f *webtest.Fixture, u webtest.User) map[string]myCredential {
	t.Helper()
	resp := apiCall(t, f, apiReq("GET", "/api/v1/me/credentials", f.NewSession(t, u).Token, nil))
	wantAPIStatus(t, resp, http.StatusOK)
	var list []myCredential
	resp.JSON(t, &list)
	out := map[string]myCredential{}
	for _, c := range list {
		out[c.ID] = c
	}
	return out
}

// TestWalletStates: every state with its reason, expiry in words, the
// notice for credentials expiring within 90 days with the exam that renews
// them, the downloads and the visibility form, the renewal chain; and the
// same in the API.
func TestWalletStates(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		cand := f.Users.Candidate
		// The exam's badge now lasts 60 days; a pass earns it.
		fixtureBadge, err := f.Credentials.AchievementRecordByID(ctx, f.AchievementID)
		if err != nil {
			t.Fatal(err)
		}
		in := fixtureBadge.AchievementInput
		in.ValidityDays = 60
		if err := f.Credentials.UpdateAchievement(ctx, f.Users.Manager.ID, f.AchievementID, in); err != nil {
			t.Fatal(err)
		}
		passed := *apiPass(t, f, cand).CredentialID

		cloud := newAchievement(t, f, "cloud-basics", "Cloud Basics", "Badge", 30)
		short := issueTo(t, f, cand, cloud, "cloud-1")
		forever := issueTo(t, f, cand, newAchievement(t, f, "ethics", "Data Ethics", "Badge", 0), "ethics-1")
		revoked := issueTo(t, f, cand, newAchievement(t, f, "sql", "SQL Basics", "Badge", 0), "sql-1")
		suspended := issueTo(t, f, cand, newAchievement(t, f, "viz", "Visualisation", "Badge", 400), "viz-1")
		if err := f.Credentials.Revoke(ctx, f.Users.Admin.ID, revoked.ID, "Identity fraud"); err != nil {
			t.Fatal(err)
		}
		if err := f.Credentials.Suspend(ctx, f.Users.Admin.ID, suspended.ID, "Proctoring review open"); err != nil {
			t.Fatal(err)
		}

		w := walletPage(t, f, &cand, "/badges")
		wantAPIStatus(t, w, http.StatusOK)
		wantBody(t, "wallet", w, `id="expiring"`)
		notice := string(w.Body)[strings.Index(string(w.Body), `id="expiring"`):]
		notice = notice[:strings.Index(notice, "</section>")]
		for _, want := range []string{"<strong>Cloud Basics</strong> expires in 30 days", "<strong>Data Fundamentals</strong> expires in 60 days",
			`href="/exams#exam-data-fundamentals"`, "Renew it: take Data Fundamentals"} {
			if !strings.Contains(notice, want) {
				t.Errorf("expiring notice lacks %q:\n%s", want, notice)
			}
		}
		for _, absent := range []string{"Data Ethics", "Visualisation", "SQL Basics"} {
			if strings.Contains(notice, absent) {
				t.Errorf("expiring notice names %s, which does not expire soon or is not in force", absent)
			}
		}
		if i, j := strings.Index(notice, "Cloud Basics"), strings.Index(notice, "Data Fundamentals"); i > j {
			t.Error("expiring notice: want the soonest first")
		}

		for _, c := range []struct {
			id   string
			want []string
		}{
			{passed, []string{">Active</span>", "Private", "(expires in 60 days)", `href="/credentials/` + passed + `/credential.json"`,
				`href="/credentials/` + passed + `/credential.jwt"`, `href="/credentials/` + passed + `/badge.png"`,
				`href="/credentials/` + passed + `/badge.svg"`, `src="/achievements/data-fundamentals/badge.png?size=128"`,
				`action="/credentials/` + passed + `/visibility"`, `name="public" value="true"`, "Make public"}},
			{short.ID, []string{">Active</span>", "(expires in 30 days)"}},
			{forever.ID, []string{">Active</span>", "No expiry"}},
			{revoked.ID, []string{"pill-bad", ">Revoked 23 November 2026</span>", "Reason: Identity fraud"}},
			{suspended.ID, []string{"pill-warn", ">Suspended 23 November 2026</span>", "Reason: Proctoring review open"}},
		} {
			got := card(t, w, c.id)
			for _, want := range c.want {
				if !strings.Contains(got, want) {
					t.Errorf("card %s lacks %q:\n%s", c.id, want, got)
				}
			}
		}
		if strings.Contains(card(t, w, passed), "alg=RS256") {
			t.Error("the wallet offers RS256 though the issuer has no RSA key")
		}

		api := myCredentials(t, f, cand)
		if len(api) != 5 {
			t.Fatalf("my credentials: got %d, want 5", len(api))
		}
		for id, want := range map[string]string{passed: "active", short.ID: "active", forever.ID: "active", revoked.ID: "revoked", suspended.ID: "suspended"} {
			if got := api[id].State; got != want {
				t.Errorf("credential %s: state %q, want %q", id, got, want)
			}
		}
		if c := api[short.ID]; c.ValidUntil == nil || !c.ValidUntil.Equal(webtest.Start.AddDate(0, 0, 30)) || c.Public ||
			c.Downloads["json"] != webtest.BaseURL+"/credentials/"+short.ID+"/credential.json" || c.Downloads["svg"] == "" {
			t.Errorf("cloud credential: got %+v, want valid 30 days, private, with downloads", c)
		}
		if c := api[revoked.ID]; !c.Revoked || c.Reason != "Identity fraud" {
			t.Errorf("revoked credential: got %+v", c)
		}
		if c := api[suspended.ID]; !c.Suspended || c.Revoked || c.Reason != "Proctoring review open" {
			t.Errorf("suspended credential: got %+v", c)
		}
		if api[forever.ID].ValidUntil != nil {
			t.Errorf("credential without expiry: got valid_until %v", api[forever.ID].ValidUntil)
		}

		// A month on, the cloud badge has expired and is renewed.
		f.Clock.Advance(31 * 24 * time.Hour)
		w = walletPage(t, f, &cand, "/badges")
		wantAPIStatus(t, w, http.StatusOK)
		if got := card(t, w, short.ID); !strings.Contains(got, ">Expired</span>") || !strings.Contains(got, "(expired yesterday)") {
			t.Errorf("expired card:\n%s", got)
		}
		if strings.Contains(string(w.Body), `id="expiring-`+short.ID+`"`) {
			t.Error("the expiring notice lists a credential that has expired")
		}
		wantBody(t, "wallet a month on", w, "<strong>Data Fundamentals</strong> expires in 29 days")

		renewed := issueTo(t, f, cand, cloud, "cloud-2")
		if renewed.Supersedes != short.ID {
			t.Fatalf("renewal: supersedes %q, want %s", renewed.Supersedes, short.ID)
		}
		w = walletPage(t, f, &cand, "/badges")
		if got := card(t, w, renewed.ID); !strings.Contains(got, `<dt>Renews</dt><dd><a href="/credentials/`+short.ID+`">credential of 23 November 2026</a>`) {
			t.Errorf("renewing card lacks the link to what it renews:\n%s", got)
		}
		if got := card(t, w, short.ID); !strings.Contains(got, `<dt>Renewed by</dt><dd><a href="/credentials/`+renewed.ID+`">credential of 24 December 2026</a>`) {
			t.Errorf("renewed card lacks the link to its renewal:\n%s", got)
		}
		if s := myCredentials(t, f, cand)[renewed.ID].Supersedes; s == nil || *s != short.ID {
			t.Errorf("API: renewal supersedes %v, want %s", s, short.ID)
		}
	})
}

// TestWalletIsTheHolders: a candidate never sees another's credentials,
// on the page or through the API.
func TestWalletIsTheHolders(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		mine := *apiPass(t, f, f.Users.Candidate).CredentialID
		other := f.Users.Candidate2
		w := walletPage(t, f, &other, "/badges")
		wantAPIStatus(t, w, http.StatusOK)
		wantBody(t, "other's wallet", w, "No badges yet")
		wantNotBody(t, "other's wallet", w, mine)
		if got := myCredentials(t, f, other); len(got) != 0 {
			t.Errorf("other's credentials: got %v, want none", got)
		}
		if got := myCredentials(t, f, f.Users.Candidate); len(got) != 1 || got[mine].ID != mine {
			t.Errorf("holder's credentials: got %v, want %s", got, mine)
		}
		wantAPIError(t, apiCall(t, f, apiReq("GET", "/api/v1/me/pathways", "", nil)), http.StatusUnauthorized, "unauthorized", "")
	})
}

type myPathway struct {
	Certificate struct{ ID, URL, Name string } `json:"certificate"`
	Rule        credential.PathwayRule         `json:"rule"`
	RuleText    string                         `json:"rule_text"`
	Counted     []struct{ ID, Name string }    `json:"counted"`
	Missing     []struct{ ID, Name string }    `json:"missing"`
	Complete    bool                           `json:"complete"`
	Progress    struct{ Have, Need int }       `json:"progress"`
}

// TestWalletPathwayProgress: a certificate for any 2 of 3 badges; after one
// badge the pathway shows 1 of 2 and what is missing, after a second the
// certificate is issued automatically and the pathway is earned.
func TestWalletPathwayProgress(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		cand := f.Users.Candidate
		a := newAchievement(t, f, "python", "Python", "Badge", 0)
		b := newAchievement(t, f, "statistics", "Statistics", "Badge", 0)
		c := newAchievement(t, f, "machine-learning", "Machine Learning", "Badge", 0)
		cert := newAchievement(t, f, "data-science", "Data Science Certificate", "Certificate", 0)
		resp := apiCall(t, f, apiReq("POST", "/api/v1/achievements/"+cert+"/pathways", f.Token(t, f.Users.Manager),
			credential.PathwayRule{Kind: credential.AnyOf, Achievements: []string{a, b, c}, N: 2}))
		wantAPIStatus(t, resp, http.StatusCreated)

		pathways := func() []myPathway {
			t.Helper()
			resp := apiCall(t, f, apiReq("GET", "/api/v1/me/pathways", f.Token(t, cand), nil))
			wantAPIStatus(t, resp, http.StatusOK)
			var out []myPathway
			resp.JSON(t, &out)
			if len(out) != 1 {
				t.Fatalf("pathways: got %s, want one", resp.Body)
			}
			return out
		}
		p := pathways()[0]
		if p.Certificate.ID != cert || p.Certificate.Name != "Data Science Certificate" || p.RuleText != "any 2 of Python, Statistics or Machine Learning" ||
			p.Complete || p.Progress.Have != 0 || p.Progress.Need != 2 || len(p.Counted) != 0 || len(p.Missing) != 2 {
			t.Errorf("pathway before any badge: got %+v", p)
		}

		issueTo(t, f, cand, a, "python-1")
		p = pathways()[0]
		if p.Complete || p.Progress.Have != 1 || p.Progress.Need != 2 || len(p.Counted) != 1 || p.Counted[0].ID != a || len(p.Missing) != 1 {
			t.Errorf("pathway after one badge: got %+v, want 1 of 2, Python counted, one missing", p)
		}
		w := walletPage(t, f, &cand, "/badges")
		wantBody(t, "wallet after one badge", w, `id="pathway-`+cert+`"`, "Requires any 2 of Python, Statistics or Machine Learning.",
			"Progress: 1 of 2", `<progress id="progress-`+cert+`" max="2" value="1">50%</progress>`, "Still needed:")
		wantNotBody(t, "wallet after one badge", w, ">Earned</span>")
		for _, held := range myCredentials(t, f, cand) {
			if held.Name == "Data Science Certificate" {
				t.Fatal("the certificate is issued after one badge of two")
			}
		}

		issueTo(t, f, cand, b, "statistics-1")
		p = pathways()[0]
		if !p.Complete || p.Progress.Have != 2 || p.Progress.Need != 2 || len(p.Missing) != 0 {
			t.Errorf("pathway after two badges: got %+v, want complete", p)
		}
		var certificate *myCredential
		for _, held := range myCredentials(t, f, cand) {
			if held.Name == "Data Science Certificate" {
				certificate = &held
			}
		}
		if certificate == nil || certificate.Type != "Certificate" || certificate.State != "active" {
			t.Fatalf("after two badges: certificate %+v, want it issued automatically and active", certificate)
		}
		w = walletPage(t, f, &cand, "/badges")
		wantBody(t, "wallet after two badges", w, ">Earned</span>", "Progress: 2 of 2", `id="badge-`+certificate.ID+`"`)
		if regexp.MustCompile(`(?s)id="pathway-` + cert + `".*?Still needed`).Match(w.Body) {
			t.Error("an earned pathway still lists what is missing")
		}

		// The public achievement pages say the same.
		ach := walletPage(t, f, nil, "/achievements/data-science")
		wantAPIStatus(t, ach, http.StatusOK)
		wantBody(t, "certificate page", ach, `id="earned-by"`, "Issued automatically to holders of any 2 of Python, Statistics or Machine Learning.",
			`id="criteria"`, `src="/achievements/data-science/badge.png?size=256"`, "do not expire")
		ach = walletPage(t, f, nil, "/achievements/python")
		wantBody(t, "badge page", ach, "Counts towards", `href="/achievements/data-science"`, fmt.Sprintf("requires any %d of", 2))
	})
}
