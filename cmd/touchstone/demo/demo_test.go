package demo_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gonum.org/v1/gonum/mat"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/cmd/touchstone/demo"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
	"github.com/touchstone-assess/touchstone/web/auth"
)

const password = "demo-password-for-tests"

var now = time.Date(2026, time.March, 12, 9, 30, 0, 0, time.UTC)

func clock() time.Time { return now }

// deps wires the services as cmd/touchstone does, with a fixed clock and key
// and the cheapest bcrypt cost.
func deps(db *gorm.DB) demo.Deps {
	bank := items.NewStore(db, clock)
	a := auth.NewService(db, kv.NewMemory(clock), clock, auth.Limits{})
	a.Cost = bcrypt.MinCost
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	return demo.Deps{
		Auth:        a,
		Items:       bank,
		Assess:      assess.NewService(db, bank, clock),
		Credentials: credential.NewService(db, clock, "http://127.0.0.1:8080", ed25519.NewKeyFromSeed(seed)),
	}
}

func load(tb testing.TB, d demo.Deps, seed uint64, history int) demo.Summary {
	tb.Helper()
	sum, err := demo.Load(context.Background(), d, demo.Options{Password: password, Seed: seed, HistoryPerExam: history, Now: clock})
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return sum
}

var optionID = regexp.MustCompile(`^[a-z0-9]{8}$`)

func TestLoad(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		d := deps(db)
		const history = 1000
		start := time.Now()
		sum := load(t, d, 1, history)
		t.Logf("Load took %v", time.Since(start).Round(time.Millisecond))

		if got, want := sum.Exams, []string{"Formulas", "Pivot Tables", "Charts", "Spreadsheet Skills — Adaptive",
			"Spreadsheet Skills — On the fly", "Spreadsheet Skills — Item types"}; !slices.Equal(got, want) {
			t.Errorf("Summary.Exams = %q, want %q", got, want)
		}
		if len(sum.Accounts) != 10 { // one per role, a second candidate and a panel of three
			t.Fatalf("Summary.Accounts has %d accounts, want 10", len(sum.Accounts))
		}
		users := map[auth.Role]auth.User{}
		var riley auth.User
		for _, acc := range sum.Accounts {
			sess, err := d.Auth.Login(ctx, acc.Email, password, "192.0.2.1")
			if err != nil {
				t.Fatalf("Login(%s): %v", acc.Email, err)
			}
			if !slices.Equal(sess.User.Roles, acc.Roles) || len(acc.Roles) != 1 {
				t.Errorf("%s has roles %v, summary says %v", acc.Email, sess.User.Roles, acc.Roles)
			}
			if acc.Email == demo.AccommodatedEmail {
				riley = sess.User
			} else {
				users[acc.Roles[0]] = sess.User
			}
		}
		if riley.ID == "" || !slices.Equal(riley.Roles, []auth.Role{auth.Candidate}) {
			t.Fatalf("no second candidate %s: %+v", demo.AccommodatedEmail, riley)
		}
		for _, r := range auth.Roles {
			if _, ok := users[r]; !ok {
				t.Errorf("no demo account with role %s", r)
			}
		}

		exams, err := d.Assess.Exams(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(exams) != 6 {
			t.Fatalf("%d exams, want 6", len(exams))
		}
		// Exams come back by creation time, then title: all were created
		// at the fixed clock's now.
		bySlug := map[string]assess.Exam{}
		for _, e := range exams {
			bySlug[e.Slug] = e
		}
		fixed := []assess.Exam{bySlug["formulas"], bySlug["pivot-tables"], bySlug["charts"]} // content order
		adaptive, loft, types := bySlug["adaptive"], bySlug["on-the-fly"], bySlug["item-types"]
		for _, e := range fixed {
			t.Run(e.Slug, func(t *testing.T) {
				checkExam(t, d, e, users, history)
			})
		}
		t.Run("calibration", func(t *testing.T) { checkCalibration(t, d, fixed, history) })
		t.Run("dif", func(t *testing.T) { checkPlantedDIF(t, d, fixed) })
		t.Run(adaptive.Slug, func(t *testing.T) { checkAdaptive(t, d, adaptive, fixed, users[auth.Candidate]) })
		t.Run(loft.Slug, func(t *testing.T) { checkLOFT(t, d, loft, fixed, users[auth.Candidate], riley) })
		t.Run(types.Slug, func(t *testing.T) { checkItemTypes(t, d, types, users[auth.Candidate]) })
		t.Run("accommodation", func(t *testing.T) { checkAccommodation(t, d, fixed[0], riley, users[auth.ProgramManager]) })
		t.Run("proctor", func(t *testing.T) {
			for _, e := range exams {
				for _, role := range []string{assess.StaffProctor, assess.StaffReviewer} {
					if ok, err := d.Assess.IsStaff(ctx, users[auth.Proctor].ID, e.ID, role); err != nil || !ok {
						t.Errorf("the demo proctor is %s of %s: %v (err %v), want true", role, e.Slug, ok, err)
					}
				}
			}
		})

		// The three badges stack into the certificate.
		candidate := users[auth.Candidate]
		for _, e := range fixed {
			if _, err := d.Credentials.Issue(ctx, credential.IssueRequest{Key: "test:" + e.Slug, AchievementID: e.AchievementID,
				RecipientID: candidate.ID, RecipientEmail: candidate.Email, Actor: "test"}); err != nil {
				t.Fatalf("Issue %s badge: %v", e.Slug, err)
			}
		}
		held, err := d.Credentials.HeldBy(ctx, candidate.ID)
		if err != nil {
			t.Fatal(err)
		}
		var certificates []string
		for _, c := range held {
			a, err := d.Credentials.Achievement(ctx, c.AchievementID)
			if err != nil {
				t.Fatal(err)
			}
			if a.AchievementType == "Certificate" {
				certificates = append(certificates, a.Name)
				if len(a.Alignments) != 3 {
					t.Errorf("certificate has %d alignments, want one per badge", len(a.Alignments))
				}
			}
		}
		if len(held) != 4 || !slices.Equal(certificates, []string{"Spreadsheet Analyst"}) {
			t.Errorf("after three badges the candidate holds %d credentials with certificates %q, want 4 with [Spreadsheet Analyst]", len(held), certificates)
		}

		if _, err := demo.Load(ctx, d, demo.Options{Password: password, Seed: 1, Now: clock}); !errors.Is(err, demo.ErrNotEmpty) {
			t.Errorf("Load into a loaded database: err = %v, want ErrNotEmpty", err)
		}
	})
}

