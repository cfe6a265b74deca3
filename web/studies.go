package web

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// Standard-setting studies: program managers create and facilitate them,
// panelists judge items in their own sessions, everyone with a stake reads
// the technical report.

var panelists = []auth.Role{auth.Panelist}

// methodNames are the methods as the pages name them.
var methodNames = map[string]string{
	assess.MethodModifiedAngoff: "Modified Angoff",
	assess.MethodYesNoAngoff:    "Yes/No Angoff",
	assess.MethodBookmark:       "Bookmark",
	assess.MethodHofstee:        "Hofstee",
	assess.MethodBeuk:           "Beuk",
}

type newStudyData struct {
	Exam       assess.Exam
	Exams      []assess.Exam
	Methods    []string
	MethodName map[string]string
	Panelists  []auth.User
	Form       newStudyForm
	Error      *formError
}

type newStudyForm struct {
	Title, Method, MCC, FormID string
	Rounds                     int
	Panel                      map[string]bool
	Qualification              map[string]string // by user id
}

func (s *Server) pageNewStudy(c *fiber.Ctx) error {
	return s.newStudyPage(c, newStudyForm{Method: assess.MethodModifiedAngoff, Rounds: 2, Panel: map[string]bool{}, Qualification: map[string]string{}}, nil)
}

func (s *Server) newStudyPage(c *fiber.Ctx, form newStudyForm, fail error) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return err
	}
	users, err := s.cfg.Auth.UsersWithRole(ctx, auth.Panelist)
	if err != nil {
		return err
	}
	d := newStudyData{Exam: exam, Exams: exams, Methods: assess.StudyMethods, MethodName: methodNames, Panelists: users, Form: form, Error: formErrorOf(fail)}
	if fail != nil {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return s.render(c, "study_new", d)
}

func (s *Server) postNewStudy(c *fiber.Ctx) error {
	form := newStudyForm{Title: c.FormValue("title"), Method: c.FormValue("method"), MCC: c.FormValue("mcc"),
		FormID: c.FormValue("form_id"), Panel: map[string]bool{}, Qualification: map[string]string{}}
	form.Rounds, _ = strconv.Atoi(c.FormValue("planned_rounds"))
	st := assess.Study{ExamID: c.Params("id"), FormID: form.FormID, Title: form.Title, Method: form.Method, MCC: form.MCC, PlannedRounds: form.Rounds}
	for _, raw := range c.Context().PostArgs().PeekMulti("panelists") {
		id := string(raw)
		form.Panel[id] = true
		form.Qualification[id] = strings.TrimSpace(c.FormValue("qualification-" + id))
		st.Panelists = append(st.Panelists, assess.Panelist{UserID: id, Qualification: form.Qualification[id]})
	}
	created, err := s.cfg.Assess.CreateStudy(c.UserContext(), currentUser(c).ID, st)
	if errors.Is(err, valid.ErrInvalid) {
		return s.newStudyPage(c, form, err)
	}
	if err != nil {
		return err
	}
	return c.Redirect("/studies/"+created.ID, fiber.StatusSeeOther)
}

// studyData is the facilitator's page: the panel's progress, the feedback
// of the latest round, the recommendation and the adoption form.
type studyData struct {
	Study      assess.Study
	Exam       assess.Exam
	Exams      []assess.Exam // for the exam switcher
	MethodName string
	Items      []items.Item // the study's items, in its order
	Feedback   *assess.Feedback
	Rec        assess.Recommendation
	Standard   *assess.Standard // the standard adopted from this study
	CanManage  bool
	Error      *formError
	Today      string
}

// Submitted counts the panelists who completed the current round.
func (d studyData) Submitted() int {
	n := 0
	for _, p := range d.Study.Panelists {
		if p.SubmittedRound >= d.Study.CurrentRound {
			n++
		}
	}
	return n
}

// Released reports whether the current round's feedback is released.
func (d studyData) Released() bool { return d.Study.ReleasedRound >= d.Study.CurrentRound }

