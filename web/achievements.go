package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/credential/baked"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Achievements: the public page of each achievement, and the program
// manager's pages and API to define achievements (badges and
// certificates), their badge design, and the pathways that earn a
// certificate. Every change goes through credential, which audits it.

// Bounds on an achievement's texts, so that every achievement can be drawn
// on its badge and shown on a page.
const (
	maxAchievementName  = baked.MaxDesignText
	maxAchievementLevel = 40
	maxAchievementText  = 4000 // description
	maxAchievementSlug  = 80
	maxCriteriaText     = 20000 // Markdown
	maxAlignments       = 50
	maxAlignmentText    = 500
	maxPathwayMembers   = 100
)

// achievementTypes are the types an achievement may have, as the
// credential package accepts them.
var achievementTypes = []string{"Badge", "Certificate", "Certification", "MicroCredential"}

// certificateType reports whether achievements of type t are earned by
// pathways rather than by an exam.
func certificateType(t string) bool { return t == "Certificate" || t == "Certification" }

// validityText says how long credentials of an achievement stay valid.
func validityText(days int) string {
	switch {
	case days == 0:
		return "Does not expire"
	case days%365 == 0:
		return plural(days/365, "year")
	}
	return plural(days, "day")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// examsEarning maps achievement ids to the exam whose pass earns each.
func (s *Server) examsEarning(ctx context.Context) (map[string]assess.Exam, error) {
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]assess.Exam{}
	for _, e := range exams {
		if _, ok := out[e.AchievementID]; e.AchievementID != "" && !ok {
			out[e.AchievementID] = e
		}
	}
	return out, nil
}

// pathwayRule is a pathway as the achievement pages show it: the
// certificate it earns and its rule in words.
type pathwayRule struct {
	Certificate achievementRef
	Rule        credential.PathwayRule
	Text        string
}

// pathways lists every pathway of the issuer. Progress of a recipient who
// holds nothing lists each pathway with its rule.
func (s *Server) pathways(ctx context.Context, book achievementBook) ([]pathwayRule, error) {
	progress, err := s.cfg.Credentials.Progress(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]pathwayRule, len(progress))
	for i, p := range progress {
		out[i] = pathwayRule{Certificate: s.refOf(book, p.Certificate), Rule: p.Rule, Text: ruleText(p.Rule, book.name)}
	}
	return out, nil
}

// memberOf reports whether the rule names the achievement with id.
func memberOf(r credential.PathwayRule, id string) bool {
	if slices.Contains(r.Achievements, id) {
		return true
	}
	for _, set := range r.Sets {
		if slices.Contains(set, id) {
			return true
		}
	}
	return false
}

// The public achievement page.

type achievementData struct {
	Achievement credential.Achievement
	Criteria    template.HTML
	ImagePath   string
	Validity    string    // how long its credentials stay valid
	Exam        *examCard // the exam that earns it, if any
	Standards   []assess.Standard
	EarnedBy    []pathwayRule // the pathways that earn it (a certificate)
	CountsFor   []pathwayRule // the pathways it counts towards
	Link        func(string) string
}

