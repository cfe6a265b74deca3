package web

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
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
	Proctoring     proctoringForm
	Staff          []staffView
	RetentionDays  int
	Program        string // the exam's program, whose retention period it is
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
		RetakeWaitHours: trimNumber(exam.Policy.RetakeWait.Hours()), Proctoring: newProctoringForm(exam.Proctoring)}
	if err := s.proctoringSettings(c, &d); err != nil {
		return err
	}
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
		if strings.HasSuffix(c.Path(), "/proctoring") {
			d.Proctoring = proctoringFormAsTyped(c)
		}
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
	"proctoring":    "The proctoring policy is saved. It applies to check-ins and attempts from now on.",
	"staff":         "The assignment is saved. It takes effect at once.",
	"staff-removed": "The assignment is removed.",
	"retention":     "The retention period is saved. Images already stored keep the period they were stored with.",
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

// Proctoring: the exam's policy (check-in, admission, snapshots, rules,
// review), its proctors and reviewers, and its program's retention period.

// weightKind is an event kind a manager weighs, with the weight suggested
// until they save their own: a second person or screen weighs most, the
// slips of an honest candidate least.
type weightKind struct {
	Kind, Label string
	Default     float64
}

var weightKinds = []weightKind{
	{proctor.FocusLost, "Left the exam window", 1},
	{proctor.Hidden, "Exam tab hidden", 1},
	{proctor.FullscreenExit, "Left full screen", 1},
	{proctor.Copy, "Copied text", 2},
	{proctor.Paste, "Pasted text", 3},
	{proctor.Print, "Tried to print", 3},
	{proctor.ContextMenu, "Opened the context menu", 0.5},
	{proctor.Resize, "Resized the window", 0},
	{proctor.SecondScreen, "Second screen", 5},
	{proctor.Offline, "Went offline", 0.5},
	{proctor.HeartbeatGap, "Page went silent", 2},
	{proctor.CameraLost, "Camera stopped", 3},
	{proctor.NoFace, "No face in a snapshot", 2},
	{proctor.MultipleFaces, "Several faces in a snapshot", 5},
	{proctor.LookingAway, "Looking away in a snapshot", 1},
}

// weightField is a weight's input on the form.
type weightField struct {
	weightKind
	Value string
}

// Field is the name of the weight's input, as assess names its errors.
func (w weightField) Field() string { return "weights." + w.Kind }

// proctoringForm holds the proctoring policy's form values.
type proctoringForm struct {
	CheckIn         bool
	Admission       string
	SnapshotSeconds string
	Rules           string
	ReviewAt        string
	HoldCredentials bool
	Weights         []weightField
	Suggested       bool // no weights saved yet: the suggested ones are shown
}

func newProctoringForm(p assess.ProctoringPolicy) proctoringForm {
	f := proctoringForm{CheckIn: p.CheckIn, Admission: p.Admission, Rules: p.Rules, HoldCredentials: p.HoldCredentials,
		ReviewAt: trimNumber(p.ReviewAt), Suggested: len(p.Weights) == 0}
	if f.Admission == "" {
		f.Admission = assess.AdmitAutomatically
	}
	if p.SnapshotSeconds > 0 {
		f.SnapshotSeconds = strconv.Itoa(p.SnapshotSeconds)
	}
	if p.ReviewAt == 0 {
		f.ReviewAt = ""
	}
	for _, k := range weightKinds {
		w := k.Default
		if !f.Suggested {
			w = p.Weights[k.Kind]
		}
		f.Weights = append(f.Weights, weightField{weightKind: k, Value: trimNumber(w)})
	}
	return f
}

// proctoringFormAsTyped is the form as it was posted, to show again with
// the reason it was refused.
func proctoringFormAsTyped(c *fiber.Ctx) proctoringForm {
	f := proctoringForm{CheckIn: c.FormValue("check_in") == "1", Admission: c.FormValue("admission"),
		SnapshotSeconds: c.FormValue("snapshot_seconds"), Rules: c.FormValue("rules"), ReviewAt: c.FormValue("review_at"),
		HoldCredentials: c.FormValue("hold_credentials") == "1"}
	for _, k := range weightKinds {
		f.Weights = append(f.Weights, weightField{weightKind: k, Value: c.FormValue("weights." + k.Kind)})
	}
	return f
}

