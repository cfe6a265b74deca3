package web

import (
	"context"
	"slices"
	"sort"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// proctorRow is one live attempt as a proctor sees it.
type proctorRow struct {
	Attempt   assess.Attempt
	Exam      string // title
	Candidate string // name
	Summary   proctor.Summary
}

// consoleScope is the exams whose live sessions the signed-in user
// watches: every exam for an administrator, else those the user is
// assigned to as proctor.
type consoleScope struct {
	all   bool
	ids   []string               // the proctored exams, when not all
	exams map[string]assess.Exam // exams loaded so far, by id
}

// consoleScope returns the signed-in user's scope.
func (s *Server) consoleScope(c *fiber.Ctx) (*consoleScope, error) {
	u := currentUser(c)
	sc := &consoleScope{exams: map[string]assess.Exam{}}
	if u.Has(auth.Admin) {
		sc.all = true
		return sc, nil
	}
	if !u.Has(auth.Proctor) {
		return sc, nil
	}
	staff, err := s.cfg.Assess.StaffExams(c.UserContext(), u.ID)
	if err != nil {
		return nil, err
	}
	for id, roles := range staff {
		if slices.Contains(roles, assess.StaffProctor) {
			sc.ids = append(sc.ids, id)
		}
	}
	sort.Strings(sc.ids)
	return sc, nil
}

// watches reports whether the scope holds the exam.
func (sc *consoleScope) watches(examID string) bool {
	return sc.all || slices.Contains(sc.ids, examID)
}

// exam returns an exam, loaded once per scope.
func (sc *consoleScope) exam(ctx context.Context, svc *assess.Service, id string) (assess.Exam, error) {
	if e, ok := sc.exams[id]; ok {
		return e, nil
	}
	e, err := svc.Exam(ctx, id)
	if err != nil {
		return assess.Exam{}, err
	}
	sc.exams[id] = e
	return e, nil
}

// liveRows gathers the attempts in progress of the scope's exams (of one
// of them when examID is not empty), newest first, with their event
// counts.
func (s *Server) liveRows(ctx context.Context, sc *consoleScope, examID string) ([]proctorRow, error) {
	filter := assess.LiveFilter{All: sc.all, ExamIDs: sc.ids}
	if examID != "" {
		if !sc.watches(examID) {
			return nil, nil
		}
		filter = assess.LiveFilter{ExamIDs: []string{examID}}
	}
	attempts, err := s.cfg.Assess.LiveAttempts(ctx, filter)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(attempts))
	for i, a := range attempts {
		ids[i] = a.ID
	}
	summaries, err := s.cfg.Proctor.Summaries(ctx, ids)
	if err != nil {
		return nil, err
	}
	names := s.names(ctx)
	rows := make([]proctorRow, len(attempts))
	for i, a := range attempts {
		e, err := sc.exam(ctx, s.cfg.Assess, a.ExamID)
		if err != nil {
			return nil, err
		}
		name, err := names.of(a.CandidateID)
		if err != nil {
			return nil, err
		}
		rows[i] = proctorRow{Attempt: a, Exam: e.Title, Candidate: name, Summary: summaries[a.ID]}
	}
	return rows, nil
}

// proctorRows gathers the live attempts the signed-in user watches, for
// the dashboard.
func (s *Server) proctorRows(c *fiber.Ctx) ([]proctorRow, error) {
	sc, err := s.consoleScope(c)
	if err != nil {
		return nil, err
	}
	return s.liveRows(c.UserContext(), sc, "")
}
