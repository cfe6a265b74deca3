package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// The pages a person sees. Each handler binds its parameters, calls the
// domain, gathers a view model and renders templates/<name>.html; errors go
// to handleError, which renders error.html for page requests. Answer keys
// and rationales appear on one page only: authoring (pageItems).

// Active reports whether the page is at or under one of prefixes, for the
// navigation's aria-current.
func (p page) Active(prefixes ...string) bool {
	for _, pre := range prefixes {
		if p.Path == pre || strings.HasPrefix(p.Path, pre+"/") {
			return true
		}
	}
	return false
}

// Title is the heading of the error page for its status.
func (e pageError) Title() string {
	switch e.Status {
	case fiber.StatusNotFound:
		return "We couldn’t find that page"
	case fiber.StatusForbidden:
		return "You don’t have access to this page"
	case fiber.StatusConflict:
		return "That can’t be done right now"
	case fiber.StatusTooManyRequests:
		return "Too many requests"
	case fiber.StatusBadRequest, fiber.StatusUnprocessableEntity:
		return "Something in the request isn’t right"
	}
	if e.Status >= 500 {
		return "Something went wrong on our side"
	}
	return "Something went wrong"
}

// Home, sign-in and sign-out.

type homeData struct {
	VerifyInput string // what was typed in the "verify a credential" box
	VerifyError string
	Exams       []examCard // signed in
	Badges      int        // credentials held, for candidates
	Live        int        // attempts in progress, for proctors
	Incidents   int        // incidents in the live attempts, for proctors
	Chain       string     // audit chain "intact" or "broken", for admins
}

func (s *Server) pageHome(c *fiber.Ctx) error {
	if q := strings.TrimSpace(c.Query("credential")); q != "" {
		if id, ok := credentialIDFrom(q); ok {
			return c.Redirect("/credentials/"+id, fiber.StatusSeeOther)
		}
		c.Status(fiber.StatusUnprocessableEntity)
		return s.render(c, "home", homeData{VerifyInput: q,
			VerifyError: "That is not a credential link or id. A credential id looks like 3f2b…-…-…, at the end of the credential’s link."})
	}
	sess := session(c)
	if sess == nil {
		return s.render(c, "home", homeData{})
	}
	ctx, u := c.UserContext(), sess.User
	var d homeData
	var err error
	if d.Exams, err = s.examCards(ctx, u); err != nil {
		return err
	}
	if u.Has(auth.Candidate) {
		held, err := s.cfg.Credentials.HeldBy(ctx, u.ID)
		if err != nil {
			return err
		}
		d.Badges = len(held)
	}
	if u.Has(proctors...) {
		rows, err := s.proctorRows(c)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Attempt.Status == assess.InProgress {
				d.Live++
				d.Incidents += r.Summary.Incidents
			}
		}
	}
	if u.Has(auth.Admin) {
		if d.Chain, err = s.auditChain(ctx); err != nil {
			return err
		}
	}
	return s.render(c, "home", d)
}

// credentialIDFrom finds a credential id in what a visitor typed: the id
// itself or its link.
func credentialIDFrom(q string) (string, bool) {
	q = strings.TrimRight(q, "/")
	if i := strings.LastIndex(q, "/"); i >= 0 {
		q = q[i+1:]
	}
	id, err := uuid.Parse(q)
	if err != nil {
		return "", false
	}
	return id.String(), true
}

type loginData struct {
	Email string
	Next  string
	Error string
}

