package web

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// The program manager's delivery settings of an exam: how it is delivered
// (read only: mode, blueprint, forms, scale), its attempt policy, and the
// accommodations granted to candidates. Every change is audited by assess.

type accommodationView struct {
	assess.Accommodation
	Candidate   string // name
	Email       string
	GrantedName string
}

// BreakMinutes is the extra break time in whole minutes.
func (a accommodationView) BreakMinutes() int { return int(a.ExtraBreak / time.Minute) }

type examSettingsData struct {
	Exam           assess.Exam
	Exams          []assess.Exam
	Accommodations []accommodationView
	CanEdit        bool
	Saved          string // what the last change saved, for the notice
	Error          string // why the last change was refused
	ErrorField     string
	// Policy form values, as typed when a change was refused.
	RetakeWaitHours string
	OpensAt         string
	ClosesAt        string
}

// ModeLabel is the delivery mode in words.
func (d examSettingsData) ModeLabel() string {
	switch d.Exam.Mode {
	case assess.ModeLOFT:
		return "Linear on the fly: a form assembled for each candidate"
	case assess.ModeCAT:
		return "Adaptive: items chosen one by one for each candidate"
	default:
		if len(d.Exam.Forms) > 1 {
			return fmt.Sprintf("Fixed forms: one of %d parallel forms per candidate", len(d.Exam.Forms))
		}
		return "Fixed form: every candidate gets the same items"
	}
}

// Minutes is the exam's time limit in minutes.
func (d examSettingsData) Minutes() int { return int(d.Exam.Duration / time.Minute) }

// Invalid reports whether the refused change named field, for aria-invalid.
func (d examSettingsData) Invalid(field string) bool { return d.ErrorField == field }

// localTime is the value of a datetime-local input, in UTC.
const localTime = "2006-01-02T15:04"

func (s *Server) examSettings(c *fiber.Ctx, saved string, refused error) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	exams, err := s.cfg.Assess.Exams(ctx)
	if err != nil {
		return err
	}
	list, err := s.cfg.Assess.Accommodations(ctx, exam.ID)
	if err != nil {
		return err
	}
	d := examSettingsData{Exam: exam, Exams: exams, CanEdit: currentUser(c).Has(managers...), Saved: saved,
		RetakeWaitHours: trimNumber(exam.Policy.RetakeWait.Hours())}
	if p := exam.Policy.OpensAt; p != nil {
		d.OpensAt = p.UTC().Format(localTime)
	}
	if p := exam.Policy.ClosesAt; p != nil {
		d.ClosesAt = p.UTC().Format(localTime)
	}
	if refused != nil {
		status, body := classify(refused)
		if status >= 500 {
			return refused
		}
		c.Status(status)
		d.Error, d.ErrorField = body.Message, body.Field
		d.RetakeWaitHours, d.OpensAt, d.ClosesAt = c.FormValue("retake_wait_hours"), c.FormValue("opens_at"), c.FormValue("closes_at")
	}
	names := s.names(ctx)
	for _, a := range list {
		v := accommodationView{Accommodation: a}
		if u, err := s.cfg.Auth.User(ctx, a.CandidateID); err == nil {
			v.Candidate, v.Email = u.Name, u.Email
		} else if !errors.Is(err, auth.ErrNotFound) {
			return err
		}
		if v.GrantedName, err = names.of(a.GrantedBy); err != nil {
			return err
		}
		d.Accommodations = append(d.Accommodations, v)
	}
	return s.render(c, "exam_settings", d)
}

// savedNotices say what a redirect after a change saved.
var savedNotices = map[string]string{
	"policy":        "The attempt policy is saved. It applies to attempts started from now on.",
	"accommodation": "The accommodation is granted. It applies to the candidate's next attempt.",
	"removed":       "The accommodation is removed.",
	"created":       "The exam is defined. Candidates can take it once a standard for it is approved.",
}

func (s *Server) pageExamSettings(c *fiber.Ctx) error {
	return s.examSettings(c, savedNotices[c.Query("saved")], nil)
}

