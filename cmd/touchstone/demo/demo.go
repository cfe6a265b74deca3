// Package demo loads the demo program "Spreadsheet Skills" into an empty
// database, so that a fresh installation shows every delivery mode and
// item kind: seven accounts (one per role, and a second candidate with an
// accommodation), three fixed exams of 24 items with their badges, a
// simulated pilot history from which the 72 items are calibrated together
// (3PL, one θ scale), a modified-Angoff study per exam whose cut is
// approved, a certificate that stacks the three badges, an adaptive exam
// and an on-the-fly (LOFT) exam over the calibrated bank, and a short exam
// of two parallel forms holding one item of each of the seven kinds.
//
// The content (program, issuer, exams, items with their 3PL parameters,
// badges and certificate) is spreadsheet.json and itemtypes.json,
// embedded. Everything the loader invents — option ids, pilot candidates
// and their answers, panels and their ratings — comes from one seed, so a
// seed always yields the same demo. Everything goes through the domain
// services; the demo writes no SQL.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// ErrNotEmpty is returned by Load when the database already holds a
// program: the demo is only loaded into an empty database.
var ErrNotEmpty = errors.New("demo: database is not empty")

//go:embed spreadsheet.json
var spreadsheetJSON []byte

// Deps are the services the demo is loaded through.
type Deps struct {
	Auth        *auth.Service
	Items       *items.Store
	Assess      *assess.Service
	Credentials *credential.Service
}

// Options tune Load.
type Options struct {
	// Password is the password of the seven demo accounts; required, and it
	// must pass auth.CheckPassword (12 characters, at most 72 bytes, not a
	// common password).
	Password string
	// Seed drives every random choice: option ids, pilot abilities,
	// answers and timestamps, panels and ratings.
	Seed uint64
	// HistoryPerExam is the number of simulated pilot candidates, each of
	// whom sits every exam once; zero means 1000.
	HistoryPerExam int
	// Now is the clock of the history: pilot attempts are spread over the
	// 120 days before Now, and the studies are dated Now. Nil means
	// time.Now.
	Now func() time.Time
}

// Account is a demo account that can sign in with Options.Password.
type Account struct {
	Email string
	Roles []auth.Role
}

// Summary tells what Load created, for the operator.
type Summary struct {
	Accounts []Account
	Exams    []string // titles, in delivery order
}

// DefaultHistoryPerExam is the number of pilot candidates when
// Options.HistoryPerExam is zero.
const DefaultHistoryPerExam = 1000

// HistoryDays is how far back the pilot history reaches.
const HistoryDays = 120

// MinimallyCompetentTheta is the ability, on the θ scale of the items' 3PL
// parameters, of the minimally competent candidate the simulated panels
// have in mind. With the demo items (mean b ≈ −0.3, c ≈ 0.21) it puts each
// Angoff cut between 13 and 14 of 24, so that 14 correct passes, and about
// 65% of the N(0, 1) pilot population passes.
const MinimallyCompetentTheta = -0.45

// The independent random streams of a seed: adding pilot candidates does
// not change option ids, nor panels and ratings.
const (
	streamContent uint64 = iota + 1
	streamHistory
	streamPanels
	streamDemographics
	streamDIF
)