func (s *Server) pageLogin(c *fiber.Ctx) error {
	next := localPath(c.Query("next"))
	if session(c) != nil {
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	return s.render(c, "login", loginData{Next: next})
}

func (s *Server) postLogin(c *fiber.Ctx) error {
	d := loginData{Email: strings.TrimSpace(c.FormValue("email")), Next: localPath(c.FormValue("next"))}
	password := c.FormValue("password")
	if d.Email == "" || password == "" {
		d.Error = "Enter your email address and your password."
		c.Status(fiber.StatusUnprocessableEntity)
		return s.render(c, "login", d)
	}
	sess, err := s.cfg.Auth.Login(c.UserContext(), d.Email, password, c.IP())
	switch {
	case errors.Is(err, auth.ErrBadLogin):
		d.Error = "That email and password don’t match an account. Check them and try again."
		c.Status(fiber.StatusUnauthorized)
		return s.render(c, "login", d)
	case errors.Is(err, auth.ErrRateLimited):
		d.Error = "Too many sign-in attempts. For your security, wait a few minutes before trying again."
		c.Status(fiber.StatusTooManyRequests)
		return s.render(c, "login", d)
	case err != nil:
		return err
	}
	// Signing in again in the same browser replaces its session rather
	// than leaving the old one alive behind the new cookie.
	if old := session(c); old != nil {
		if err := s.cfg.Auth.Logout(c.UserContext(), old.Token); err != nil {
			return err
		}
	}
	s.setSessionCookie(c, sess)
	return c.Redirect(d.Next, fiber.StatusSeeOther)
}

func (s *Server) postLogout(c *fiber.Ctx) error {
	if err := s.cfg.Auth.Logout(c.UserContext(), session(c).Token); err != nil {
		return err
	}
	s.clearSessionCookie(c)
	return c.Redirect("/", fiber.StatusSeeOther)
}

// Exams.

// examCard is an exam as the exam list and the dashboard show it.
type examCard struct {
	Exam     assess.Exam
	Standard *assess.Standard // the approved standard; nil while there is none
	Open     *assess.Attempt  // the candidate's attempt in progress
	Attempts []pastAttempt    // the candidate's other attempts, newest first
}

// pastAttempt is a candidate's attempt with its result once scored.
type pastAttempt struct {
	Attempt assess.Attempt
	Result  *assess.Result
}

// Minutes is the exam's time limit in whole minutes.
func (e examCard) Minutes() int { return int(e.Exam.Duration / time.Minute) }

// PassMark reads "15 of 24", or "" without an approved standard.
func (e examCard) PassMark() string {
	if e.Standard == nil {
		return ""
	}
	return passMark(e.Standard.Cut, e.Standard.MaxScore)
}

// Passed reports whether any of the candidate's attempts passed.
func (e examCard) Passed() bool {
	for _, a := range e.Attempts {
		if a.Result != nil && a.Result.Passed {
			return true
		}
	}
	return false
}

// passMark is the number of points that passes (a pass is score ≥ cut,
// and scores are whole points) out of the maximum.
func passMark(cut, maxScore float64) string {
	return fmt.Sprintf("%d of %d", pointsToPass(cut), int(math.Round(maxScore)))
}

func pointsToPass(cut float64) int { return int(math.Ceil(cut - 1e-9)) }

func (s *Server) examCards(ctx context.Context, u auth.User) ([]examCard, error) {
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return nil, err
	}
	var mine []assess.Attempt
	if u.Has(auth.Candidate) {
		if mine, err = s.cfg.Assess.AttemptsOf(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	now := s.cfg.Now()
	cards := make([]examCard, 0, len(exams))
	for _, e := range exams {
		card := examCard{Exam: e}
		std, err := s.cfg.Assess.ApprovedStandard(ctx, e.ID)
		switch {
		case err == nil:
			card.Standard = &std
		case !errors.Is(err, assess.ErrNoStandard):
			return nil, err
		}
		for _, a := range mine {
			if a.ExamID != e.ID {
				continue
			}
			if a.Status == assess.InProgress && now.Before(a.Deadline) && card.Open == nil {
				open := a
				card.Open = &open
				continue
			}
			p := pastAttempt{Attempt: a}
			if a.Status == assess.Submitted {
				r, err := s.cfg.Assess.Result(ctx, a.ID)
				switch {
				case err == nil:
					p.Result = &r
				case !errors.Is(err, assess.ErrConflict):
					return nil, err
				}
			}
			card.Attempts = append(card.Attempts, p)
		}
		cards = append(cards, card)
	}
	return cards, nil
}

type examsData struct {
	Cards     []examCard
	View      string // "", "statistics", "standards" or "authoring": what the list is for
	Candidate bool
}

func (s *Server) pageExams(c *fiber.Ctx) error {
	u := currentUser(c)
	cards, err := s.examCards(c.UserContext(), u)
	if err != nil {
		return err
	}
	view := c.Query("view")
	switch {
	case (view == "statistics" || view == "standards") && u.Has(analysts...):
	case view == "authoring" && u.Has(authors...):
	default:
		view = ""
	}
	return s.render(c, "exams", examsData{Cards: cards, View: view, Candidate: u.Has(auth.Candidate)})
}

func (s *Server) postStartExam(c *fiber.Ctx) error {
	a, err := s.cfg.Assess.Start(c.UserContext(), c.Params("id"), currentUser(c).ID)
	if err != nil {
		return err
	}
	s.notifyConsoleAttempt(c.UserContext(), a, "started")
	return c.Redirect("/attempts/"+a.ID, fiber.StatusSeeOther)
}

// The exam player.

type playerData struct {
	Attempt    assess.Attempt
	Exam       assess.Exam
	Questions  []assess.Question
	First      playerQuestion
	ServerTime time.Time
	Timing     assess.Timing // the clock at ServerTime: deadline, paused, break left
}

// playerQuestion is the first question as the server-rendered player shows
// it before its script runs: the question with its rendered stem, exhibit
// and options, and the chosen option of a choice answer.
type playerQuestion struct {
	assess.Question
	Stem    template.HTML
	Exhibit template.HTML
	Options []playerOption
	Answer  *string // the chosen option id; nil for none (and for kinds without choices)
}

// playerOption is a choice as the player shows it.
type playerOption struct {
	ID   string
	Text template.HTML
}

func newPlayerQuestion(q assess.Question) playerQuestion {
	pq := playerQuestion{Question: q, Stem: q.Content.Stem, Exhibit: q.Content.Exhibit}
	for _, o := range q.Content.Options {
		pq.Options = append(pq.Options, playerOption{ID: o.ID, Text: o.HTML})
	}
	if q.Answer != nil && q.Answer.Choice != "" {
		choice := q.Answer.Choice
		pq.Answer = &choice
	}
	return pq
}

// Answered counts the questions with a saved answer.
func (d playerData) Answered() int {
	n := 0
	for _, q := range d.Questions {
		if q.Answer != nil {
			n++
		}
	}
	return n
}

// Remaining is the time left at ServerTime, as the timer first shows it.
func (d playerData) Remaining() string {
	return clock(d.Timing.Remaining)
}

// clock formats a duration as m:ss, or h:mm:ss from an hour up.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	sec := int(d.Round(time.Second) / time.Second)
	if sec >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec%3600/60, sec%60)
	}
	return fmt.Sprintf("%d:%02d", sec/60, sec%60)
}