// Open reports whether the study still takes judgements.
func (d studyData) Open() bool { return d.Study.Status == assess.StudyOpen }

func (s *Server) loadStudyData(c *fiber.Ctx, id string) (studyData, error) {
	ctx := c.UserContext()
	st, err := s.cfg.Assess.Study(ctx, id)
	if err != nil {
		return studyData{}, err
	}
	d := studyData{Study: st, MethodName: methodNames[st.Method], CanManage: currentUser(c).Has(managers...),
		Today: time.Now().UTC().Format("2006-01-02")}
	if d.Exam, err = s.cfg.Assess.Exam(ctx, st.ExamID); err != nil {
		return d, err
	}
	if d.Exams, err = s.cfg.Assess.Exams(ctx); err != nil {
		return d, err
	}
	ids, err := s.cfg.Assess.StudyItems(ctx, st)
	if err != nil {
		return d, err
	}
	if d.Items, err = s.cfg.Items.Working(ctx, ids); err != nil {
		return d, err
	}
	fb, err := s.cfg.Assess.StudyFeedback(ctx, st.ID, st.CurrentRound)
	if err != nil {
		return d, err
	}
	d.Feedback = &fb
	if d.Rec, err = s.cfg.Assess.StudyRecommendation(ctx, st.ID); err != nil {
		return d, err
	}
	stds, err := s.cfg.Assess.Standards(ctx, st.ExamID)
	if err != nil {
		return d, err
	}
	for i := range stds {
		if stds[i].StudyID == st.ID && stds[i].Status != assess.Proposed {
			d.Standard = &stds[i]
		}
	}
	return d, nil
}

func (s *Server) pageStudy(c *fiber.Ctx) error {
	d, err := s.loadStudyData(c, c.Params("id"))
	if err != nil {
		return err
	}
	return s.render(c, "study", d)
}

// postStudyStep runs a facilitator's step and returns to the study page.
func (s *Server) postStudyStep(step func(s *Server, c *fiber.Ctx, actor, id string) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Params("id")
		if err := step(s, c, currentUser(c).ID, id); err != nil {
			if !errors.Is(err, valid.ErrInvalid) && !errors.Is(err, assess.ErrConflict) {
				return err
			}
			d, lerr := s.loadStudyData(c, id)
			if lerr != nil {
				return lerr
			}
			d.Error = formErrorOf(err)
			if d.Error == nil {
				d.Error = &formError{Message: strings.TrimPrefix(err.Error(), "assess: conflict: ")}
			}
			return s.render(c.Status(fiber.StatusUnprocessableEntity), "study", d)
		}
		return c.Redirect("/studies/"+id, fiber.StatusSeeOther)
	}
}

func releaseStep(s *Server, c *fiber.Ctx, actor, id string) error {
	_, err := s.cfg.Assess.ReleaseFeedback(c.UserContext(), actor, id)
	return err
}

func nextRoundStep(s *Server, c *fiber.Ctx, actor, id string) error {
	_, err := s.cfg.Assess.OpenNextRound(c.UserContext(), actor, id)
	return err
}

func adoptStep(s *Server, c *fiber.Ctx, actor, id string) error {
	a, err := adoptionFrom(c.FormValue("cut"), c.FormValue("reason"), c.FormValue("effective_on"))
	if err != nil {
		return err
	}
	_, err = s.cfg.Assess.AdoptStandard(c.UserContext(), actor, id, a)
	return err
}

// adoptionFrom reads an adoption from form or JSON values; the effective
// date is a calendar day (UTC) and today means now.
func adoptionFrom(cut, reason, effectiveOn string) (assess.Adoption, error) {
	a := assess.Adoption{Reason: strings.TrimSpace(reason)}
	v, err := strconv.ParseFloat(strings.TrimSpace(cut), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return a, valid.Errorf("cut", "must be a number")
	}
	a.Cut = v
	if effectiveOn = strings.TrimSpace(effectiveOn); effectiveOn != "" {
		day, err := time.Parse("2006-01-02", effectiveOn)
		if err != nil {
			return a, valid.Errorf("effective_on", "must be a date (YYYY-MM-DD)")
		}
		if day.After(time.Now().UTC()) {
			a.EffectiveAt = day
		} else if today := time.Now().UTC().Truncate(24 * time.Hour); day.Before(today) {
			return a, valid.Errorf("effective_on", "cannot be in the past")
		}
	}
	return a, nil
}