// staffView is an assignment as the settings page lists it.
type staffView struct {
	assess.StaffMember
	Name, Email string
}

// RoleLabel is the assignment's role in words.
func (v staffView) RoleLabel() string {
	if v.Role == assess.StaffReviewer {
		return "Reviewer"
	}
	return "Proctor"
}

func (s *Server) proctoringSettings(c *fiber.Ctx, d *examSettingsData) error {
	ctx := c.UserContext()
	keep, err := s.cfg.Assess.SnapshotRetention(ctx, d.Exam.ID)
	if err != nil {
		return err
	}
	d.RetentionDays = int(keep / (24 * time.Hour))
	programs, err := s.cfg.Assess.Programs(ctx)
	if err != nil {
		return err
	}
	for _, p := range programs {
		if p.ID == d.Exam.ProgramID {
			d.Program = p.Name
		}
	}
	staff, err := s.staffViews(ctx, d.Exam.ID)
	if err != nil {
		return err
	}
	d.Staff = staff
	return nil
}

func (s *Server) staffViews(ctx context.Context, examID string) ([]staffView, error) {
	list, err := s.cfg.Assess.Staff(ctx, examID)
	if err != nil {
		return nil, err
	}
	out := make([]staffView, 0, len(list))
	for _, m := range list {
		v := staffView{StaffMember: m}
		if u, err := s.cfg.Auth.User(ctx, m.UserID); err == nil {
			v.Name, v.Email = u.Name, u.Email
		} else if !errors.Is(err, auth.ErrNotFound) {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Server) postExamProctoring(c *fiber.Ctx) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	p, err := proctoringFromForm(c)
	if err == nil {
		_, err = s.cfg.Assess.SetProctoring(ctx, currentUser(c).ID, exam.ID, p)
	}
	if err != nil {
		return s.examSettings(c, "", err)
	}
	return c.Redirect("/manage/exams/"+exam.ID+"?saved=proctoring#proctoring-heading", fiber.StatusSeeOther)
}

func proctoringFromForm(c *fiber.Ctx) (assess.ProctoringPolicy, error) {
	p := assess.ProctoringPolicy{CheckIn: c.FormValue("check_in") == "1", Admission: c.FormValue("admission"),
		Rules: strings.TrimSpace(strings.ReplaceAll(c.FormValue("rules"), "\r\n", "\n")), HoldCredentials: c.FormValue("hold_credentials") == "1"}
	seconds, err := formNumber(c, "snapshot_seconds")
	if err != nil {
		return p, err
	}
	if seconds != float64(int(seconds)) {
		return p, valid.Errorf("snapshot_seconds", "must be whole seconds")
	}
	p.SnapshotSeconds = int(seconds)
	if p.ReviewAt, err = formNumber(c, "review_at"); err != nil {
		return p, err
	}
	for _, k := range weightKinds {
		w, err := formNumber(c, "weights."+k.Kind)
		if err != nil {
			return p, err
		}
		if w != 0 {
			if p.Weights == nil {
				p.Weights = map[string]float64{}
			}
			p.Weights[k.Kind] = w
		}
	}
	return p, nil
}

// notProctor refuses staff without the proctor role, which every
// proctoring page requires.
const notProctor = "is not a proctor's account: only users with the proctor role can proctor or review an exam"

func (s *Server) postAssignStaff(c *fiber.Ctx) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	email := strings.TrimSpace(c.FormValue("staff_email"))
	if email == "" {
		err = valid.Errorf("staff_email", "is required")
	}
	var u auth.User
	if err == nil {
		u, err = s.cfg.Auth.UserByEmail(ctx, email)
		if errors.Is(err, auth.ErrNotFound) || (err == nil && !u.Has(auth.Proctor)) {
			err = valid.Errorf("staff_email", "%s", notProctor)
		}
	}
	if err == nil {
		err = s.cfg.Assess.AssignStaff(ctx, currentUser(c).ID, exam.ID, u.ID, c.FormValue("role"))
	}
	if err != nil {
		return s.examSettings(c, "", err)
	}
	return c.Redirect("/manage/exams/"+exam.ID+"?saved=staff#staff-heading", fiber.StatusSeeOther)
}

