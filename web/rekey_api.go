package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/items"
)

// rekeyers may correct a published key: the psychometrician who found it
// and the program manager who answers for the exam.
var rekeyers = analysts

// rekeyRequest is the corrected content of a published item version and
// why; what candidates saw must stay the same.
type rekeyRequest struct {
	Content items.Content `json:"content"`
	Reason  string        `json:"reason"`
}

// rescoreView is one attempt's result before and after a rekey.
func rescoreView(r assess.Rescore) fiber.Map {
	return fiber.Map{
		"attempt_id":        r.After.AttemptID,
		"exam_id":           r.After.ExamID,
		"score_before":      r.Before.Score,
		"score_after":       r.After.Score,
		"passed_before":     r.Before.Passed,
		"passed_after":      r.After.Passed,
		"standard_version":  r.After.StandardVersion,
		"credential_before": orNil(r.Before.CredentialID),
		"credential_after":  orNil(r.After.CredentialID),
		"changed":           r.Changed(),
	}
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func rescoresView(list []assess.Rescore) fiber.Map {
	out := make([]fiber.Map, len(list))
	changed := 0
	for i, r := range list {
		out[i] = rescoreView(r)
		if r.Changed() {
			changed++
		}
	}
	return fiber.Map{"attempts": out, "changed": changed}
}

// apiRekeyPreview shows exactly what a rekey would change, changing nothing.
func (s *Server) apiRekeyPreview(c *fiber.Ctx) error {
	var req rekeyRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	list, err := s.cfg.Assess.RekeyImpact(c.UserContext(), c.Params("id"), req.Content)
	if err != nil {
		return err
	}
	return c.JSON(rescoresView(list))
}

// apiRekey corrects the key, re-scores the affected attempts and lets
// their credentials follow.
func (s *Server) apiRekey(c *fiber.Ctx) error {
	var req rekeyRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	list, err := s.cfg.Assess.Rekey(c.UserContext(), currentUser(c).ID, c.Params("id"), req.Content, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(rescoresView(list))
}