// expired reports whether an attempt in progress is past its deadline and
// grace, so that no answer can be saved any more. A held attempt's clock
// is stopped: it never expires while held.
func (s *Server) expired(a assess.Attempt) bool {
	return a.Status == assess.InProgress && a.HeldAt == nil && s.cfg.Now().After(a.Deadline.Add(s.cfg.Assess.Grace))
}

// closeExpired submits an attempt whose time ran out, as the deadline
// would; Submit is idempotent, so racing the background sweep (of any
// instance) is safe, and a hold or added time committed meanwhile wins.
func (s *Server) closeExpired(ctx context.Context, a assess.Attempt) (assess.Attempt, error) {
	if !s.expired(a) {
		return a, nil
	}
	if _, err := s.cfg.Assess.Submit(ctx, a.ID, "deadline"); err != nil && !errors.Is(err, assess.ErrNotDue) {
		return assess.Attempt{}, err
	}
	return s.cfg.Assess.Attempt(ctx, a.ID)
}

func (s *Server) pageAttempt(c *fiber.Ctx) error {
	ctx := c.UserContext()
	a, err := s.ownAttempt(c)
	if err != nil {
		return err
	}
	if a, err = s.closeExpired(ctx, a); err != nil {
		return err
	}
	if a.Status == assess.Submitted {
		return c.Redirect("/attempts/"+a.ID+"/result", fiber.StatusSeeOther)
	}
	exam, err := s.cfg.Assess.Exam(ctx, a.ExamID)
	if err != nil {
		return err
	}
	qs, err := s.cfg.Assess.Questions(ctx, a.ID)
	if err != nil {
		return err
	}
	if len(qs) == 0 {
		return fmt.Errorf("web: attempt %s has no questions", a.ID)
	}
	now := s.cfg.Now().UTC()
	return s.render(c, "attempt", playerData{Attempt: a, Exam: exam, Questions: qs, First: newPlayerQuestion(qs[0]), ServerTime: now, Timing: a.Timing(now)})
}

