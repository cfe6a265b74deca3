package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
)

// proctorRow is one live attempt as a proctor sees it.
type proctorRow struct {
	Attempt   assess.Attempt
	Exam      string // title
	Candidate string // name
	Email     string
	Summary   proctor.Summary
}

// proctorRows gathers the newest live attempts with their event counts,
// for the proctor's page and API.
func (s *Server) proctorRows(c *fiber.Ctx) ([]proctorRow, error) {
	ctx := c.UserContext()
	attempts, err := s.cfg.Assess.RecentAttempts(ctx, 100)
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
	titles := map[string]string{}
	rows := make([]proctorRow, len(attempts))
	for i, a := range attempts {
		if _, ok := titles[a.ExamID]; !ok {
			e, err := s.cfg.Assess.Exam(ctx, a.ExamID)
			if err != nil {
				return nil, err
			}
			titles[a.ExamID] = e.Title
		}
		u, err := s.cfg.Auth.User(ctx, a.CandidateID)
		if err != nil {
			return nil, err
		}
		rows[i] = proctorRow{Attempt: a, Exam: titles[a.ExamID], Candidate: u.Name, Email: u.Email, Summary: summaries[a.ID]}
	}
	return rows, nil
}