func newRand(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// staff are the demo accounts: one per role, then a second candidate
// (AccommodatedEmail), who has an accommodation, and a standard-setting
// panel of three.
var staff = []struct {
	email, name string
	role        auth.Role
}{
	{"admin@example.com", "Samira Haddad", auth.Admin},
	{"manager@example.com", "Daniel Okoro", auth.ProgramManager},
	{"psychometrician@example.com", "Helena Lindqvist", auth.Psychometrician},
	{"proctor@example.com", "Luis Ortega", auth.Proctor},
	{"author@example.com", "Claire Dubois", auth.Author},
	{"candidate@example.com", "Jordan Lee", auth.Candidate},
	{AccommodatedEmail, "Riley Chen", auth.Candidate},
	{"panelist1@example.com", "Amara Nwosu", auth.Panelist},
	{"panelist2@example.com", "Tomás Ferreira", auth.Panelist},
	{"panelist3@example.com", "Mei Tanaka", auth.Panelist},
}

// AccommodatedEmail is the demo candidate granted extended time and extra
// breaks on the first exam (see Accommodation).
const AccommodatedEmail = "riley@example.com"

// Load fills an empty database with the demo program and returns what it
// created. It fails with ErrNotEmpty when a program exists already, and with
// a *valid.Error when o.Password is missing. Load is not atomic: an error
// part way leaves what was created before it, and the database should be
// discarded.
func Load(ctx context.Context, d Deps, o Options) (Summary, error) {
	if o.Password == "" {
		return Summary{}, valid.Errorf("password", "is required")
	}
	if o.HistoryPerExam < 0 {
		return Summary{}, valid.Errorf("history", "must not be negative")
	}
	if o.HistoryPerExam == 0 {
		o.HistoryPerExam = DefaultHistoryPerExam
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c, err := parseContent(spreadsheetJSON)
	if err != nil {
		return Summary{}, err
	}
	types, err := parseItemTypes(itemTypesJSON)
	if err != nil {
		return Summary{}, err
	}
	if programs, err := d.Assess.Programs(ctx); err != nil {
		return Summary{}, err
	} else if len(programs) > 0 {
		return Summary{}, ErrNotEmpty
	}

	l := loader{d: d, o: o, c: c, types: types, content: newRand(o.Seed, streamContent),
		history: newRand(o.Seed, streamHistory), panels: newRand(o.Seed, streamPanels), users: map[auth.Role]string{}}
	var sum Summary
	for _, s := range staff {
		u, err := d.Auth.CreateUser(ctx, auth.NewUser{Email: s.email, Name: s.name, Password: o.Password, Roles: []auth.Role{s.role}})
		if err != nil {
			return Summary{}, fmt.Errorf("demo: account %s: %w", s.email, err)
		}
		if _, ok := l.users[s.role]; !ok {
			l.users[s.role] = u.ID
		}
		if s.email == AccommodatedEmail {
			l.accommodated = u.ID
		}
		sum.Accounts = append(sum.Accounts, Account{Email: u.Email, Roles: u.Roles})
	}
	if err := l.load(ctx); err != nil {
		return Summary{}, err
	}
	for _, e := range c.Exams {
		sum.Exams = append(sum.Exams, e.Title)
	}
	sum.Exams = append(sum.Exams, c.Adaptive.Title, c.OnTheFly.Title, l.types.Title)
	return sum, nil
}

// loader carries the state of one Load.
type loader struct {
	d                        Deps
	o                        Options
	c                        content
	types                    itemTypesContent
	content, history, panels *rand.Rand
	users                    map[auth.Role]string // role → demo account id (the first of the role)
	accommodated             string               // the second candidate's id
}

// demoExam is an exam as created, with what the history and study need.
type demoExam struct {
	exam  assess.Exam
	items []items.Item
	irt   []psychometrics.Item3PL
	title string
}

func (l *loader) load(ctx context.Context) error {
	issuerID, err := l.d.Credentials.EnsureIssuer(ctx, credential.IssuerInput{Name: l.c.Issuer.Name, Description: l.c.Issuer.Description})
	if err != nil {
		return fmt.Errorf("demo: issuer: %w", err)
	}
	program, err := l.d.Assess.CreateProgram(ctx, assess.Program{Slug: l.c.Program.Slug, Name: l.c.Program.Name, Description: l.c.Program.Description})
	if err != nil {
		return fmt.Errorf("demo: program: %w", err)
	}
	exams := make([]demoExam, len(l.c.Exams))
	badges := make([]string, len(l.c.Exams))
	for i, ec := range l.c.Exams {
		exams[i], badges[i], err = l.createExam(ctx, issuerID, program, ec)
		if err != nil {
			return err
		}
	}
	if err := l.recordHistory(ctx, exams); err != nil {
		return err
	}
	if err := l.calibrate(ctx, exams); err != nil {
		return err
	}
	for _, e := range exams {
		if err := l.setStandard(ctx, e); err != nil {
			return err
		}
	}
	if err := l.createCertificate(ctx, issuerID, program, badges); err != nil {
		return err
	}
	if err := l.setEnemies(ctx, exams); err != nil {
		return err
	}
	bank := pool(exams)
	for _, create := range []func(context.Context, assess.Program, demoExam) (demoExam, error){l.createAdaptive, l.createOnTheFly} {
		e, err := create(ctx, program, bank)
		if err != nil {
			return err
		}
		if err := l.setStandard(ctx, e); err != nil {
			return err
		}
	}
	types, err := l.createItemTypes(ctx, program)
	if err != nil {
		return err
	}
	if err := l.setStandard(ctx, types); err != nil {
		return err
	}
	if err := l.accommodate(ctx, exams[0]); err != nil {
		return err
	}
	return l.assignProctor(ctx)
}

// assignProctor makes the demo proctor the proctor and reviewer of every
// exam: proctoring data is seen only by those assigned to its exam.
func (l *loader) assignProctor(ctx context.Context) error {
	all, err := l.d.Assess.Exams(ctx)
	if err != nil {
		return err
	}
	for _, e := range all {
		for _, role := range []string{assess.StaffProctor, assess.StaffReviewer} {
			if err := l.d.Assess.AssignStaff(ctx, l.users[auth.Admin], e.ID, l.users[auth.Proctor], role); err != nil {
				return fmt.Errorf("demo: staff of %s: %w", e.Title, err)
			}
		}
	}
	return nil
}

// createExam creates an exam's items, its badge and the exam, and returns
// the exam and the badge's achievement id.
func (l *loader) createExam(ctx context.Context, issuerID string, program assess.Program, ec examContent) (demoExam, string, error) {
	out := demoExam{title: ec.Title}
	for i, ic := range ec.Items {
		ids := optionIDs(l.content, len(ic.Options))
		opts := make([]items.Option, len(ic.Options))
		for j, text := range ic.Options {
			opts[j] = items.Option{ID: ids[j], Text: text}
		}
		it, err := l.d.Items.Create(ctx, l.users[auth.Author], program.ID, items.Content{Domain: ic.Domain, Stem: ic.Stem,
			Exhibit: codeBlock(ic.Exhibit), Options: opts, Key: ids[ic.Key], Rationale: ic.Rationale})
		if err != nil {
			return demoExam{}, "", fmt.Errorf("demo: %s item %d: %w", ec.Slug, i+1, err)
		}
		out.items = append(out.items, it)
		out.irt = append(out.irt, psychometrics.Item3PL{A: ic.IRT.A, B: ic.IRT.B, C: ic.IRT.C})
	}

	alignments := make([]credential.Alignment, len(ec.Domains))
	domains := make([]assess.Domain, len(ec.Domains))
	for i, dc := range ec.Domains {
		alignments[i] = credential.Alignment{TargetName: dc.Skill, TargetURL: l.d.Credentials.AchievementURL(ec.Slug) + "#skill-" + dc.Code,
			TargetDescription: dc.Description, TargetFramework: program.Name, TargetCode: dc.Code}
		domains[i] = assess.Domain{Code: dc.Code, Name: dc.Name, Description: dc.Description, Skill: dc.Skill}
	}
	badge, err := l.d.Credentials.CreateAchievement(ctx, issuerID, credential.AchievementInput{Slug: ec.Slug, Name: ec.Badge.Name,
		Description: ec.Badge.Description, Criteria: ec.Badge.Criteria, AchievementType: "Badge", Alignments: alignments,
		// Spreadsheet skills age: a badge is renewed by passing the exam again.
		Level: "Skill badge", Color: badgeColors[ec.Slug], ValidityDays: 730})
	if err != nil {
		return demoExam{}, "", fmt.Errorf("demo: %s badge: %w", ec.Slug, err)
	}

	itemIDs := make([]string, len(out.items))
	for i, it := range out.items {
		itemIDs[i] = it.ID
	}
	out.exam, err = l.d.Assess.CreateExam(ctx, assess.Exam{ProgramID: program.ID, Slug: ec.Slug, Title: ec.Title, Description: ec.Description,
		Duration: time.Duration(ec.DurationMinutes) * time.Minute, AchievementID: badge, Domains: domains, ItemIDs: itemIDs, Scale: l.c.Scale})
	if err != nil {
		return demoExam{}, "", fmt.Errorf("demo: %s exam: %w", ec.Slug, err)
	}
	return out, badge, nil
}

// badgeColors are the accents of the demo's badge images, by exam slug;
// an exam not listed gets the default.
var badgeColors = map[string]string{
	"formulas":     "#1f6f8b",
	"pivot-tables": "#2e7d4f",
	"charts":       "#b5541c",
}

// optionIDAlphabet is what option ids are made of: 8 characters of it give
// 36⁸ ≈ 2.8·10¹² ids.
const optionIDAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// optionIDs returns n distinct random option ids of 8 lowercase letters and
// digits, which say nothing of an option's position or correctness.
func optionIDs(rng *rand.Rand, n int) []string {
	ids := make([]string, 0, n)
	seen := make(map[string]bool, n)
	for len(ids) < n {
		var b [8]byte
		for i := range b {
			b[i] = optionIDAlphabet[rng.IntN(len(optionIDAlphabet))]
		}
		if id := string(b[:]); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// unansweredRate is the share of pilot responses left blank.
const unansweredRate = 0.01

// recordHistory creates the pilot candidates, draws their abilities from
// N(0, 1) and records one simulated attempt of every exam for each: a
// correct response under the 3PL model answers the key, an incorrect one a
// distractor chosen at random, and about 1% of items are left unanswered.
func (l *loader) recordHistory(ctx context.Context, exams []demoExam) error {
	n := l.o.HistoryPerExam
	pilots := make([]auth.NewUser, n)
	for i := range pilots {
		pilots[i] = auth.NewUser{Email: fmt.Sprintf("pilot-%04d@example.invalid", i+1), Name: fmt.Sprintf("Pilot candidate %04d", i+1),
			Roles: []auth.Role{auth.Candidate}, Simulated: true}
	}
	users, err := l.d.Auth.CreateUsers(ctx, pilots)
	if err != nil {
		return fmt.Errorf("demo: pilot candidates: %w", err)
	}
	theta := make([]float64, n)
	for i := range theta {
		theta[i] = l.history.NormFloat64()
	}
	language, err := l.recordDemographics(ctx, users)
	if err != nil {
		return err
	}
	planted := newRand(l.o.Seed, streamDIF)
	// Attempts start in the HistoryDays before now and are submitted after
	// 45–95% of the time allowed, so before now.
	now := l.o.Now().UTC().Truncate(time.Second)
	from := now.Add(-HistoryDays * 24 * time.Hour)
	for _, e := range exams {
		window := int64((HistoryDays*24*time.Hour - e.exam.Duration) / time.Second)
		x := psychometrics.Simulate3PL(l.history, theta, e.irt)
		past := make([]assess.PastAttempt, n)
		for i, u := range users {
			answers := make(map[string]string, len(e.items))
			for j, it := range e.items {
				if l.history.Float64() < unansweredRate {
					continue
				}
				correct := x.At(i, j) == 1
				if e.exam.ID == exams[0].exam.ID && j == DIFItem && language[i] == "other" && correct && planted.Float64() < difLoss {
					correct = false // the planted DIF: the item is harder for those whose first language is not English
				}
				answers[it.ID] = l.answer(it, correct)
			}
			started := from.Add(time.Duration(l.history.Int64N(window)) * time.Second)
			took := time.Duration((0.45 + 0.5*l.history.Float64()) * float64(e.exam.Duration)).Truncate(time.Second)
			past[i] = assess.PastAttempt{CandidateID: u.ID, StartedAt: started, SubmittedAt: started.Add(took), Answers: answers}
		}
		if err := l.d.Assess.RecordHistory(ctx, e.exam.ID, past, true); err != nil {
			return fmt.Errorf("demo: %s history: %w", e.exam.Slug, err)
		}
	}
	return nil
}

// DIFItem is the index, in the first exam, of the item whose wording is
// planted to be harder for pilot candidates whose first language is not
// English than for others of the same ability: the demo's DIF report
// flags it. difLoss is the share of their correct answers turned wrong.
const (
	DIFItem = 4
	difLoss = 0.45
)

// volunteerRate is the share of pilot candidates who answer the voluntary
// demographic questions.
const volunteerRate = 0.85

// recordDemographics records the pilot candidates' voluntary answers and
// returns each one's first-language answer ("" when not given).
func (l *loader) recordDemographics(ctx context.Context, users []auth.User) ([]string, error) {
	rng := newRand(l.o.Seed, streamDemographics)
	pick := func(values []string, weights []float64) string {
		u, acc := rng.Float64(), 0.0
		for i, w := range weights {
			if acc += w; u < acc {
				return values[i]
			}
		}
		return values[len(values)-1]
	}
	answers := map[string]map[string]string{}
	language := make([]string, len(users))
	for i, u := range users {
		if rng.Float64() >= volunteerRate {
			continue
		}
		a := map[string]string{
			"gender":         pick([]string{"woman", "man", "non_binary", assess.PreferNotToSay}, []float64{0.48, 0.47, 0.02, 0.03}),
			"age_band":       pick([]string{"under_25", "25_34", "35_44", "45_54", "55_plus"}, []float64{0.15, 0.35, 0.25, 0.15, 0.10}),
			"first_language": pick([]string{"english", "other", assess.PreferNotToSay}, []float64{0.55, 0.40, 0.05}),
			"region":         pick([]string{"africa", "americas", "asia", "europe", "oceania"}, []float64{0.15, 0.25, 0.25, 0.30, 0.05}),
		}
		answers[u.ID], language[i] = a, a["first_language"]
	}
	if err := l.d.Assess.ImportDemographics(ctx, "system:demo", answers); err != nil {
		return nil, fmt.Errorf("demo: demographics: %w", err)
	}
	return language, nil
}

// answer returns the key of it when correct, and otherwise one of its
// distractors at random.
func (l *loader) answer(it items.Item, correct bool) string {
	if correct {
		return it.Key
	}
	k := l.history.IntN(len(it.Options) - 1)
	for _, o := range it.Options {
		if o.ID == it.Key {
			continue
		}
		if k == 0 {
			return o.ID
		}
		k--
	}
	panic("demo: item without distractors") // items.Content.Validate guarantees two options
}

// createCertificate creates the certificate that stacks the badges, aligned
// to each of them, and its pathway.
func (l *loader) createCertificate(ctx context.Context, issuerID string, program assess.Program, badges []string) error {
	alignments := make([]credential.Alignment, len(l.c.Exams))
	for i, ec := range l.c.Exams {
		alignments[i] = credential.Alignment{TargetName: ec.Badge.Name, TargetURL: l.d.Credentials.AchievementURL(ec.Slug),
			TargetDescription: ec.Badge.Description, TargetFramework: program.Name, TargetCode: ec.Slug}
	}
	cert := l.c.Certificate
	id, err := l.d.Credentials.CreateAchievement(ctx, issuerID, credential.AchievementInput{Slug: cert.Slug, Name: cert.Name,
		Description: cert.Description, Criteria: cert.Criteria, AchievementType: "Certificate", Alignments: alignments,
		Level: "Certificate", Color: "#5b3c88"})
	if err != nil {
		return fmt.Errorf("demo: certificate: %w", err)
	}
	if err := l.d.Credentials.CreatePathway(ctx, id, badges); err != nil {
		return fmt.Errorf("demo: certificate pathway: %w", err)
	}
	return nil
}

// content is spreadsheet.json.
type content struct {
	Program struct {
		Slug        string `json:"slug"`
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"program"`
	Issuer struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"issuer"`
	Exams []examContent `json:"exams"`
	// Scale is the reporting scale of every calibrated exam: θ-based, so
	// that scaled scores compare across exams (the items are calibrated
	// together).
	Scale       assess.Scale    `json:"scale"`
	Adaptive    deliveryContent `json:"adaptive"`
	OnTheFly    deliveryContent `json:"on_the_fly"`
	Enemies     []enemyContent  `json:"enemies"`
	Certificate struct {
		Slug        string `json:"slug"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Criteria    string `json:"criteria"`
	} `json:"certificate"`
}

// deliveryContent describes an exam over the whole calibrated bank.
type deliveryContent struct {
	Slug            string  `json:"slug"`
	Title           string  `json:"title"`
	Description     string  `json:"description"`
	Instructions    string  `json:"instructions"`
	DurationMinutes int     `json:"duration_minutes"`
	Items           int     `json:"items,omitempty"`        // LOFT form length
	MaxExposure     float64 `json:"max_exposure,omitempty"` // LOFT exposure limit
}

// enemyContent is a pair of items of one exam, numbered from 1, that must
// not share a form.
type enemyContent struct {
	Exam   string `json:"exam"`
	Items  [2]int `json:"items"`
	Reason string `json:"reason"`
}

type examContent struct {
	Slug            string `json:"slug"`
	Title           string `json:"title"`
	Description     string `json:"description"`
	DurationMinutes int    `json:"duration_minutes"`
	Badge           struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Criteria    string `json:"criteria"`
	} `json:"badge"`
	Domains []struct {
		Code        string `json:"code"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Skill       string `json:"skill"`
	} `json:"domains"`
	Items []itemContent `json:"items"`
}

type itemContent struct {
	Domain    string   `json:"domain"`
	Stem      string   `json:"stem"`
	Exhibit   string   `json:"exhibit"`
	Options   []string `json:"options"`
	Key       int      `json:"key"` // index into Options
	Rationale string   `json:"rationale"`
	IRT       struct {
		A float64 `json:"a"`
		B float64 `json:"b"`
		C float64 `json:"c"`
	} `json:"irt"`
}

// parseContent decodes and checks the demo content: unknown fields, keys
// outside the options, items of unknown domains and impossible 3PL
// parameters are errors.
func parseContent(data []byte) (content, error) {
	var c content
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return content{}, fmt.Errorf("demo: content: %w", err)
	}
	if len(c.Exams) == 0 {
		return content{}, errors.New("demo: content: no exams")
	}
	itemsOf := map[string]int{}
	for _, e := range c.Exams {
		itemsOf[e.Slug] = len(e.Items)
	}
	for i, en := range c.Enemies {
		n := itemsOf[en.Exam]
		if en.Items[0] < 1 || en.Items[0] > n || en.Items[1] < 1 || en.Items[1] > n || en.Items[0] == en.Items[1] {
			return content{}, fmt.Errorf("demo: content: enemy pair %d: items %v are not two items of exam %q", i+1, en.Items, en.Exam)
		}
	}
	for _, e := range c.Exams {
		codes := map[string]bool{}
		for _, d := range e.Domains {
			codes[d.Code] = true
		}
		for i, it := range e.Items {
			switch {
			case !codes[it.Domain]:
				return content{}, fmt.Errorf("demo: content: %s item %d: unknown domain %q", e.Slug, i+1, it.Domain)
			case it.Key < 0 || it.Key >= len(it.Options):
				return content{}, fmt.Errorf("demo: content: %s item %d: key %d outside its %d options", e.Slug, i+1, it.Key, len(it.Options))
			case !(it.IRT.A > 0) || !(it.IRT.C >= 0 && it.IRT.C < 1):
				return content{}, fmt.Errorf("demo: content: %s item %d: impossible 3PL parameters", e.Slug, i+1)
			}
		}
	}
	return c, nil
}

// codeBlock fences a plain-text exhibit (a worksheet laid out with
// spaces), so that Markdown shows it in a fixed-width font, as written.
func codeBlock(text string) string {
	if strings.TrimSpace(text) == "" {
		return ""
	}
	return "```text\n" + strings.TrimRight(text, "\n") + "\n```"
}