// Results.

type resultData struct {
	Result     assess.Result
	Exam       assess.Exam
	Standard   assess.Standard
	Domains    []domainResult
	Credential *badgeCard // the credential a pass earned, once issued
	Issuing    bool       // a pass whose credential is not issued yet
	Candidate  auth.User
	Own        bool // the viewer took the attempt
}

// PassMark reads "15 of 24".
func (d resultData) PassMark() string { return passMark(d.Result.Cut, d.Result.MaxScore) }

// Score reads "17 of 24".
func (d resultData) Score() string {
	return fmt.Sprintf("%s of %s", trimNumber(d.Result.Score), trimNumber(d.Result.MaxScore))
}

// ToPass is how many more points would have passed.
func (d resultData) ToPass() int {
	return max(0, pointsToPass(d.Result.Cut)-int(math.Round(d.Result.Score)))
}

// domainResult is one blueprint domain's subscore with plain feedback.
type domainResult struct {
	Code, Name, Description string
	Score, Max              float64
	Percent                 int
	Level                   string // "strong", "developing" or "focus"
	Advice                  string // the scorer's sentence of advice, naming the domain
}

// Label is the level in words.
func (d domainResult) Label() string {
	switch d.Level {
	case assess.LevelStrong:
		return "Strong"
	case assess.LevelDeveloping:
		return "Developing"
	}
	return "Needs focus"
}

// Feedback is the scorer's advice for the domain or, for a result
// scored before it gave any, one sentence for the level.
func (d domainResult) Feedback() string {
	if d.Advice != "" {
		return d.Advice
	}
	switch d.Level {
	case assess.LevelStrong:
		return "You answered most of these correctly. This is a strength to build on."
	case assess.LevelDeveloping:
		return "You have a working grasp of this area. Reviewing it will make your performance more consistent."
	}
	return "This area gave you the most difficulty. Start your review here."
}

func domainResults(exam assess.Exam, scores []assess.DomainScore) []domainResult {
	out := make([]domainResult, 0, len(scores))
	for _, ds := range scores {
		d := domainResult{Code: ds.Code, Name: ds.Name, Score: ds.Score, Max: ds.Max, Percent: ds.Percent, Level: ds.Level, Advice: ds.Feedback}
		for _, bd := range exam.Domains {
			if bd.Code == ds.Code {
				d.Description = bd.Description
			}
		}
		out = append(out, d)
	}
	return out
}

func (s *Server) pageResult(c *fiber.Ctx) error {
	ctx, u := c.UserContext(), currentUser(c)
	a, err := s.resultAttempt(c)
	if err != nil {
		return err
	}
	own := a.CandidateID == u.ID
	if a.Status == assess.InProgress && !s.expired(a) {
		switch {
		case own:
			return c.Redirect("/attempts/"+a.ID, fiber.StatusSeeOther)
		case u.Has(proctors...):
			return c.Redirect("/proctor/attempts/"+a.ID, fiber.StatusSeeOther)
		}
		return fmt.Errorf("%w: attempt %s is in progress", assess.ErrConflict, a.ID)
	}
	if a, err = s.closeExpired(ctx, a); err != nil {
		return err
	}
	r, err := s.cfg.Assess.Result(ctx, a.ID)
	if err != nil {
		return err
	}
	exam, err := s.cfg.Assess.Exam(ctx, a.ExamID)
	if err != nil {
		return err
	}
	d := resultData{Result: r, Exam: exam, Domains: domainResults(exam, r.Domains), Own: own}
	if r.StandardID != "" {
		if d.Standard, err = s.cfg.Assess.Standard(ctx, r.StandardID); err != nil {
			return err
		}
	}
	if d.Candidate, err = s.cfg.Auth.User(ctx, a.CandidateID); err != nil {
		return err
	}
	switch {
	case r.CredentialID != "":
		cred, err := s.cfg.Credentials.Get(ctx, r.CredentialID)
		if err != nil {
			return err
		}
		card, err := s.badgeCard(ctx, cred)
		if err != nil {
			return err
		}
		d.Credential = &card
	case r.Passed && exam.AchievementID != "":
		d.Issuing = true
	}
	return s.render(c, "result", d)
}