// Panelists' pages.

type panelHomeData struct {
	Studies    []assess.Study
	Exams      map[string]string
	MethodName map[string]string
}

func (s *Server) pagePanel(c *fiber.Ctx) error {
	ctx := c.UserContext()
	list, err := s.cfg.Assess.PanelStudies(ctx, currentUser(c).ID)
	if err != nil {
		return err
	}
	d := panelHomeData{Studies: list, Exams: map[string]string{}, MethodName: methodNames}
	for _, st := range list {
		if e, err := s.cfg.Assess.Exam(ctx, st.ExamID); err == nil {
			d.Exams[st.ExamID] = e.Title
		}
	}
	return s.render(c, "panel", d)
}

// panelItem is one item as the panelist judges it.
type panelItem struct {
	Position int
	Item     items.Item
	Content  items.CandidateContent
	Key      string // the correct answer, as the panelist reads it
	Rating   *float64
	Feedback *assess.ItemFeedback
	Page     int // its page in a Bookmark booklet
	Location float64
}

// Percent is the panelist's rating as a whole percentage, or "".
func (p panelItem) Percent() string {
	if p.Rating == nil {
		return ""
	}
	return strconv.FormatFloat(math.Round(*p.Rating*100), 'f', -1, 64)
}

// Mine returns the panelist's own rating in the feedback, or NaN.
func (p panelItem) Mine(i int) float64 {
	if p.Feedback == nil || i < 0 || i >= len(p.Feedback.Ratings) {
		return math.NaN()
	}
	return p.Feedback.Ratings[i]
}

type panelStudyData struct {
	Study      assess.Study
	Exam       assess.Exam
	MethodName string
	Panelist   assess.Panelist
	Seat       int // the panelist's row in feedback
	Work       assess.Work
	Items      []panelItem
	Feedback   *assess.Feedback
	Submitted  bool
	Judgement  map[string]string
	BookletErr string
	Error      *formError
	ItemsJSON  []items.CandidateContent
}

// Rates reports whether the method rates items.
func (d panelStudyData) Rates() bool {
	return d.Study.Method == assess.MethodModifiedAngoff || d.Study.Method == assess.MethodYesNoAngoff
}

// YesNo reports a Yes/No study.
func (d panelStudyData) YesNo() bool { return d.Study.Method == assess.MethodYesNoAngoff }

// AsksHofstee reports whether the panel is asked Hofstee's judgements.
func (d panelStudyData) AsksHofstee() bool {
	return d.Study.Method != assess.MethodBookmark && d.Study.Method != assess.MethodBeuk
}

// AsksBeuk reports whether the panel is asked Beuk's judgements.
func (d panelStudyData) AsksBeuk() bool { return d.Study.Method == assess.MethodBeuk }

func (s *Server) pagePanelStudy(c *fiber.Ctx) error {
	return s.panelStudyPage(c, nil)
}

