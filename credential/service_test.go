package credential_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/credential/schema"
	"github.com/touchstone-assess/touchstone/credential/status"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

const testBaseURL = "https://touchstone.example"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testRSAKey is generated once: RSA key generation is slow.
var testRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fixture is a service with an issuer, a candidate and achievements.
type fixture struct {
	db        *gorm.DB
	clock     *clock
	svc       *credential.Service
	issuerID  string
	candidate string
	email     string
	badge     string // expires after 365 days
	others    []string
}

func newFixture(t testing.TB, db *gorm.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: db, clock: &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}, email: "ana@example.org"}
	f.svc = credential.NewService(db, f.clock.Now, testBaseURL, testSigningKey(), credential.WithRSAKey(testRSAKey()))
	var err error
	if f.issuerID, err = f.svc.EnsureIssuer(ctx, credential.IssuerInput{Name: "Test Board", URL: "https://board.example"}); err != nil {
		t.Fatal(err)
	}
	f.candidate = f.user(t, f.email)
	f.badge = f.achievement(t, "abg", 365)
	for i := range 3 {
		f.others = append(f.others, f.achievement(t, fmt.Sprintf("skill-%d", i), 0))
	}
	return f
}

func (f *fixture) user(t testing.TB, email string) string {
	t.Helper()
	id := uuid.NewString()
	if err := f.db.Exec("INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)", id, email, email, f.clock.Now()).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) achievement(t testing.TB, slug string, validityDays int) string {
	t.Helper()
	id, err := f.svc.CreateAchievementAs(context.Background(), "manager", f.issuerID, credential.AchievementInput{
		Slug: slug, Name: "Achievement " + slug, Description: "Shows " + slug + ".", Criteria: "Pass the exam.",
		AchievementType: "Badge", Level: "Foundation", Color: "#1f6f8b", ValidityDays: validityDays,
		Alignments: []credential.Alignment{{TargetName: "Skill " + slug, TargetURL: "https://skills.example/" + slug}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func testStandard() *credential.Standard {
	return &credential.Standard{ID: testBaseURL + "/achievements/abg#standard-v2", Version: 2, Method: "modified Angoff", Panelists: 8,
		ScaleName: "Scaled score", ScaleMin: 200, ScaleMax: 800, Cut: 500, CutSE: 11.2, Reliability: 0.91, DecisionConsistency: 0.9,
		ClassificationAccuracy: ptr(0.94), FormID: "form-a", ApprovedBy: "Dana Program", ApprovedAt: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)}
}

func (f *fixture) issue(t testing.TB, key, achievementID string, score float64) credential.Credential {
	t.Helper()
	c, err := f.svc.Issue(context.Background(), credential.IssueRequest{Key: key, AchievementID: achievementID, RecipientID: f.candidate,
		RecipientEmail: f.email, Score: &score, Standard: testStandard(), Actor: "system:test"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func doc(t testing.TB, c credential.Credential) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Document, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestIssueCarriesStandardStatusAndExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		c := f.issue(t, "attempt:1", f.badge, 612)
		d := doc(t, c)
		if err := schema.Validate(d); err != nil {
			t.Errorf("issued credential fails its schemas: %v", err)
		}
		if got := d["validUntil"]; got != "2027-03-02T10:00:00Z" {
			t.Errorf("validUntil = %v, want 365 days after issue", got)
		}
		if c.ValidUntil == nil || !c.ValidUntil.Equal(time.Date(2027, 3, 2, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("stored ValidUntil = %v", c.ValidUntil)
		}
		entry, ok := d["credentialStatus"].(map[string]any)
		if !ok || entry["statusPurpose"] != "revocation" || !strings.HasPrefix(entry["statusListCredential"].(string), testBaseURL+"/status-lists/") {
			t.Errorf("credentialStatus = %#v, want one revocation entry of this issuer", d["credentialStatus"])
		}
		std := d["credentialSubject"].(map[string]any)["passingStandard"].(map[string]any)
		if std["cutScore"] != "500" || std["method"] != "modified Angoff" || std["classificationAccuracy"] != "0.94" || std["scoreScale"] != "Scaled score" {
			t.Errorf("passingStandard = %v", std)
		}
		rd := d["credentialSubject"].(map[string]any)["achievement"].(map[string]any)["resultDescription"].([]any)[0].(map[string]any)
		if rd["resultType"] != "ScaledScore" || rd["requiredValue"] != "500" || rd["valueMin"] != "200" || rd["valueMax"] != "800" {
			t.Errorf("resultDescription = %v", rd)
		}
		v := f.svc.Verify(context.Background(), c)
		if !v.Valid || v.State != credential.StateValid {
			t.Fatalf("fresh credential: %v", v)
		}
		for _, name := range []string{"format", "proof", "schema", "issuer key", "dates", "status"} {
			if !hasCheck(v, name, true) {
				t.Errorf("no passing %q check in %+v", name, v.Checks)
			}
		}
	})
}

func hasCheck(v credential.Verification, name string, passed bool) bool {
	for _, c := range v.Checks {
		if c.Name == name && c.Passed == passed {
			return true
		}
	}
	return false
}

// statusBit reads a credential's bit in the published list for purpose.
func statusBit(t *testing.T, f *fixture, c credential.Credential, purpose string) bool {
	t.Helper()
	entry := doc(t, c)["credentialStatus"].(map[string]any)
	if purpose == status.PurposeSuspension {
		entry = credential.SuspensionEntry(entry)
	}
	url := entry["statusListCredential"].(string)
	parts := strings.Split(strings.TrimPrefix(url, testBaseURL+"/status-lists/"), "/")
	list, err := f.svc.StatusListCredential(context.Background(), parts[0], parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := proof.Verify(list, func(string) (ed25519.PublicKey, error) { return testSigningKey().Public().(ed25519.PublicKey), nil }); err != nil {
		t.Fatalf("status list proof: %v", err)
	}
	set, err := status.Check(entry, list)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestSuspendReinstateRevoke(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		c := f.issue(t, "attempt:1", f.badge, 612)
		other := f.issue(t, "attempt:2", f.others[0], 700)

		if err := f.svc.Suspend(ctx, "manager", c.ID, " "); !errors.Is(err, valid.ErrInvalid) {
			t.Errorf("suspend without a reason: %v, want a validation error", err)
		}
		if err := f.svc.Suspend(ctx, "manager", c.ID, "proctoring review opened"); err != nil {
			t.Fatal(err)
		}
		if !statusBit(t, f, c, status.PurposeSuspension) || statusBit(t, f, c, status.PurposeRevocation) {
			t.Error("after suspension: want the suspension bit only")
		}
		if statusBit(t, f, other, status.PurposeSuspension) {
			t.Error("another credential's bit is set")
		}
		if v := f.svc.Verify(ctx, mustGet(t, f, c.ID)); v.Valid || v.State != credential.StateSuspended || !hasCheck(v, "status", false) {
			t.Errorf("suspended credential verifies as %v", v)
		}
		if err := f.svc.Reinstate(ctx, "manager", c.ID, "review cleared"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Reinstate(ctx, "manager", c.ID, "again"); !errors.Is(err, credential.ErrNotSuspended) {
			t.Errorf("reinstating an active credential: %v", err)
		}
		if v := f.svc.Verify(ctx, mustGet(t, f, c.ID)); !v.Valid {
			t.Errorf("reinstated credential: %v", v)
		}
		if err := f.svc.Revoke(ctx, "manager", c.ID, "invalidated after review"); err != nil {
			t.Fatal(err)
		}
		if !statusBit(t, f, c, status.PurposeRevocation) {
			t.Error("revocation bit not set")
		}
		got := mustGet(t, f, c.ID)
		if v := f.svc.Verify(ctx, got); v.Valid || v.State != credential.StateRevoked || !v.Revoked {
			t.Errorf("revoked credential verifies as %v", v)
		}
		if got.RevocationReason != "invalidated after review" || got.State(f.clock.Now()) != "revoked" {
			t.Errorf("stored revocation: %+v", got)
		}
		for _, op := range []func(context.Context, string, string, string) error{f.svc.Revoke, f.svc.Suspend, f.svc.Reinstate} {
			if err := op(ctx, "manager", c.ID, "x"); !errors.Is(err, credential.ErrRevoked) {
				t.Errorf("changing a revoked credential: %v, want ErrRevoked", err)
			}
		}
		records, err := audit.NewReader(db).List(ctx, "credential:"+c.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, r := range records {
			actions = append(actions, r.Action)
		}
		want := "credential.issue credential.suspend credential.reinstate credential.revoke"
		if got := strings.Join(reverse(actions), " "); got != want && strings.Join(actions, " ") != want {
			t.Errorf("audit trail %q, want %q", actions, want)
		}
	})
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}

func mustGet(t *testing.T, f *fixture, id string) credential.Credential {
	t.Helper()
	c, err := f.svc.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExpiryAndRenewal(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		first := f.issue(t, "attempt:1", f.badge, 612)
		soon, err := f.svc.Expiring(ctx, f.candidate, f.clock.Now().AddDate(0, 0, 400))
		if err != nil || len(soon) != 1 || soon[0].ID != first.ID {
			t.Fatalf("Expiring = %v, %v; want the badge", soon, err)
		}
		f.clock.Advance(366 * 24 * time.Hour)
		v := f.svc.Verify(ctx, first)
		if v.Valid || v.State != credential.StateExpired || !hasCheck(v, "dates", false) {
			t.Errorf("expired credential verifies as %v", v)
		}
		renewed := f.issue(t, "attempt:9", f.badge, 640)
		if renewed.Supersedes != first.ID {
			t.Errorf("renewal supersedes %q, want %q", renewed.Supersedes, first.ID)
		}
		if !strings.Contains(string(renewed.Document), first.URL) {
			t.Error("the renewed credential does not link the earlier one")
		}
		if v := f.svc.Verify(ctx, renewed); !v.Valid {
			t.Errorf("renewed credential: %v", v)
		}
	})
}

func TestReissueRevokesAndLinks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		old := f.issue(t, "attempt:1", f.badge, 512)
		next, err := f.svc.Reissue(ctx, "psychometrician", old.ID, "item 14 rekeyed", func(r *credential.IssueRequest) {
			s := 530.0
			r.Score = &s
		})
		if err != nil {
			t.Fatal(err)
		}
		if next.Supersedes != old.ID || !strings.Contains(string(next.Document), `"value":"530"`) {
			t.Errorf("re-issued credential: supersedes %q, document %s", next.Supersedes, next.Document)
		}
		got := mustGet(t, f, old.ID)
		if got.RevokedAt == nil || !strings.Contains(got.RevocationReason, "item 14 rekeyed") {
			t.Errorf("old credential after re-issue: %+v", got)
		}
		// Idempotent: the same re-issue returns the same credential.
		again, err := f.svc.Reissue(ctx, "psychometrician", old.ID, "item 14 rekeyed", nil)
		if err != nil || again.ID != next.ID {
			t.Errorf("second re-issue: %v, %v; want %s", again.ID, err, next.ID)
		}
	})
}

func TestPathwayRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		anyTwo := f.achievement(t, "any-two", 0)
		if err := f.svc.CreatePathwayRule(ctx, "manager", anyTwo, credential.PathwayRule{Kind: credential.AnyOf, N: 4, Achievements: f.others}); !errors.Is(err, valid.ErrInvalid) {
			t.Errorf("any 4 of 3: %v, want a validation error", err)
		}
		if err := f.svc.CreatePathwayRule(ctx, "manager", anyTwo, credential.PathwayRule{Kind: credential.AnyOf, N: 2, Achievements: f.others}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.CreatePathwayRule(ctx, "manager", anyTwo, credential.PathwayRule{Kind: credential.AllOf, Achievements: f.others}); !errors.Is(err, credential.ErrPathwayExists) {
			t.Errorf("a second pathway for one certificate: %v, want ErrPathwayExists", err)
		}
		if err := f.svc.CreatePathwayRule(ctx, "manager", f.badge, credential.PathwayRule{Kind: credential.AllOf, Achievements: []string{uuid.NewString()}}); !errors.Is(err, valid.ErrInvalid) {
			t.Errorf("a pathway naming no achievement: %v, want a validation error", err)
		}
		sets := f.achievement(t, "sets", 0)
		if err := f.svc.CreatePathwayRule(ctx, "manager", sets, credential.PathwayRule{Kind: credential.Sets,
			Sets: [][]string{{f.badge, f.others[2]}, {f.others[0], f.others[1]}}}); err != nil {
			t.Fatal(err)
		}
		f.issue(t, "attempt:1", f.others[0], 600)
		progress, err := f.svc.Progress(ctx, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		if len(progress) != 2 || progress[0].Complete || len(progress[0].Counted) != 1 || len(progress[0].Missing) != 1 {
			t.Fatalf("after one badge: %+v", progress)
		}
		f.issue(t, "attempt:2", f.others[1], 600)
		held, err := f.svc.HeldBy(ctx, f.candidate)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, c := range held {
			got[c.AchievementID]++
		}
		if got[anyTwo] != 1 || got[sets] != 1 {
			t.Errorf("after two badges the candidate holds %v; want both certificates once", got)
		}
		progress, _ = f.svc.Progress(ctx, f.candidate)
		for _, p := range progress {
			if !p.Complete {
				t.Errorf("pathway %s not complete: %+v", p.Certificate.Name, p)
			}
		}
		// Revoking a stacked badge revokes the certificates built on it.
		var badge string
		for _, c := range held {
			if c.AchievementID == f.others[0] {
				badge = c.ID
			}
		}
		if err := f.svc.Revoke(ctx, "manager", badge, "exam invalidated"); err != nil {
			t.Fatal(err)
		}
		held, _ = f.svc.HeldBy(ctx, f.candidate)
		for _, c := range held {
			if (c.AchievementID == anyTwo || c.AchievementID == sets) && (c.RevokedAt == nil || !strings.Contains(c.RevocationReason, "exam invalidated")) {
				t.Errorf("certificate %s after its badge was revoked: revoked %v, reason %q", c.AchievementID, c.RevokedAt, c.RevocationReason)
			}
		}
	})
}

func TestStatusIndexesAreDistinct(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t))
	seen := map[string]bool{}
	for i := range 40 {
		c := f.issue(t, fmt.Sprintf("attempt:%d", i), f.others[i%3], 600)
		e := doc(t, c)["credentialStatus"].(map[string]any)
		k := e["statusListCredential"].(string) + "#" + e["statusListIndex"].(string)
		if seen[k] {
			t.Fatalf("status entry %s used twice", k)
		}
		seen[k] = true
	}
}

