package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// responseRequest is the body of PUT …/responses/:itemId. Answer is kept
// raw to tell "absent" (leave the answer) from null (clear it).
type responseRequest struct {
	Answer  json.RawMessage `json:"answer"`
	Flagged *bool           `json:"flagged"`
	Seq     *int64          `json:"seq"`
	// Seconds is the item's time on screen so far, as the player measured.
	Seconds *float64 `json:"seconds"`
}

// update turns the request into an assess.ResponseUpdate. The answer is
// an items.Answer object, null or {} to clear it, or — for clients written
// before item kinds — a bare option id, read as {"choice": id}.
func (r responseRequest) update() (assess.ResponseUpdate, error) {
	var u assess.ResponseUpdate
	u.Flagged = r.Flagged
	u.Seconds = r.Seconds
	if r.Seq != nil {
		if *r.Seq < 0 {
			return u, valid.Errorf("seq", "must not be negative")
		}
		u.Seq = *r.Seq
	}
	raw := bytes.TrimSpace(r.Answer)
	switch {
	case len(raw) == 0:
	case string(raw) == "null":
		u.Answer = &items.Answer{}
	case raw[0] == '"':
		var choice string
		if err := json.Unmarshal(raw, &choice); err != nil {
			return u, &badRequest{field: "answer", message: "is not valid JSON"}
		}
		u.Answer = &items.Answer{Choice: choice}
	case raw[0] == '{':
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		var a items.Answer
		if err := dec.Decode(&a); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) && typeErr.Field != "" {
				return u, &badRequest{field: "answer." + typeErr.Field, message: "has the wrong type"}
			}
			return u, valid.Errorf("answer", "must hold only choice, choices, text or pairs")
		}
		u.Answer = &a
	default:
		return u, &badRequest{field: "answer", message: "has the wrong type"}
	}
	return u, nil
}

// questionJSON is one item of an attempt as its candidate sees it.
func questionJSON(q assess.Question) fiber.Map {
	var answer any
	if q.Answer != nil {
		answer = q.Answer
	}
	return fiber.Map{"position": q.Position, "item_id": q.ItemID, "domain": q.Domain, "section": q.Section,
		"content": q.Content, "answer": answer, "flagged": q.Flagged, "seq": q.Seq, "seconds": q.Seconds}
}