func (s *Server) pageAchievement(c *fiber.Ctx) error {
	ctx := c.UserContext()
	a, err := s.cfg.Credentials.AchievementBySlug(ctx, c.Params("slug"))
	if err != nil {
		return err
	}
	book, err := s.achievementBook(ctx)
	if err != nil {
		return err
	}
	rec := book.byURL[a.ID]
	d := achievementData{Achievement: a, Criteria: markdown(a.Criteria), ImagePath: s.link(a.ImageURL) + "?size=256",
		Validity: "Credentials of this achievement do not expire.", Link: s.link}
	if rec.ValidityDays > 0 {
		d.Validity = "A credential is valid for " + validityText(rec.ValidityDays) + " from the day it is issued."
	}
	all, err := s.pathways(ctx, book)
	if err != nil {
		return err
	}
	for _, p := range all {
		switch {
		case p.Certificate.URL == a.ID:
			d.EarnedBy = append(d.EarnedBy, p)
		case memberOf(p.Rule, rec.ID):
			d.CountsFor = append(d.CountsFor, p)
		}
	}
	earning, err := s.examsEarning(ctx)
	if err != nil {
		return err
	}
	if e, ok := earning[rec.ID]; ok {
		d.Exam = &examCard{Exam: e}
		standards, err := s.cfg.Assess.Standards(ctx, e.ID)
		if err != nil {
			return err
		}
		for _, st := range standards {
			switch st.Status {
			case assess.Approved:
				std := st
				d.Exam.Standard = &std
				d.Standards = append(d.Standards, st)
			case assess.Superseded:
				d.Standards = append(d.Standards, st)
			}
		}
	}
	return s.render(c, "achievement", d)
}

// Managing achievements.

// achievementForm is the achievement form's values, as stored or as typed
// when a change was refused.
type achievementForm struct {
	Slug, Name, Description, Criteria string
	Type, Level, Color                string
	ValidityDays                      string
	Alignments                        []credential.Alignment
}

func achievementFormOf(in credential.AchievementInput) achievementForm {
	f := achievementForm{Slug: in.Slug, Name: in.Name, Description: in.Description, Criteria: in.Criteria, Type: in.AchievementType,
		Level: in.Level, Color: in.Color, Alignments: in.Alignments}
	if in.ValidityDays > 0 {
		f.ValidityDays = strconv.Itoa(in.ValidityDays)
	}
	return f
}

// Rows are the alignment rows of the form: the achievement's, and a blank
// one to add a skill without script.
func (f achievementForm) Rows() []credential.Alignment {
	return append(slices.Clone(f.Alignments), credential.Alignment{})
}

// ColorValue is the colour input's value, which must be a colour.
func (f achievementForm) ColorValue() string {
	if f.Color == "" {
		return baked.DefaultColor
	}
	return f.Color
}

// achievementRow is one achievement of the manager's list.
type achievementRow struct {
	credential.AchievementRecord
	ImagePath string
	EditPath  string
	Validity  string
	Exam      *assess.Exam // the exam that earns it
	Pathways  int          // pathways that earn it
}

// formState is what a form page shows after a change: a notice, or the
// refusal and the field it names.
type formState struct {
	Saved      string
	Error      string
	ErrorField string
}

// Invalid reports whether the refused change named field, for aria-invalid.
func (f formState) Invalid(field string) bool { return f.ErrorField == field }

// InvalidPrefix reports whether the refused change named field or a part of
// it ("rule" matches "rule.n").
func (f formState) InvalidPrefix(field string) bool {
	return f.ErrorField == field || strings.HasPrefix(f.ErrorField, field+".") || strings.HasPrefix(f.ErrorField, field+"[")
}

type achievementsData struct {
	formState
	Rows  []achievementRow
	Form  achievementForm // the new achievement
	Types []string
}

// refusal turns a refused change into the form's state and sets the
// status; errors that are not the user's are returned.
func refusal(c *fiber.Ctx, err error) (formState, error) {
	status, body := classify(err)
	if status >= 500 {
		return formState{}, err
	}
	c.Status(status)
	return formState{Error: body.Message, ErrorField: body.Field}, nil
}

// EditMode is false: the list page's form creates an achievement.
func (achievementsData) EditMode() bool { return false }

