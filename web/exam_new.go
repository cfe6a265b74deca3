package web

import (
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// The program manager's page that defines an exam: its blueprint (one
// domain a line), its pool (the approved items of those domains), its
// delivery mode with the mode's settings, and its reporting scale. Forms
// and sections are defined through the API (POST /api/v1/exams).

type newExamForm struct {
	ProgramID, Title, Slug, Description, Instructions string
	AchievementID                                     string
	Minutes, Mode, Domains                            string
	SETarget, MinItems, MaxItems, MaxExposure         string
	ScaleName, ScaleBasis, Slope, Intercept           string
	ScaleMin, ScaleMax, Step                          string
}

type newExamData struct {
	Programs     []assess.Program
	Achievements []credential.AchievementRecord // what a pass can earn
	Domains      []choice
	Form         newExamForm
	Error        string
	ErrorField   string
}

// Invalid reports whether the refused definition named field.
func (d newExamData) Invalid(field string) bool {
	return d.ErrorField == field || strings.HasPrefix(d.ErrorField, field+".") || strings.HasPrefix(d.ErrorField, field+"[")
}

func readNewExamForm(c *fiber.Ctx) newExamForm {
	v := func(k string) string { return strings.TrimSpace(c.FormValue(k)) }
	return newExamForm{ProgramID: v("program_id"), Title: v("title"), Slug: v("slug"), Description: v("description"),
		Instructions: v("instructions"), AchievementID: v("achievement_id"), Minutes: v("duration_minutes"), Mode: v("mode"), Domains: c.FormValue("domains"),
		SETarget: v("cat.se_target"), MinItems: v("cat.min_items"), MaxItems: v("cat.max_items"), MaxExposure: v("loft.max_exposure"),
		ScaleName: v("scale.name"), ScaleBasis: v("scale.basis"), Slope: v("scale.slope"), Intercept: v("scale.intercept"),
		ScaleMin: v("scale.min"), ScaleMax: v("scale.max"), Step: v("scale.step")}
}

func (s *Server) newExamPage(c *fiber.Ctx, form newExamForm, refused error) error {
	bc, err := s.bankContext(c)
	if err != nil {
		return err
	}
	achievements, err := s.cfg.Credentials.Achievements(c.UserContext())
	if err != nil {
		return err
	}
	d := newExamData{Programs: bc.Programs, Achievements: achievements, Domains: bc.Domains, Form: form}
	if refused != nil {
		status, body := classify(refused)
		if status >= 500 {
			return refused
		}
		c.Status(status)
		d.Error, d.ErrorField = body.Message, body.Field
	}
	return s.render(c, "exam_new", d)
}

func (s *Server) pageNewExam(c *fiber.Ctx) error {
	return s.newExamPage(c, newExamForm{Minutes: "30", Mode: assess.ModeFixed, MaxItems: "30", MinItems: "8", SETarget: "0.35"}, nil)
}

func (s *Server) postNewExam(c *fiber.Ctx) error {
	form := readNewExamForm(c)
	e, err := s.examFromForm(c, form)
	if err == nil {
		e, err = s.cfg.Assess.CreateExamAs(c.UserContext(), currentUser(c).ID, e)
	}
	if err != nil {
		return s.newExamPage(c, form, err)
	}
	return c.Redirect("/manage/exams/"+e.ID+"?saved=created", fiber.StatusSeeOther)
}

// examFromForm turns the page's form into an exam; the pool is every
// approved item of the program in the blueprint's domains.
func (s *Server) examFromForm(c *fiber.Ctx, f newExamForm) (assess.Exam, error) {
	num := parseNumber
	whole := func(field, raw string) (int, error) {
		x, err := num(field, raw)
		if err == nil && x != float64(int(x)) {
			err = valid.Errorf(field, "must be a whole number")
		}
		return int(x), err
	}
	minutes, err := whole("duration_minutes", f.Minutes)
	if err != nil {
		return assess.Exam{}, err
	}
	if minutes < 1 {
		return assess.Exam{}, valid.Errorf("duration_minutes", "must be at least 1")
	}
	e := assess.Exam{ProgramID: f.ProgramID, Title: f.Title, Slug: f.Slug, Description: f.Description, Instructions: f.Instructions,
		Duration: time.Duration(minutes) * time.Minute, Mode: f.Mode, AchievementID: f.AchievementID}
	// One domain a line: "CODE | Name | items | weight"; the last two may be blank.
	for i, line := range strings.Split(f.Domains, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.Split(line, "|")
		for len(parts) < 4 {
			parts = append(parts, "")
		}
		field := fmt.Sprintf("domains[%d]", len(e.Domains))
		d := assess.Domain{Code: strings.TrimSpace(parts[0]), Name: strings.TrimSpace(parts[1])}
		if d.Code == "" || d.Name == "" {
			return assess.Exam{}, valid.Errorf("domains", "line %d: write CODE | Name | items | weight", i+1)
		}
		if d.Count, err = whole(field+".count", strings.TrimSpace(parts[2])); err != nil {
			return assess.Exam{}, err
		}
		if d.Weight, err = num(field+".weight", strings.TrimSpace(parts[3])); err != nil {
			return assess.Exam{}, err
		}
		e.Domains = append(e.Domains, d)
	}
	if len(e.Domains) == 0 {
		return assess.Exam{}, valid.Errorf("domains", "at least one domain is required")
	}
	if f.ProgramID == "" {
		return assess.Exam{}, valid.Errorf("program_id", "is required")
	}
	for _, d := range e.Domains {
		for offset := 0; ; {
			page, err := s.cfg.Items.List(c.UserContext(), items.Filter{ProgramID: f.ProgramID, Domain: d.Code,
				Status: items.StatusApproved, Offset: offset, Limit: items.MaxLimit})
			if err != nil {
				return assess.Exam{}, err
			}
			for _, it := range page.Items {
				e.ItemIDs = append(e.ItemIDs, it.ID)
			}
			offset += len(page.Items)
			if len(page.Items) == 0 || offset >= page.Total {
				break
			}
		}
	}
	if len(e.ItemIDs) == 0 {
		return assess.Exam{}, valid.Errorf("domains", "the program has no approved item in these domains")
	}
	switch e.Mode {
	case assess.ModeCAT:
		if e.CAT.SETarget, err = num("cat.se_target", f.SETarget); err != nil {
			return assess.Exam{}, err
		}
		if e.CAT.MinItems, err = whole("cat.min_items", f.MinItems); err != nil {
			return assess.Exam{}, err
		}
		if e.CAT.MaxItems, err = whole("cat.max_items", f.MaxItems); err != nil {
			return assess.Exam{}, err
		}
	case assess.ModeLOFT:
		if e.LOFT.MaxExposure, err = num("loft.max_exposure", f.MaxExposure); err != nil {
			return assess.Exam{}, err
		}
	}
	if f.ScaleBasis != "" {
		e.Scale = assess.Scale{Name: f.ScaleName, Basis: f.ScaleBasis}
		for _, p := range []struct {
			field, raw string
			dst        *float64
		}{{"scale.slope", f.Slope, &e.Scale.Slope}, {"scale.intercept", f.Intercept, &e.Scale.Intercept},
			{"scale.min", f.ScaleMin, &e.Scale.Min}, {"scale.max", f.ScaleMax, &e.Scale.Max}, {"scale.step", f.Step, &e.Scale.Step}} {
			if *p.dst, err = num(p.field, p.raw); err != nil {
				return assess.Exam{}, err
			}
		}
	}
	return e, nil
}