// link turns one of this deployment's absolute URLs into a path on this
// site, so that links work whatever host name the visitor used; other URLs
// are left as they are.
func (s *Server) link(u string) string {
	if s.cfg.BaseURL != "" && strings.HasPrefix(u, s.cfg.BaseURL+"/") {
		return strings.TrimPrefix(u, s.cfg.BaseURL)
	}
	return u
}

// Proctoring.

// kindLabels names the proctoring event kinds for people: one table for
// the console, the case file and the behaviour reasons, so that they say
// the same thing.
var kindLabels = map[string]string{
	proctor.FocusLost:      "Left the exam window",
	proctor.FocusGained:    "Returned to the exam window",
	proctor.Hidden:         "Exam tab hidden",
	proctor.Visible:        "Exam tab visible again",
	proctor.FullscreenExit: "Left full screen",
	proctor.Copy:           "Copied text",
	proctor.Paste:          "Pasted text",
	proctor.Print:          "Tried to print",
	proctor.ContextMenu:    "Opened the context menu",
	proctor.Resize:         "Resized the window",
	proctor.SecondScreen:   "Second screen detected",
	proctor.Offline:        "Went offline",
	proctor.Online:         "Back online",
	proctor.CameraLost:     "Camera unavailable",
	proctor.HeartbeatGap:   "Exam page went silent",
	proctor.SnapshotTaken:  "Webcam snapshot",
	proctor.NoFace:         "No face in view",
	proctor.MultipleFaces:  "More than one face",
	proctor.LookingAway:    "Looking away",
	proctor.Heartbeat:      "Heartbeat",
}

// kindLabel names an event kind; unknown kinds are shown as they are.
func kindLabel(kind string) string {
	if l, ok := kindLabels[kind]; ok {
		return l
	}
	return kind
}

// kindCount is the number of events of one kind in an attempt.
type kindCount struct {
	Kind, Label string
	N           int
}

// excerpt is the start of s, at most n runes, with whitespace collapsed.
func excerpt(s string, n int) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) <= n {
		return string(r)
	}
	return strings.TrimRight(string(r[:n-1]), " ,.;:") + "…"
}

// Standards.

type standardView struct {
	assess.Standard
	ProposedByName string
	ApprovedByName string
}

// PassMark reads "15 of 24".
func (v standardView) PassMark() string { return passMark(v.Cut, v.MaxScore) }

type standardsData struct {
	Exam       assess.Exam
	Exams      []assess.Exam
	Standards  []standardView
	Studies    []assess.Study
	MethodName map[string]string
	CanApprove bool
	InForce    bool // one of Standards is approved
}

func (s *Server) pageStandards(c *fiber.Ctx) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return err
	}
	list, err := s.cfg.Assess.Standards(ctx, exam.ID)
	if err != nil {
		return err
	}
	names := s.names(ctx)
	d := standardsData{Exam: exam, Exams: exams, CanApprove: currentUser(c).Has(managers...), MethodName: methodNames}
	if d.Studies, err = s.cfg.Assess.Studies(ctx, exam.ID); err != nil {
		return err
	}
	for _, st := range list {
		v := standardView{Standard: st}
		if v.ProposedByName, err = names.of(st.ProposedBy); err != nil {
			return err
		}
		if v.ApprovedByName, err = names.of(st.ApprovedBy); err != nil {
			return err
		}
		d.Standards = append(d.Standards, v)
		d.InForce = d.InForce || st.Status == assess.Approved
	}
	return s.render(c, "standards", d)
}

func (s *Server) postApproveStandard(c *fiber.Ctx) error {
	st, err := s.cfg.Assess.ApproveStandard(c.UserContext(), currentUser(c).ID, c.Params("id"))
	if err != nil {
		return err
	}
	return c.Redirect("/standards/exams/"+st.ExamID+"#standard-v"+strconv.Itoa(st.Version), fiber.StatusSeeOther)
}

// nameBook turns user ids into names for display, once per id.
type nameBook struct {
	ctx   context.Context
	auth  *auth.Service
	cache map[string]string
}

func (s *Server) names(ctx context.Context) *nameBook {
	return &nameBook{ctx: ctx, auth: s.cfg.Auth, cache: map[string]string{}}
}