func (s *Server) panelStudyPage(c *fiber.Ctx, fail error) error {
	ctx := c.UserContext()
	st, me, work, err := s.cfg.Assess.PanelistWork(ctx, c.Params("id"), currentUser(c).ID)
	if err != nil {
		return err
	}
	d := panelStudyData{Study: st, MethodName: methodNames[st.Method], Panelist: me, Work: work,
		Submitted: me.SubmittedRound >= st.CurrentRound || st.Status != assess.StudyOpen, Judgement: map[string]string{}, Error: formErrorOf(fail)}
	for k, v := range work.Judgements {
		d.Judgement[k] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	for i, p := range st.Panelists {
		if p.ID == me.ID {
			d.Seat = i
		}
	}
	if d.Exam, err = s.cfg.Assess.Exam(ctx, st.ExamID); err != nil {
		return err
	}
	ids, err := s.cfg.Assess.StudyItems(ctx, st)
	if err != nil {
		return err
	}
	bank, err := s.cfg.Items.Working(ctx, ids)
	if err != nil {
		return err
	}
	if st.ReleasedRound > 0 {
		fb, err := s.cfg.Assess.StudyFeedback(ctx, st.ID, st.ReleasedRound)
		if err != nil {
			return err
		}
		d.Feedback = &fb
	}
	for i, it := range bank {
		pi := panelItem{Position: i + 1, Item: it, Content: it.Content.ForCandidate(), Key: keyText(it.Content)}
		if v, ok := work.Ratings[it.ID]; ok {
			pi.Rating = &v
		}
		if d.Feedback != nil && i < len(d.Feedback.Items) {
			pi.Feedback = &d.Feedback.Items[i]
		}
		d.Items = append(d.Items, pi)
	}
	if st.Method == assess.MethodBookmark {
		pages, note, err := s.cfg.Assess.OrderedBooklet(ctx, st.ID)
		if err != nil {
			return err
		}
		d.BookletErr = note
		byID := map[string]panelItem{}
		for _, pi := range d.Items {
			byID[pi.Item.ID] = pi
		}
		d.Items = d.Items[:0]
		for _, p := range pages {
			pi := byID[p.ItemID]
			pi.Page, pi.Location = p.Page, p.Location
			d.Items = append(d.Items, pi)
		}
	}
	for _, pi := range d.Items {
		d.ItemsJSON = append(d.ItemsJSON, pi.Content)
	}
	if fail != nil {
		c.Status(fiber.StatusUnprocessableEntity)
	}
	return s.render(c, "panel_study", d)
}

// keyText states an item's key in words a panelist reads beside the item.
func keyText(c items.Content) string {
	label := func(id string) string {
		for i, o := range c.Options {
			if o.ID == id {
				return string(rune('A'+i)) + " · " + o.Text
			}
		}
		return id
	}
	switch {
	case c.Key != "":
		return label(c.Key)
	case len(c.Keys) > 0:
		parts := make([]string, len(c.Keys))
		for i, k := range c.Keys {
			parts[i] = label(k)
		}
		return strings.Join(parts, "; ")
	}
	return ""
}

// postPanelWork saves a whole round from the page's form (the page saves
// each answer as it is given; the form is the way without scripts) and,
// when asked, submits it.
func (s *Server) postPanelWork(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id, user := c.Params("id"), currentUser(c).ID
	st, _, _, err := s.cfg.Assess.PanelistWork(ctx, id, user)
	if err != nil {
		return err
	}
	ids, err := s.cfg.Assess.StudyItems(ctx, st)
	if err != nil {
		return err
	}
	for _, itemID := range ids {
		raw := strings.TrimSpace(c.FormValue("rating-" + itemID))
		if raw == "" {
			continue
		}
		v, perr := strconv.ParseFloat(raw, 64)
		if perr != nil {
			return s.panelStudyPage(c, valid.Errorf("rating-"+itemID, "must be a number"))
		}
		if st.Method != assess.MethodYesNoAngoff {
			v /= 100
		}
		if err := s.cfg.Assess.SaveRating(ctx, id, user, itemID, v); err != nil {
			return s.panelError(c, err)
		}
	}
	for _, kind := range []string{assess.JudgeBookmark, assess.JudgeHofsteeMin, assess.JudgeHofsteeMax, assess.JudgeHofsteeMinFR,
		assess.JudgeHofsteeMaxFR, assess.JudgeBeukCut, assess.JudgeBeukPassRate} {
		raw := strings.TrimSpace(c.FormValue(kind))
		if raw == "" {
			continue
		}
		v, perr := strconv.ParseFloat(raw, 64)
		if perr != nil {
			return s.panelStudyPage(c, valid.Errorf(kind, "must be a number"))
		}
		if err := s.cfg.Assess.SaveJudgement(ctx, id, user, kind, v); err != nil {
			return s.panelError(c, err)
		}
	}
	if c.FormValue("submit") == "round" {
		if err := s.cfg.Assess.SubmitRound(ctx, id, user); err != nil {
			return s.panelError(c, err)
		}
	}
	return c.Redirect("/panel/studies/"+id, fiber.StatusSeeOther)
}

func (s *Server) panelError(c *fiber.Ctx, err error) error {
	if errors.Is(err, valid.ErrInvalid) {
		return s.panelStudyPage(c, err)
	}
	if errors.Is(err, assess.ErrConflict) {
		return s.panelStudyPage(c, valid.Errorf("round", "%s", strings.TrimPrefix(err.Error(), "assess: conflict: ")))
	}
	return err
}

// The studies API.

type studyJSON struct {
	ID            string         `json:"id"`
	ExamID        string         `json:"exam_id"`
	FormID        string         `json:"form_id,omitempty"`
	Method        string         `json:"method"`
	Title         string         `json:"title"`
	MCC           string         `json:"mcc"`
	PlannedRounds int            `json:"planned_rounds"`
	CurrentRound  int            `json:"current_round"`
	ReleasedRound int            `json:"released_round"`
	Status        string         `json:"status"`
	Panelists     []panelistJSON `json:"panelists"`
	CreatedAt     time.Time      `json:"created_at"`
}

type panelistJSON struct {
	ID             string `json:"id"`
	UserID         string `json:"user_id,omitempty"`
	Name           string `json:"name"`
	Qualification  string `json:"qualification,omitempty"`
	SubmittedRound int    `json:"submitted_round"`
}

func toStudyJSON(st assess.Study) studyJSON {
	out := studyJSON{ID: st.ID, ExamID: st.ExamID, FormID: st.FormID, Method: st.Method, Title: st.Title, MCC: st.MCC,
		PlannedRounds: st.PlannedRounds, CurrentRound: st.CurrentRound, ReleasedRound: st.ReleasedRound, Status: st.Status,
		Panelists: []panelistJSON{}, CreatedAt: st.CreatedAt}
	for _, p := range st.Panelists {
		out.Panelists = append(out.Panelists, panelistJSON{ID: p.ID, UserID: p.UserID, Name: p.Name, Qualification: p.Qualification, SubmittedRound: p.SubmittedRound})
	}
	return out
}

func (s *Server) apiCreateStudy(c *fiber.Ctx) error {
	var in struct {
		Title         string `json:"title"`
		Method        string `json:"method"`
		MCC           string `json:"mcc"`
		FormID        string `json:"form_id"`
		PlannedRounds int    `json:"planned_rounds"`
		Panelists     []struct {
			UserID        string `json:"user_id"`
			Qualification string `json:"qualification"`
		} `json:"panelists"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	st := assess.Study{ExamID: c.Params("id"), Title: in.Title, Method: in.Method, MCC: in.MCC, FormID: in.FormID, PlannedRounds: in.PlannedRounds}
	for _, p := range in.Panelists {
		st.Panelists = append(st.Panelists, assess.Panelist{UserID: p.UserID, Qualification: p.Qualification})
	}
	created, err := s.cfg.Assess.CreateStudy(c.UserContext(), currentUser(c).ID, st)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toStudyJSON(created))
}

func (s *Server) apiStudy(c *fiber.Ctx) error {
	st, err := s.cfg.Assess.Study(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(toStudyJSON(st))
}

func (s *Server) apiStudyRecommendation(c *fiber.Ctx) error {
	rec, err := s.cfg.Assess.StudyRecommendation(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	type method struct {
		Method    string `json:"method"`
		Available bool   `json:"available"`
		Cut       any    `json:"cut"`
		SE        any    `json:"se"`
		PassRate  any    `json:"pass_rate"`
		Panelists int    `json:"panelists"`
		Note      string `json:"note"`
	}
	type round struct {
		Round        int `json:"round"`
		Cut          any `json:"cut"`
		SE           any `json:"se"`
		ICCAgreement any `json:"icc_agreement"`
		Complete     int `json:"complete"`
	}
	out := fiber.Map{"study_id": rec.Study.ID, "method": rec.Method, "max_score": rec.MaxScore, "cut": finite(rec.Cut), "se": finite(rec.SE),
		"pass_rate": finite(rec.Impact.PassRate), "candidates": rec.Impact.Candidates, "reliability": finite(rec.Reliability),
		"decision_consistency": finite(rec.DecisionConsistency), "classification_accuracy": rec.Accuracy, "csem_at_cut": rec.CSEMAtCut}
	var rounds []round
	for _, r := range rec.Rounds {
		rounds = append(rounds, round{Round: r.Round, Cut: finite(r.Cut), SE: finite(r.SE), ICCAgreement: finite(r.ICCAgreement), Complete: r.Complete})
	}
	var methods []method
	for _, m := range rec.Methods {
		methods = append(methods, method{Method: m.Method, Available: m.Available, Cut: finite(m.Cut), SE: finite(m.SE), PassRate: finite(m.PassRate), Panelists: m.Panelists, Note: m.Note})
	}
	out["rounds"], out["methods"] = rounds, methods
	return c.JSON(out)
}

func (s *Server) apiStudyStep(step func(s *Server, c *fiber.Ctx, actor, id string) (any, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		out, err := step(s, c, currentUser(c).ID, c.Params("id"))
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
}

func apiRelease(s *Server, c *fiber.Ctx, actor, id string) (any, error) {
	st, err := s.cfg.Assess.ReleaseFeedback(c.UserContext(), actor, id)
	return toStudyJSON(st), err
}

func apiNextRound(s *Server, c *fiber.Ctx, actor, id string) (any, error) {
	st, err := s.cfg.Assess.OpenNextRound(c.UserContext(), actor, id)
	return toStudyJSON(st), err
}

func apiAdopt(s *Server, c *fiber.Ctx, actor, id string) (any, error) {
	var in struct {
		Cut         *float64 `json:"cut"`
		Reason      string   `json:"reason"`
		EffectiveOn string   `json:"effective_on"`
	}
	if err := bind(c, &in); err != nil {
		return nil, err
	}
	if in.Cut == nil {
		return nil, valid.Errorf("cut", "is required")
	}
	a, err := adoptionFrom(strconv.FormatFloat(*in.Cut, 'f', -1, 64), in.Reason, in.EffectiveOn)
	if err != nil {
		return nil, err
	}
	st, err := s.cfg.Assess.AdoptStandard(c.UserContext(), actor, id, a)
	if err != nil {
		return nil, err
	}
	return standardJSON(st), nil
}

func (s *Server) apiSaveRating(c *fiber.Ctx) error {
	var in struct {
		Value *float64 `json:"value"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	if in.Value == nil {
		return valid.Errorf("value", "is required")
	}
	if err := s.cfg.Assess.SaveRating(c.UserContext(), c.Params("id"), currentUser(c).ID, c.Params("itemId"), *in.Value); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"item_id": c.Params("itemId"), "value": *in.Value, "saved": true})
}

func (s *Server) apiSaveJudgement(c *fiber.Ctx) error {
	var in struct {
		Value *float64 `json:"value"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	if in.Value == nil {
		return valid.Errorf("value", "is required")
	}
	if err := s.cfg.Assess.SaveJudgement(c.UserContext(), c.Params("id"), currentUser(c).ID, c.Params("kind"), *in.Value); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"kind": c.Params("kind"), "value": *in.Value, "saved": true})
}

func (s *Server) apiSubmitRound(c *fiber.Ctx) error {
	if err := s.cfg.Assess.SubmitRound(c.UserContext(), c.Params("id"), currentUser(c).ID); err != nil {
		return err
	}
	st, _, _, err := s.cfg.Assess.PanelistWork(c.UserContext(), c.Params("id"), currentUser(c).ID)
	if err != nil {
		return err
	}
	return c.JSON(toStudyJSON(st))
}