// A status list takes new credentials until half its entries are in use;
// then a new list opens. Each instance reads its open list and counts its
// use at most once a minute and adds its own draws, so another instance's
// credentials are seen at the next count: a list overshoots by what others
// issue in that minute, never more.
func TestStatusListsRollOverWhenHalfFull(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		a := newFixture(t, db)
		b := &fixture{db: db, clock: a.clock, email: a.email, candidate: a.candidate, issuerID: a.issuerID, others: a.others}
		b.svc = credential.NewService(db, a.clock.Now, testBaseURL, testSigningKey())
		list := func(c credential.Credential) string {
			return doc(t, c)["credentialStatus"].(map[string]any)["statusListCredential"].(string)
		}
		first := list(a.issue(t, "a:1", a.others[0], 600))
		// Eight entries: full enough at four.
		if err := db.Exec("UPDATE status_lists SET length = 8").Error; err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if got := list(b.issue(t, fmt.Sprintf("b:%d", i), b.others[1], 600)); got != first {
				t.Fatalf("instance B's credential %d went to %s, want the open list %s", i+1, got, first)
			}
		}
		// Four in use; A counted one a moment ago and has not counted since.
		if got := list(a.issue(t, "a:2", a.others[2], 600)); got != first {
			t.Fatalf("within the minute A's count stands: its credential went to %s, want %s", got, first)
		}
		a.clock.Advance(61 * time.Second)
		second := list(a.issue(t, "a:3", a.others[0], 600))
		if second == first {
			t.Fatalf("after a recount of a list with 5 of 8 entries in use, A still issued into it")
		}
		if got := list(b.issue(t, "b:4", b.others[1], 600)); got != second {
			t.Fatalf("B issued into %s, want the new open list %s", got, second)
		}
	})
}

// A standard without an id is cited at its place on the achievement's page.
func TestIssueNamesTheStandardOnTheAchievementPage(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t))
	st := testStandard()
	st.ID = ""
	score := 640.0
	c, err := f.svc.Issue(context.Background(), credential.IssueRequest{Key: "attempt:no-standard-id", AchievementID: f.badge,
		RecipientID: f.candidate, RecipientEmail: f.email, Score: &score, Standard: st, Actor: "system:test"})
	if err != nil {
		t.Fatal(err)
	}
	want := testBaseURL + "/achievements/abg#standard-v2"
	var cited []string
	for _, e := range doc(t, c)["evidence"].([]any) {
		cited = append(cited, e.(map[string]any)["id"].(string))
	}
	if !slices.Contains(cited, want) {
		t.Errorf("evidence cites %v, want the standard at %s", cited, want)
	}
	if st.ID != "" {
		t.Errorf("Issue changed the caller's standard: id %q", st.ID)
	}
}