func (s *Server) manageAchievements(c *fiber.Ctx, form achievementForm, refused error) error {
	ctx := c.UserContext()
	book, err := s.achievementBook(ctx)
	if err != nil {
		return err
	}
	earning, err := s.examsEarning(ctx)
	if err != nil {
		return err
	}
	all, err := s.pathways(ctx, book)
	if err != nil {
		return err
	}
	d := achievementsData{Form: form, Types: achievementTypes}
	if refused != nil {
		if d.formState, err = refusal(c, refused); err != nil {
			return err
		}
	}
	for _, r := range book.list {
		row := achievementRow{AchievementRecord: r, ImagePath: s.link(r.URL) + "/badge.png?size=64", EditPath: "/manage/achievements/" + r.ID,
			Validity: validityText(r.ValidityDays)}
		if e, ok := earning[r.ID]; ok {
			row.Exam = &e
		}
		for _, p := range all {
			if p.Certificate.ID == r.ID {
				row.Pathways++
			}
		}
		d.Rows = append(d.Rows, row)
	}
	return s.render(c, "achievements_manage", d)
}

func (s *Server) pageManageAchievements(c *fiber.Ctx) error {
	return s.manageAchievements(c, achievementForm{Type: "Badge"}, nil)
}

// formValues returns every value of a repeated field of a url-encoded form.
func formValues(c *fiber.Ctx, name string) []string {
	var out []string
	for _, v := range c.Request().PostArgs().PeekMulti(name) {
		out = append(out, string(v))
	}
	return out
}

// readAchievementForm reads the achievement form as typed.
func readAchievementForm(c *fiber.Ctx) achievementForm {
	f := achievementForm{Slug: strings.TrimSpace(c.FormValue("slug")), Name: strings.TrimSpace(c.FormValue("name")),
		Description: strings.TrimSpace(c.FormValue("description")), Criteria: strings.TrimSpace(c.FormValue("criteria")),
		Type: c.FormValue("achievement_type"), Level: strings.TrimSpace(c.FormValue("level")), Color: strings.TrimSpace(c.FormValue("color")),
		ValidityDays: strings.TrimSpace(c.FormValue("validity_days"))}
	names, urls := formValues(c, "target_name"), formValues(c, "target_url")
	frameworks, codes := formValues(c, "target_framework"), formValues(c, "target_code")
	at := func(list []string, i int) string {
		if i < len(list) {
			return strings.TrimSpace(list[i])
		}
		return ""
	}
	for i := range max(len(names), len(urls), len(frameworks), len(codes)) {
		a := credential.Alignment{TargetName: at(names, i), TargetURL: at(urls, i), TargetFramework: at(frameworks, i), TargetCode: at(codes, i)}
		if a != (credential.Alignment{}) { // a row left blank adds nothing
			f.Alignments = append(f.Alignments, a)
		}
	}
	// The colour input always sends a colour; the default one means none.
	if strings.EqualFold(f.Color, baked.DefaultColor) {
		f.Color = ""
	}
	return f
}

// input checks the form's bounds and returns the achievement it defines.
func (f achievementForm) input() (credential.AchievementInput, error) {
	in := credential.AchievementInput{Slug: f.Slug, Name: f.Name, Description: f.Description, Criteria: f.Criteria,
		AchievementType: f.Type, Level: f.Level, Color: strings.ToLower(f.Color), Alignments: f.Alignments}
	if f.ValidityDays != "" {
		n, err := strconv.Atoi(f.ValidityDays)
		if err != nil {
			return in, valid.Errorf("validity_days", "must be a whole number of days")
		}
		in.ValidityDays = n
	}
	return in, checkBounds(in)
}

// checkBounds refuses texts longer than a page or a badge can show; the
// credential package checks the rest.
func checkBounds(in credential.AchievementInput) error {
	for _, b := range []struct {
		field, value string
		max          int
	}{
		{"slug", in.Slug, maxAchievementSlug},
		{"name", in.Name, maxAchievementName},
		{"level", in.Level, maxAchievementLevel},
		{"description", in.Description, maxAchievementText},
		{"criteria", in.Criteria, maxCriteriaText},
	} {
		if n := utf8.RuneCountInString(b.value); n > b.max {
			return valid.Errorf(b.field, "is %d characters long; at most %d", n, b.max)
		}
	}
	if len(in.Alignments) > maxAlignments {
		return valid.Errorf("alignments", "at most %d skills", maxAlignments)
	}
	for i, a := range in.Alignments {
		for _, t := range []struct{ field, value string }{
			{"target_name", a.TargetName}, {"target_url", a.TargetURL}, {"target_description", a.TargetDescription},
			{"target_framework", a.TargetFramework}, {"target_code", a.TargetCode},
		} {
			if utf8.RuneCountInString(t.value) > maxAlignmentText {
				return valid.Errorf(fmt.Sprintf("alignments[%d].%s", i, t.field), "at most %d characters", maxAlignmentText)
			}
		}
	}
	return nil
}