// formTime reads a datetime-local field as UTC; blank is nil.
func formTime(c *fiber.Ctx, field string) (*time.Time, error) {
	raw := strings.TrimSpace(c.FormValue(field))
	if raw == "" {
		return nil, nil
	}
	t, err := time.ParseInLocation(localTime, raw, time.UTC)
	if err != nil {
		return nil, valid.Errorf(field, "is not a date and time")
	}
	return &t, nil
}

// formNumber reads a number field; blank is 0.
func formNumber(c *fiber.Ctx, field string) (float64, error) {
	return parseNumber(field, c.FormValue(field))
}

// parseNumber reads a number typed in the form field named field; blank
// is 0.
func parseNumber(field, raw string) (float64, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return 0, nil
	}
	x, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return 0, valid.Errorf(field, "is not a number")
	}
	return x, nil
}

func (s *Server) postExamPolicy(c *fiber.Ctx) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	p, err := policyFromForm(c, exam.Policy)
	if err == nil {
		_, err = s.cfg.Assess.SetPolicy(ctx, currentUser(c).ID, exam.ID, p)
	}
	if err != nil {
		return s.examSettings(c, "", err)
	}
	return c.Redirect("/manage/exams/"+exam.ID+"?saved=policy", fiber.StatusSeeOther)
}

func policyFromForm(c *fiber.Ctx, old assess.Policy) (assess.Policy, error) {
	p := assess.Policy{Prerequisites: old.Prerequisites, DifferentFormOnRetake: c.FormValue("different_form_on_retake") == "1"}
	attempts, err := formNumber(c, "max_attempts")
	if err != nil {
		return p, err
	}
	if attempts != float64(int(attempts)) {
		return p, valid.Errorf("max_attempts", "must be a whole number")
	}
	p.MaxAttempts = int(attempts)
	hours, err := formNumber(c, "retake_wait_hours")
	if err != nil {
		return p, err
	}
	p.RetakeWait = time.Duration(hours * float64(time.Hour)).Round(time.Second)
	if p.OpensAt, err = formTime(c, "opens_at"); err != nil {
		return p, err
	}
	p.ClosesAt, err = formTime(c, "closes_at")
	return p, err
}

func (s *Server) postGrantAccommodation(c *fiber.Ctx) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	err = s.grantFromForm(c, exam.ID)
	if err != nil {
		return s.examSettings(c, "", err)
	}
	return c.Redirect("/manage/exams/"+exam.ID+"?saved=accommodation", fiber.StatusSeeOther)
}

func (s *Server) grantFromForm(c *fiber.Ctx, examID string) error {
	ctx := c.UserContext()
	email := strings.TrimSpace(c.FormValue("email"))
	if email == "" {
		return valid.Errorf("email", "is required")
	}
	u, err := s.cfg.Auth.UserByEmail(ctx, email)
	if errors.Is(err, auth.ErrNotFound) || (err == nil && !u.Has(auth.Candidate)) {
		return valid.Errorf("email", "is not a candidate's address")
	}
	if err != nil {
		return err
	}
	multiplier, err := formNumber(c, "time_multiplier")
	if err != nil {
		return err
	}
	minutes, err := formNumber(c, "extra_break_minutes")
	if err != nil {
		return err
	}
	if minutes != float64(int(minutes)) || minutes < 0 || minutes > assess.MaxExtraBreak.Minutes() {
		return valid.Errorf("extra_break_minutes", "must be whole minutes from 0 to %d", int(assess.MaxExtraBreak.Minutes()))
	}
	_, err = s.cfg.Assess.SetAccommodation(ctx, currentUser(c).ID, assess.Accommodation{ExamID: examID, CandidateID: u.ID,
		TimeMultiplier: multiplier, ExtraBreak: time.Duration(minutes) * time.Minute, Note: strings.TrimSpace(c.FormValue("note"))})
	return err
}

func (s *Server) postRemoveAccommodation(c *fiber.Ctx) error {
	ctx := c.UserContext()
	if err := s.cfg.Assess.RemoveAccommodation(ctx, currentUser(c).ID, c.Params("id"), c.Params("candidateId")); err != nil {
		return err
	}
	return c.Redirect("/manage/exams/"+c.Params("id")+"?saved=removed", fiber.StatusSeeOther)
}