func checkExam(t *testing.T, d demo.Deps, e assess.Exam, users map[auth.Role]auth.User, history int) {
	ctx := context.Background()
	if len(e.ItemIDs) != 24 {
		t.Errorf("%d items, want 24", len(e.ItemIDs))
	}
	if n := len(e.Domains); n < 2 || n > 3 {
		t.Errorf("%d domains, want 2 or 3", n)
	}
	bank, err := d.Items.Current(ctx, e.ItemIDs)
	if err != nil {
		t.Fatal(err)
	}
	keyAt := map[int]int{}
	for _, it := range bank {
		for i, o := range it.Options {
			if !optionID.MatchString(o.ID) {
				t.Errorf("item %s: option id %q is not 8 lowercase letters or digits", it.ID, o.ID)
			}
			if o.ID == it.Key {
				keyAt[i]++
			}
		}
	}
	if len(keyAt) < 2 {
		t.Errorf("the key is always at the same position: %v", keyAt)
	}

	badge, err := d.Credentials.Achievement(ctx, e.AchievementID)
	if err != nil {
		t.Fatal(err)
	}
	if badge.AchievementType != "Badge" || len(badge.Alignments) != len(e.Domains) {
		t.Errorf("badge %q: type %q with %d alignments, want Badge with %d", badge.Name, badge.AchievementType, len(badge.Alignments), len(e.Domains))
	}
	for i, al := range badge.Alignments {
		if want := d.Credentials.AchievementURL(e.Slug) + "#skill-" + e.Domains[i].Code; al.TargetURL != want || al.TargetName != e.Domains[i].Skill {
			t.Errorf("alignment %d = %+v, want target %s named after the skill", i, al, want)
		}
	}

	std, err := d.Assess.ApprovedStandard(ctx, e.ID)
	if err != nil {
		t.Fatalf("ApprovedStandard: %v", err)
	}
	study, err := d.Assess.Study(ctx, std.StudyID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(study.Title, e.Title+" — modified-Angoff study, ") || len(study.Panelists) != 8 || std.Panelists != 8 {
		t.Errorf("study %q with %d panelists, standard from %d; want 8", study.Title, len(study.Panelists), std.Panelists)
	}
	if std.ApprovedBy != users[auth.ProgramManager].ID || std.RecommendedCut == nil || *std.RecommendedCut != std.Cut {
		t.Errorf("standard approved by %s from recommendation %v, want the manager adopting the panel's cut", std.ApprovedBy, std.RecommendedCut)
	}
	if study.Status != assess.StudyClosed || study.CurrentRound != 2 || study.ReleasedRound != 2 || study.Panelists[0].SubmittedRound != 2 {
		t.Errorf("study %+v, want two released rounds, submitted, and closed", study)
	}
	if std.Cut < 12 || std.Cut > 19 {
		t.Errorf("cut = %.2f, want 12 to 19", std.Cut)
	}
	if !(std.CutSE > 0) {
		t.Errorf("cut SE = %v, want > 0", std.CutSE)
	}
	if !(std.Reliability > 0.6) {
		t.Errorf("alpha = %v, want > 0.6", std.Reliability)
	}
	if !(std.DecisionConsistency > 0.5 && std.DecisionConsistency < 1) {
		t.Errorf("decision consistency = %v, want in (0.5, 1)", std.DecisionConsistency)
	}
	ratings, _, _, err := d.Assess.StudyRatings(ctx, study.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range ratings.RawMatrix().Data {
		if v < 0.05 || v > 0.95 || math.Abs(v*20-math.Round(v*20)) > 1e-9 {
			t.Errorf("rating %v is not a multiple of 0.05 in [0.05, 0.95]", v)
			break
		}
	}

	x, _, err := d.Assess.ResponseMatrix(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if x == nil {
		t.Fatal("no pilot history")
	}
	if n, _ := x.Dims(); n != history {
		t.Fatalf("response matrix has %d rows, want %d", n, history)
	}
	pass := passRate(x, std.Cut)
	if pass < 0.5 || pass > 0.8 {
		t.Errorf("pilot pass rate at the cut %.2f = %.3f, want 0.5 to 0.8", std.Cut, pass)
	}
	t.Logf("cut %.2f/24 (SE %.2f), pilot pass rate %.3f, alpha %.3f, decision consistency %.3f",
		std.Cut, std.CutSE, pass, std.Reliability, std.DecisionConsistency)

	// A candidate has one attempt open at a time: submit it, so that the
	// next exam can start.
	a, err := d.Assess.Start(ctx, e.ID, users[auth.Candidate].ID)
	if err != nil {
		t.Fatalf("candidate cannot start %s: %v", e.Title, err)
	}
	if _, err := d.Assess.Submit(ctx, a.ID, "candidate"); err != nil {
		t.Errorf("candidate cannot submit %s: %v", e.Title, err)
	}
}

// passRate returns the share of rows of x whose sum is at least cut.
func passRate(x *mat.Dense, cut float64) float64 {
	n, _ := x.Dims()
	var passed int
	for i := range n {
		if mat.Sum(x.RowView(i)) >= cut {
			passed++
		}
	}
	return float64(passed) / float64(n)
}

// snapshot is what a seed decides of a demo: item content with option ids,
// the final-round ratings and the pilot scores of every exam.
type snapshot struct {
	content []items.Content
	ratings []float64
	scores  []float64
}

func takeSnapshot(t *testing.T, d demo.Deps) snapshot {
	t.Helper()
	ctx := context.Background()
	exams, err := d.Assess.Exams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot
	for _, e := range exams {
		bank, err := d.Items.Current(ctx, e.ItemIDs)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range bank {
			s.content = append(s.content, it.Content)
		}
		std, err := d.Assess.ApprovedStandard(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Panelists come back ordered by name, which the seed also decides.
		r, _, _, err := d.Assess.StudyRatings(ctx, std.StudyID)
		if err != nil {
			t.Fatal(err)
		}
		s.ratings = append(s.ratings, r.RawMatrix().Data...)
		x, _, err := d.Assess.ResponseMatrix(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if x == nil {
			continue // no pilot history: the exams delivered from the bank
		}
		n, _ := x.Dims()
		for i := range n {
			s.scores = append(s.scores, mat.Sum(x.RowView(i)))
		}
	}
	return s
}

func TestLoadIsSeeded(t *testing.T) {
	snap := func(seed uint64) snapshot {
		d := deps(dbtest.SQLite(t))
		load(t, d, seed, 25)
		return takeSnapshot(t, d)
	}
	a, b, other := snap(7), snap(7), snap(8)

	if !slices.EqualFunc(a.content, b.content, equalContent) {
		t.Error("the same seed gave different item content or option ids")
	}
	if !slices.Equal(a.ratings, b.ratings) {
		t.Error("the same seed gave different ratings")
	}
	if !slices.Equal(a.scores, b.scores) {
		t.Error("the same seed gave different pilot scores")
	}
	if slices.EqualFunc(a.content, other.content, equalContent) {
		t.Error("another seed gave the same option ids")
	}
}

func equalContent(x, y items.Content) bool {
	return x.Domain == y.Domain && x.Stem == y.Stem && x.Exhibit == y.Exhibit && x.Key == y.Key &&
		x.Rationale == y.Rationale && slices.Equal(x.Options, y.Options)
}

func TestLoadNeedsPassword(t *testing.T) {
	d := deps(dbtest.SQLite(t))
	_, err := demo.Load(context.Background(), d, demo.Options{Seed: 1, Now: clock})
	if !errors.Is(err, valid.ErrInvalid) {
		t.Errorf("Load without password: err = %v, want a validation error", err)
	}
}

// BenchmarkLoad loads the full demo (1000 pilot candidates) into a fresh
// SQLite database per iteration.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		d := deps(dbtest.SQLite(b))
		b.StartTimer()
		load(b, d, 1, demo.DefaultHistoryPerExam)
	}
}

// checkPlantedDIF: the pilot candidates' voluntary first-language answers
// find the item planted to be harder for those whose first language is not
// English (ETS class B or C), and no more than one other item of the first
// exam (class C is expected of none).
func checkPlantedDIF(t *testing.T, d demo.Deps, fixed []assess.Exam) {
	rep, err := d.Assess.DIF(context.Background(), fixed[0].ID, "first_language", "english", "other")
	if err != nil {
		t.Fatal(err)
	}
	if rep.NReference < 300 || rep.NFocal < 200 {
		t.Fatalf("groups of %d and %d, want about 470 and 340 of 1000", rep.NReference, rep.NFocal)
	}
	others := 0
	for j, it := range rep.Items {
		switch {
		case j == demo.DIFItem && it.Class != psychometrics.DIFClassB && it.Class != psychometrics.DIFClassC:
			t.Errorf("planted item %d: class %v (MH D-DIF %.2f), want B or C", j, it.Class, it.DeltaMH)
		case j != demo.DIFItem && it.Class == psychometrics.DIFClassC:
			t.Errorf("item %d: class C (MH D-DIF %.2f) without planted DIF", j, it.DeltaMH)
		case j != demo.DIFItem && it.Class == psychometrics.DIFClassB:
			others++
		}
	}
	if others > 1 {
		t.Errorf("%d unplanted items in class B, want at most 1", others)
	}
}