// slugify makes a slug of a name: lower-case letters and digits, runs of
// anything else as one hyphen.
func slugify(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			hyphen = false
			continue
		}
		hyphen = true
	}
	s := b.String()
	if len(s) > maxAchievementSlug {
		s = strings.TrimRight(s[:maxAchievementSlug], "-")
	}
	return s
}

func (s *Server) postNewAchievement(c *fiber.Ctx) error {
	f := readAchievementForm(c)
	if f.Slug == "" {
		f.Slug = slugify(f.Name)
	}
	in, err := f.input()
	var id string
	if err == nil {
		id, err = s.cfg.Credentials.CreateAchievementAs(c.UserContext(), currentUser(c).ID, s.cfg.IssuerID, in)
	}
	if err != nil {
		return s.manageAchievements(c, f, err)
	}
	return c.Redirect("/manage/achievements/"+id+"?saved=created", fiber.StatusSeeOther)
}

// The edit page.

type achievementEditData struct {
	formState
	Record      credential.AchievementRecord
	Form        achievementForm
	Types       []string
	ImagePath   string
	PreviewPath string
	Exam        *assess.Exam
	Certificate bool
	Pathways    []pathwayRule
	Others      []credential.AchievementRecord // what a pathway may require
	// The pathway form as typed when it was refused.
	Pathway     credential.PathwayRule
	PathwayForm bool // the refusal is the pathway form's
}

// EditMode is true: the form changes an existing achievement, whose slug
// stays.
func (achievementEditData) EditMode() bool { return true }

// PathwayKinds are the pathway rule kinds, for the form.
func (achievementEditData) PathwayKinds() []struct{ Value, Label string } {
	return []struct{ Value, Label string }{
		{credential.AllOf, "All of the chosen achievements"},
		{credential.AnyOf, "Any N of the chosen achievements"},
		{credential.Sets, "Every achievement of any one set"},
	}
}

// SetNames are the sets the pathway form offers.
func (achievementEditData) SetNames() []string { return []string{"A", "B", "C"} }

// Chosen reports whether the refused pathway form had id in its list
// (set "" for the achievements list, else the set's name).
func (d achievementEditData) Chosen(set, id string) bool {
	if set == "" {
		return slices.Contains(d.Pathway.Achievements, id)
	}
	i := strings.Index("ABC", set)
	return i >= 0 && i < len(d.Pathway.Sets) && slices.Contains(d.Pathway.Sets[i], id)
}

// savedAchievementNotices say what a redirect after a change saved.
var savedAchievementNotices = map[string]string{
	"created": "The achievement is created. Link it to an exam in the exam's settings, or give a certificate a pathway below.",
	"saved":   "The achievement is saved. Credentials issued before keep the definition they were issued with.",
	"pathway": "The pathway is added. Candidates who already meet it receive the certificate with their next credential.",
}