func (s *Server) postRemoveStaff(c *fiber.Ctx) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	role := c.FormValue("role")
	if role != assess.StaffProctor && role != assess.StaffReviewer {
		return s.examSettings(c, "", valid.Errorf("role", "must be %q or %q", assess.StaffProctor, assess.StaffReviewer))
	}
	if err := s.cfg.Assess.RemoveStaff(ctx, currentUser(c).ID, exam.ID, c.Params("userId"), role); err != nil {
		return err
	}
	return c.Redirect("/manage/exams/"+exam.ID+"?saved=staff-removed#staff-heading", fiber.StatusSeeOther)
}

func (s *Server) postRetention(c *fiber.Ctx) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	days, err := formNumber(c, "snapshot_retention_days")
	if err == nil && days != float64(int(days)) {
		err = valid.Errorf("snapshot_retention_days", "must be whole days")
	}
	if err == nil {
		err = s.cfg.Assess.SetSnapshotRetention(ctx, currentUser(c).ID, exam.ProgramID, int(days))
	}
	if err != nil {
		return s.examSettings(c, "", err)
	}
	return c.Redirect("/manage/exams/"+exam.ID+"?saved=retention#retention-heading", fiber.StatusSeeOther)
}

// The staff and retention API.

func staffJSON(v staffView) fiber.Map {
	return fiber.Map{"exam_id": v.ExamID, "user_id": v.UserID, "role": v.Role, "name": v.Name, "email": v.Email}
}

func (s *Server) apiExamStaff(c *fiber.Ctx) error {
	exam, err := s.cfg.Assess.Exam(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	list, err := s.staffViews(c.UserContext(), exam.ID)
	if err != nil {
		return err
	}
	out := make([]fiber.Map, len(list))
	for i, v := range list {
		out[i] = staffJSON(v)
	}
	return c.JSON(out)
}

func (s *Server) apiAssignStaff(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var in struct {
		Role string `json:"role"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	userID := c.Params("userId")
	if uuid.Validate(userID) != nil {
		return assess.ErrNotFound
	}
	u, err := s.cfg.Auth.User(ctx, userID)
	if err != nil {
		return err
	}
	if !u.Has(auth.Proctor) {
		return valid.Errorf("user_id", "%s", notProctor)
	}
	if err := s.cfg.Assess.AssignStaff(ctx, currentUser(c).ID, exam.ID, u.ID, in.Role); err != nil {
		return err
	}
	return c.JSON(staffJSON(staffView{StaffMember: assess.StaffMember{ExamID: exam.ID, UserID: u.ID, Role: in.Role}, Name: u.Name, Email: u.Email}))
}

// apiRemoveStaff ends the user's assignment in the ?role= given, or in
// both roles without one.
func (s *Server) apiRemoveStaff(c *fiber.Ctx) error {
	ctx := c.UserContext()
	exam, err := s.cfg.Assess.Exam(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	userID := c.Params("userId")
	if uuid.Validate(userID) != nil {
		return assess.ErrNotFound
	}
	roles := []string{assess.StaffProctor, assess.StaffReviewer}
	switch role := c.Query("role"); role {
	case "":
	case assess.StaffProctor, assess.StaffReviewer:
		roles = []string{role}
	default:
		return valid.Errorf("role", "must be %q or %q", assess.StaffProctor, assess.StaffReviewer)
	}
	for _, role := range roles {
		if err := s.cfg.Assess.RemoveStaff(ctx, currentUser(c).ID, exam.ID, userID, role); err != nil {
			return err
		}
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) apiSetRetention(c *fiber.Ctx) error {
	var in struct {
		Days int `json:"snapshot_retention_days"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	programID := c.Params("id")
	if uuid.Validate(programID) != nil {
		return assess.ErrNotFound
	}
	if err := s.cfg.Assess.SetSnapshotRetention(c.UserContext(), currentUser(c).ID, programID, in.Days); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"program_id": programID, "snapshot_retention_days": in.Days})
}