// of returns the name of the user with id; an id that is not a user's
// ("system", "import", an unknown user) is returned as it is.
func (b *nameBook) of(id string) (string, error) {
	if n, ok := b.cache[id]; ok || id == "" {
		return n, nil
	}
	n := id
	if _, err := uuid.Parse(id); err == nil {
		u, err := b.auth.User(b.ctx, id)
		switch {
		case err == nil:
			n = u.Name
		case !errors.Is(err, auth.ErrNotFound):
			return "", err
		}
	}
	b.cache[id] = n
	return n, nil
}

// Audit.

type auditRow struct {
	audit.Record
	ActorName string
}

type auditData struct {
	Chain    string // "intact" or "broken"
	Unplaced int64  // entries written but not yet placed in the chain
	Entries  []auditRow
}

func (s *Server) auditChain(ctx context.Context) (string, error) {
	err := s.cfg.Audit.Verify(ctx)
	switch {
	case err == nil:
		return "intact", nil
	case errors.Is(err, audit.ErrBroken):
		return "broken", nil
	}
	return "", err
}

func (s *Server) pageAudit(c *fiber.Ctx) error {
	ctx := c.UserContext()
	records, err := s.cfg.Audit.List(ctx, "", 200)
	if err != nil {
		return err
	}
	d := auditData{}
	if d.Chain, err = s.auditChain(ctx); err != nil {
		return err
	}
	if d.Unplaced, err = s.cfg.Audit.Unplaced(ctx); err != nil {
		return err
	}
	names := s.names(ctx)
	for _, r := range records {
		row := auditRow{Record: r}
		if row.ActorName, err = names.of(r.Actor); err != nil {
			return err
		}
		row.Before, row.After = indentJSON(r.Before), indentJSON(r.After)
		d.Entries = append(d.Entries, row)
	}
	return s.render(c, "audit", d)
}

// indentJSON pretty-prints a JSON document for reading; anything else is
// returned as it is.
func indentJSON(s string) string {
	var v any
	if s == "" || json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return s
	}
	return string(b)
}

// Formatting.

// trimNumber writes x with at most two decimals and no trailing zeros.
func trimNumber(x float64) string {
	return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
}

// markdown renders the small Markdown subset that achievement criteria use
// — paragraphs, "-" and "1." lists, **bold** — as HTML. Everything is
// escaped first; only the tags it writes itself are markup.
func markdown(src string) template.HTML {
	var b strings.Builder
	for _, block := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n\n") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		if lines[0] == "" {
			continue
		}
		tag, _ := listItem(lines[0])
		if tag == "" {
			b.WriteString("<p>" + inlineMarkdown(strings.Join(lines, " ")) + "</p>\n")
			continue
		}
		var entries []string
		for _, l := range lines {
			if t, text := listItem(l); t == tag {
				entries = append(entries, text)
			} else if len(entries) > 0 {
				entries[len(entries)-1] += " " + strings.TrimSpace(l)
			}
		}
		b.WriteString("<" + tag + ">")
		for _, e := range entries {
			b.WriteString("<li>" + inlineMarkdown(e) + "</li>")
		}
		b.WriteString("</" + tag + ">\n")
	}
	return template.HTML(b.String()) // every text went through inlineMarkdown, which escapes
}

// listItem returns "ul" or "ol" and the item's text when line is a list
// item, and "" otherwise.
func listItem(line string) (string, string) {
	line = strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(line, "- "); ok {
		return "ul", rest
	}
	if rest, ok := strings.CutPrefix(line, "* "); ok {
		return "ul", rest
	}
	i := 0
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i > 0 && strings.HasPrefix(line[i:], ". ") {
		return "ol", line[i+2:]
	}
	return "", ""
}

// inlineMarkdown escapes s and turns **x** into <strong>x</strong>.
func inlineMarkdown(s string) string {
	parts := strings.Split(template.HTMLEscapeString(s), "**")
	if len(parts)%2 == 0 { // an unpaired ** is left as written
		return strings.Join(parts, "**")
	}
	for i := 1; i < len(parts); i += 2 {
		parts[i] = "<strong>" + parts[i] + "</strong>"
	}
	return strings.Join(parts, "")
}