func (s *Server) editAchievement(c *fiber.Ctx, form *achievementForm, pathway *credential.PathwayRule, refused error) error {
	ctx := c.UserContext()
	rec, err := s.cfg.Credentials.AchievementRecordByID(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	d := achievementEditData{Record: rec, Form: achievementFormOf(rec.AchievementInput), Types: achievementTypes,
		ImagePath: s.link(rec.URL) + "/badge.png?size=128", PreviewPath: "/manage/achievements/preview.svg",
		Certificate: certificateType(rec.AchievementType)}
	d.formState.Saved = savedAchievementNotices[c.Query("saved")]
	if form != nil {
		d.Form = *form
	}
	if pathway != nil {
		d.Pathway, d.PathwayForm = *pathway, true
	}
	if refused != nil {
		if d.formState, err = refusal(c, refused); err != nil {
			return err
		}
	}
	book, err := s.achievementBook(ctx)
	if err != nil {
		return err
	}
	for _, r := range book.list {
		if r.ID != rec.ID {
			d.Others = append(d.Others, r)
		}
	}
	all, err := s.pathways(ctx, book)
	if err != nil {
		return err
	}
	for _, p := range all {
		if p.Certificate.ID == rec.ID {
			d.Pathways = append(d.Pathways, p)
		}
	}
	earning, err := s.examsEarning(ctx)
	if err != nil {
		return err
	}
	if e, ok := earning[rec.ID]; ok {
		d.Exam = &e
	}
	return s.render(c, "achievement_edit", d)
}

func (s *Server) pageEditAchievement(c *fiber.Ctx) error { return s.editAchievement(c, nil, nil, nil) }

func (s *Server) postEditAchievement(c *fiber.Ctx) error {
	f := readAchievementForm(c)
	in, err := f.input()
	if err == nil {
		err = s.cfg.Credentials.UpdateAchievement(c.UserContext(), currentUser(c).ID, c.Params("id"), in)
	}
	if err != nil {
		return s.editAchievement(c, &f, nil, err)
	}
	return c.Redirect("/manage/achievements/"+c.Params("id")+"?saved=saved", fiber.StatusSeeOther)
}

// readPathwayForm reads the pathway form: the kind, the achievements
// ticked, N, and sets A to C.
func readPathwayForm(c *fiber.Ctx) (credential.PathwayRule, error) {
	r := credential.PathwayRule{Kind: c.FormValue("kind")}
	switch r.Kind {
	case credential.AllOf, credential.AnyOf:
		r.Achievements = formValues(c, "achievements")
	case credential.Sets:
		for _, name := range []string{"set_a", "set_b", "set_c"} {
			if set := formValues(c, name); len(set) > 0 {
				r.Sets = append(r.Sets, set)
			}
		}
	}
	if r.Kind == credential.AnyOf {
		n, err := strconv.Atoi(strings.TrimSpace(c.FormValue("n")))
		if err != nil {
			return r, valid.Errorf("rule.n", "must be a whole number")
		}
		r.N = n
	}
	return r, nil
}

// addPathway checks that the rule names known achievements and that the
// certificate has no pathway yet, then creates it.
func (s *Server) addPathway(ctx context.Context, actor, certificateID string, r credential.PathwayRule) error {
	if _, err := s.cfg.Credentials.AchievementRecordByID(ctx, certificateID); err != nil {
		return err
	}
	book, err := s.achievementBook(ctx)
	if err != nil {
		return err
	}
	n := len(r.Achievements)
	for _, set := range r.Sets {
		n += len(set)
	}
	if n > maxPathwayMembers {
		return valid.Errorf("rule", "names %d achievements; at most %d", n, maxPathwayMembers)
	}
	check := func(field string, ids []string) error {
		for _, id := range ids {
			if _, ok := book.byID[id]; !ok {
				return valid.Errorf(field, "names an achievement that does not exist: %q", id)
			}
		}
		return nil
	}
	if err := check("rule.achievements", r.Achievements); err != nil {
		return err
	}
	for i, set := range r.Sets {
		if err := check(fmt.Sprintf("rule.sets[%d]", i), set); err != nil {
			return err
		}
	}
	// A certificate has one pathway (the store keeps one rule per
	// certificate); alternatives are the sets of a "sets" rule.
	existing, err := s.pathways(ctx, book)
	if err != nil {
		return err
	}
	for _, p := range existing {
		if p.Certificate.ID == certificateID {
			return valid.Errorf("rule", "the certificate already has a pathway (%s); give alternatives as the sets of one rule", p.Text)
		}
	}
	return s.cfg.Credentials.CreatePathwayRule(ctx, actor, certificateID, r)
}

func (s *Server) postAchievementPathway(c *fiber.Ctx) error {
	r, err := readPathwayForm(c)
	if err == nil {
		err = s.addPathway(c.UserContext(), currentUser(c).ID, c.Params("id"), r)
	}
	if errors.Is(err, credential.ErrNotFound) {
		return err
	}
	if err != nil {
		return s.editAchievement(c, nil, &r, err)
	}
	return c.Redirect("/manage/achievements/"+c.Params("id")+"?saved=pathway#pathways", fiber.StatusSeeOther)
}

// previewSVG draws the badge of a design as typed, for the editor's live
// preview. Texts are bounded and escaped by baked.RenderSVG.
func (s *Server) previewSVG(c *fiber.Ctx) error {
	issuer, err := s.cfg.Credentials.Issuer(c.UserContext(), s.cfg.IssuerID)
	if err != nil {
		return err
	}
	d := baked.Design{Title: strings.TrimSpace(c.Query("name")), Level: strings.TrimSpace(c.Query("level")),
		Issuer: issuer.Name, Color: strings.TrimSpace(c.Query("color"))}
	if d.Title == "" {
		d.Title = "Achievement name"
	}
	svg, err := baked.RenderSVG(d)
	if errors.Is(err, baked.ErrDesign) {
		return valid.Errorf("design", "%s", strings.TrimPrefix(err.Error(), baked.ErrDesign.Error()+": "))
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/svg+xml")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(svg)
}

// API.

// achievementJSON is an achievement as the API reads and writes it.
type achievementJSON struct {
	ID              string          `json:"id,omitempty"`
	URL             string          `json:"url,omitempty"`
	Slug            string          `json:"slug"`
	Name            string          `json:"name"`
	Description     string          `json:"description"`
	Criteria        string          `json:"criteria"`
	AchievementType string          `json:"achievement_type"`
	Level           string          `json:"level"`
	Color           string          `json:"color"`
	ValidityDays    int             `json:"validity_days"`
	Alignments      []alignmentJSON `json:"alignments"`
	Image           string          `json:"image,omitempty"`
	ExamID          *string         `json:"exam_id,omitempty"`
	Pathways        []fiber.Map     `json:"pathways,omitempty"`
}

type alignmentJSON struct {
	TargetName        string `json:"target_name"`
	TargetURL         string `json:"target_url"`
	TargetDescription string `json:"target_description,omitempty"`
	TargetFramework   string `json:"target_framework,omitempty"`
	TargetCode        string `json:"target_code,omitempty"`
}

func (a achievementJSON) input() credential.AchievementInput {
	in := credential.AchievementInput{Slug: strings.TrimSpace(a.Slug), Name: strings.TrimSpace(a.Name), Description: strings.TrimSpace(a.Description),
		Criteria: strings.TrimSpace(a.Criteria), AchievementType: a.AchievementType, Level: strings.TrimSpace(a.Level),
		Color: strings.ToLower(strings.TrimSpace(a.Color)), ValidityDays: a.ValidityDays, Alignments: []credential.Alignment{}}
	for _, al := range a.Alignments {
		in.Alignments = append(in.Alignments, credential.Alignment{TargetName: strings.TrimSpace(al.TargetName), TargetURL: strings.TrimSpace(al.TargetURL),
			TargetDescription: al.TargetDescription, TargetFramework: strings.TrimSpace(al.TargetFramework), TargetCode: strings.TrimSpace(al.TargetCode)})
	}
	return in
}

func (s *Server) toAchievementJSON(r credential.AchievementRecord, earning map[string]assess.Exam, all []pathwayRule) achievementJSON {
	out := achievementJSON{ID: r.ID, URL: r.URL, Slug: r.Slug, Name: r.Name, Description: r.Description, Criteria: r.Criteria,
		AchievementType: r.AchievementType, Level: r.Level, Color: r.Color, ValidityDays: r.ValidityDays,
		Alignments: []alignmentJSON{}, Image: r.URL + "/badge.png", Pathways: []fiber.Map{}}
	for _, a := range r.Alignments {
		out.Alignments = append(out.Alignments, alignmentJSON(a))
	}
	if e, ok := earning[r.ID]; ok {
		out.ExamID = &e.ID
	}
	for _, p := range all {
		if p.Certificate.ID == r.ID {
			out.Pathways = append(out.Pathways, fiber.Map{"rule": ruleJSON(p.Rule), "rule_text": p.Text})
		}
	}
	return out
}

// achievementsJSON renders every achievement, or only the one with id
// only (ErrNotFound when there is none).
func (s *Server) achievementsJSON(ctx context.Context, only string) ([]achievementJSON, error) {
	book, err := s.achievementBook(ctx)
	if err != nil {
		return nil, err
	}
	earning, err := s.examsEarning(ctx)
	if err != nil {
		return nil, err
	}
	all, err := s.pathways(ctx, book)
	if err != nil {
		return nil, err
	}
	out := make([]achievementJSON, 0, len(book.list))
	for _, r := range book.list {
		if only == "" || r.ID == only {
			out = append(out, s.toAchievementJSON(r, earning, all))
		}
	}
	if only != "" && len(out) == 0 {
		return nil, fmt.Errorf("%w: achievement %s", credential.ErrNotFound, only)
	}
	return out, nil
}

func (s *Server) apiAchievements(c *fiber.Ctx) error {
	out, err := s.achievementsJSON(c.UserContext(), "")
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) apiAchievement(c *fiber.Ctx) error {
	rec, err := s.cfg.Credentials.AchievementRecordByID(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	out, err := s.achievementsJSON(c.UserContext(), rec.ID)
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

func (s *Server) apiCreateAchievement(c *fiber.Ctx) error {
	var body achievementJSON
	if err := bind(c, &body); err != nil {
		return err
	}
	in := body.input()
	if in.Slug == "" {
		in.Slug = slugify(in.Name)
	}
	if err := checkBounds(in); err != nil {
		return err
	}
	id, err := s.cfg.Credentials.CreateAchievementAs(c.UserContext(), currentUser(c).ID, s.cfg.IssuerID, in)
	if err != nil {
		return err
	}
	out, err := s.achievementsJSON(c.UserContext(), id)
	if err != nil {
		return err
	}
	c.Location("/api/v1/achievements/" + id)
	return c.Status(fiber.StatusCreated).JSON(out[0])
}

func (s *Server) apiUpdateAchievement(c *fiber.Ctx) error {
	ctx := c.UserContext()
	rec, err := s.cfg.Credentials.AchievementRecordByID(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	var body achievementJSON
	if err := bind(c, &body); err != nil {
		return err
	}
	in := body.input()
	if in.Slug != "" && in.Slug != rec.Slug {
		return valid.Errorf("slug", "cannot change: it is the achievement's public URL")
	}
	in.Slug = rec.Slug
	if err := checkBounds(in); err != nil {
		return err
	}
	if err := s.cfg.Credentials.UpdateAchievement(ctx, currentUser(c).ID, rec.ID, in); err != nil {
		return err
	}
	out, err := s.achievementsJSON(ctx, rec.ID)
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

func (s *Server) apiCreatePathway(c *fiber.Ctx) error {
	ctx := c.UserContext()
	rec, err := s.cfg.Credentials.AchievementRecordByID(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	var r credential.PathwayRule
	if err := bind(c, &r); err != nil {
		return err
	}
	if err := s.addPathway(ctx, currentUser(c).ID, rec.ID, r); err != nil {
		return err
	}
	out, err := s.achievementsJSON(ctx, rec.ID)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(out[0])
}