// attemptJSON is an attempt as its candidate may see it: the clock at the
// server's now, the items delivered so far with their saved answers, never
// a key.
func (s *Server) attemptJSON(c *fiber.Ctx, a assess.Attempt) (fiber.Map, error) {
	ctx := c.UserContext()
	qs, err := s.cfg.Assess.Questions(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	exam, err := s.cfg.Assess.Exam(ctx, a.ExamID)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	t := a.Timing(now)
	list := make([]fiber.Map, len(qs))
	for i, q := range qs {
		list[i] = questionJSON(q)
	}
	var cat any
	if a.Mode == assess.ModeCAT {
		cat = fiber.Map{"done": a.CATDone, "administered": len(qs), "max": exam.CAT.MaxItems}
	}
	var sections []fiber.Map
	for _, f := range exam.Forms {
		if f.ID == a.FormID {
			for _, sec := range f.Sections {
				sections = append(sections, fiber.Map{"title": sec.Title, "instructions": sec.Instructions})
			}
		}
	}
	if sections == nil {
		sections = []fiber.Map{}
	}
	return fiber.Map{
		"id": a.ID, "exam_id": a.ExamID, "exam_title": exam.Title, "instructions": exam.Instructions,
		"status": a.Status, "mode": a.Mode, "started_at": a.StartedAt,
		"deadline": t.Deadline, "server_time": now, "remaining_seconds": int(t.Remaining / time.Second), "paused": t.Paused, "held": t.Held,
		"accommodations":      fiber.Map{"time_multiplier": a.TimeMultiplier, "extra_break_minutes": int(a.BreakAllowance / time.Minute)},
		"breaks_left_seconds": int(t.BreakLeft / time.Second),
		"submitted_at":        a.SubmittedAt, "items": list, "sections": sections,
		"can_go_back": a.Mode != assess.ModeCAT, "cat": cat,
		// What the player must capture, and nothing else of the policy: the
		// weights and thresholds stay with the proctors.
		"proctoring": fiber.Map{"snapshot_seconds": exam.Proctoring.SnapshotSeconds,
			"face_check": exam.Proctoring.SnapshotSeconds > 0 && s.proctoring.dir != ""},
	}, nil
}

func (s *Server) apiNext(c *fiber.Ctx) error {
	a, err := s.ownAttempt(c)
	if err != nil {
		return err
	}
	next, err := s.cfg.Assess.Next(c.UserContext(), a.ID)
	if err != nil {
		return err
	}
	if next.Done {
		return c.JSON(fiber.Map{"done": true})
	}
	return c.JSON(fiber.Map{"done": false, "item": questionJSON(*next.Question)})
}

type breakRequest struct {
	Action string `json:"action"`
}

func (s *Server) apiBreak(c *fiber.Ctx) error {
	a, err := s.ownAttempt(c)
	if err != nil {
		return err
	}
	var req breakRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.Action != "start" && req.Action != "end" {
		return valid.Errorf("action", `must be "start" or "end"`)
	}
	if a, err = s.cfg.Assess.Break(c.UserContext(), a.ID, req.Action == "start"); err != nil {
		return err
	}
	t := a.Timing(s.cfg.Now().UTC())
	return c.JSON(fiber.Map{"paused": t.Paused, "deadline": t.Deadline, "remaining_seconds": int(t.Remaining / time.Second),
		"breaks_left_seconds": int(t.BreakLeft / time.Second)})
}

type policyRequest struct {
	MaxAttempts           int        `json:"max_attempts"`
	RetakeWaitSeconds     int        `json:"retake_wait_seconds"`
	OpensAt               *time.Time `json:"opens_at"`
	ClosesAt              *time.Time `json:"closes_at"`
	DifferentFormOnRetake bool       `json:"different_form_on_retake"`
	Prerequisites         []string   `json:"prerequisites"`
}

func (s *Server) apiSetPolicy(c *fiber.Ctx) error {
	var req policyRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	exam, err := s.cfg.Assess.SetPolicy(c.UserContext(), currentUser(c).ID, c.Params("id"), assess.Policy{
		MaxAttempts: req.MaxAttempts, RetakeWait: time.Duration(req.RetakeWaitSeconds) * time.Second,
		OpensAt: req.OpensAt, ClosesAt: req.ClosesAt, DifferentFormOnRetake: req.DifferentFormOnRetake, Prerequisites: req.Prerequisites})
	if err != nil {
		return err
	}
	return c.JSON(policyJSON(exam.Policy))
}

func policyJSON(p assess.Policy) fiber.Map {
	prereqs := p.Prerequisites
	if prereqs == nil {
		prereqs = []string{}
	}
	return fiber.Map{"max_attempts": p.MaxAttempts, "retake_wait_seconds": int(p.RetakeWait / time.Second),
		"opens_at": p.OpensAt, "closes_at": p.ClosesAt, "different_form_on_retake": p.DifferentFormOnRetake, "prerequisites": prereqs}
}

type accommodationRequest struct {
	TimeMultiplier    float64 `json:"time_multiplier"`
	ExtraBreakMinutes int     `json:"extra_break_minutes"`
	Note              string  `json:"note"`
}

func (s *Server) apiSetAccommodation(c *fiber.Ctx) error {
	var req accommodationRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if req.ExtraBreakMinutes < 0 || req.ExtraBreakMinutes > int(assess.MaxExtraBreak/time.Minute) {
		return valid.Errorf("extra_break_minutes", "must be from 0 to %d", int(assess.MaxExtraBreak/time.Minute))
	}
	a, err := s.cfg.Assess.SetAccommodation(c.UserContext(), currentUser(c).ID, assess.Accommodation{
		ExamID: c.Params("id"), CandidateID: c.Params("candidateId"), TimeMultiplier: req.TimeMultiplier,
		ExtraBreak: time.Duration(req.ExtraBreakMinutes) * time.Minute, Note: req.Note})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"exam_id": a.ExamID, "candidate_id": a.CandidateID, "time_multiplier": a.TimeMultiplier,
		"extra_break_minutes": int(a.ExtraBreak / time.Minute), "note": a.Note, "granted_by": a.GrantedBy, "granted_at": a.GrantedAt})
}

func (s *Server) apiRemoveAccommodation(c *fiber.Ctx) error {
	if err := s.cfg.Assess.RemoveAccommodation(c.UserContext(), currentUser(c).ID, c.Params("id"), c.Params("candidateId")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// finitePtr is *x, or nil (JSON null) when x is nil, NaN or infinite.
func finitePtr(x *float64) any {
	if x == nil || math.IsNaN(*x) || math.IsInf(*x, 0) {
		return nil
	}
	return *x
}
