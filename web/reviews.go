package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// Proctoring reviews: the queue of flagged attempts, riskiest first, and
// the reviewer's decision, which the attempt's credential follows.

func reviewJSON(r assess.Review) fiber.Map {
	reasons := r.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	return fiber.Map{"attempt_id": r.AttemptID, "status": r.Status, "risk": r.Risk, "reasons": reasons,
		"opened_by": r.OpenedBy, "opened_at": r.OpenedAt, "decided_by": r.DecidedBy, "decided_at": r.DecidedAt, "note": r.Note}
}

func (s *Server) apiSetProctoring(c *fiber.Ctx) error {
	var in assess.ProctoringPolicy
	if err := bind(c, &in); err != nil {
		return err
	}
	e, err := s.cfg.Assess.SetProctoring(c.UserContext(), currentUser(c).ID, c.Params("id"), in)
	if err != nil {
		return err
	}
	w := e.Proctoring.Weights
	if w == nil {
		w = map[string]float64{}
	}
	p := e.Proctoring
	admission := p.Admission
	if admission == "" {
		admission = assess.AdmitAutomatically
	}
	return c.JSON(fiber.Map{"weights": w, "review_at": p.ReviewAt, "hold_credentials": p.HoldCredentials,
		"check_in": p.CheckIn, "admission": admission, "snapshot_seconds": p.SnapshotSeconds, "rules": p.Rules})
}

// reviewable lists the reviews with the status (all when empty) of the
// exams the signed-in user proctors or reviews (every exam's for an
// administrator), riskiest first, each with its attempt.
func (s *Server) reviewable(c *fiber.Ctx, status string) ([]assess.Review, []assess.Attempt, error) {
	ctx := c.UserContext()
	u := currentUser(c)
	var mine map[string][]string
	if !u.Has(auth.Admin) {
		if !u.Has(auth.Proctor) {
			return nil, nil, nil
		}
		var err error
		if mine, err = s.cfg.Assess.StaffExams(ctx, u.ID); err != nil {
			return nil, nil, err
		}
		if len(mine) == 0 {
			return nil, nil, nil
		}
	}
	list, err := s.cfg.Assess.Reviews(ctx, status)
	if err != nil {
		return nil, nil, err
	}
	var reviews []assess.Review
	var attempts []assess.Attempt
	for _, r := range list {
		a, err := s.cfg.Assess.Attempt(ctx, r.AttemptID)
		if err != nil {
			return nil, nil, err
		}
		if mine != nil && len(mine[a.ExamID]) == 0 { // every assignment is as proctor or reviewer
			continue
		}
		reviews, attempts = append(reviews, r), append(attempts, a)
	}
	return reviews, attempts, nil
}

func (s *Server) apiReviews(c *fiber.Ctx) error {
	list, _, err := s.reviewable(c, c.Query("status"))
	if err != nil {
		return err
	}
	out := make([]fiber.Map, len(list))
	for i, r := range list {
		out[i] = reviewJSON(r)
	}
	return c.JSON(out)
}

// reviewStaff checks that the signed-in user proctors or reviews the exam
// of the route's attempt (or is an administrator).
func (s *Server) reviewStaff(c *fiber.Ctx) error {
	_, err := s.staffAttempt(c, assess.StaffProctor, assess.StaffReviewer)
	return err
}

func (s *Server) apiOpenReview(c *fiber.Ctx) error {
	if err := s.reviewStaff(c); err != nil {
		return err
	}
	var in struct {
		Reasons []string `json:"reasons"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	r, err := s.cfg.Assess.OpenReview(c.UserContext(), currentUser(c).ID, c.Params("id"), in.Reasons)
	if err != nil {
		return err
	}
	return c.JSON(reviewJSON(r))
}

func (s *Server) apiDecideReview(c *fiber.Ctx) error {
	if err := s.reviewStaff(c); err != nil {
		return err
	}
	var in struct {
		Decision string `json:"decision"`
		Note     string `json:"note"`
	}
	if err := bind(c, &in); err != nil {
		return err
	}
	r, err := s.cfg.Assess.DecideReview(c.UserContext(), currentUser(c).ID, c.Params("id"), in.Decision, in.Note)
	if err != nil {
		return err
	}
	return c.JSON(reviewJSON(r))
}

// The review queue page.

type reviewItem struct {
	assess.Review
	Attempt   assess.Attempt
	Candidate string
	Exam      string
	// Behaviour is the risk the exam's weights give the attempt's events
	// now; Statistics its statistical screening, nil when not screened.
	Behaviour  float64
	Statistics *reviewStatistics
}

type reviewsData struct {
	Status  string
	Reviews []reviewItem
	Exams   []reviewExam // the exams whose statistical screening the user may open
}

func (s *Server) pageReviews(c *fiber.Ctx) error {
	ctx := c.UserContext()
	status := c.Query("status", assess.ReviewPending)
	if status == "all" {
		status = ""
	}
	list, attempts, err := s.reviewable(c, status)
	if err != nil {
		return err
	}
	d := reviewsData{Status: c.Query("status", assess.ReviewPending)}
	names := s.names(ctx)
	titles := map[string]string{}
	for i, r := range list {
		a := attempts[i]
		row := reviewItem{Review: r, Attempt: a}
		if row.Candidate, err = names.of(a.CandidateID); err != nil {
			return err
		}
		if _, ok := titles[a.ExamID]; !ok {
			if e, err := s.cfg.Assess.Exam(ctx, a.ExamID); err == nil {
				titles[a.ExamID] = e.Title
			}
		}
		row.Exam = titles[a.ExamID]
		d.Reviews = append(d.Reviews, row)
	}
	if err := s.screenReviews(ctx, d.Reviews); err != nil {
		return err
	}
	if d.Exams, err = s.screeningExams(ctx, currentUser(c)); err != nil {
		return err
	}
	return s.render(c, "reviews", d)
}

// postReviewDecision records the decision from the attempt's page.
func (s *Server) postReviewDecision(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.reviewStaff(c); err != nil {
		return err
	}
	if _, err := s.cfg.Assess.DecideReview(c.UserContext(), currentUser(c).ID, id, c.FormValue("decision"), c.FormValue("note")); err != nil {
		return err
	}
	return c.Redirect("/proctor/attempts/"+id+"#review", fiber.StatusSeeOther)
}

// postOpenReview sends a submitted attempt to review from its page.
func (s *Server) postOpenReview(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.reviewStaff(c); err != nil {
		return err
	}
	reason := strings.TrimSpace(c.FormValue("reason"))
	if reason == "" {
		return valid.Errorf("reason", "say why the attempt needs review")
	}
	if _, err := s.cfg.Assess.OpenReview(c.UserContext(), currentUser(c).ID, id, []string{reason}); err != nil {
		return err
	}
	return c.Redirect("/proctor/attempts/"+id+"#review", fiber.StatusSeeOther)
}
