package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Live control of an attempt: a proctor's hold, resume, added time,
// termination and messages reach the candidate's page through a stream of
// server-sent events, fanned out through the shared state's pub/sub so
// that the proctor and the candidate may be on different instances.

// streamLife bounds one stream below the server's write timeout; the
// browser reconnects at once and re-reads the attempt, so nothing
// published in between is lost.
const streamLife = 25 * time.Second

// liveEvent is what a candidate's page learns of a proctor's action.
type liveEvent struct {
	Type             string    `json:"type"` // hold, resume, time, terminate, message
	At               time.Time `json:"at"`
	RemainingSeconds *int      `json:"remaining_seconds,omitempty"`
	Message          string    `json:"message,omitempty"`
}

func attemptChannel(id string) string { return "attempt:" + id }

// publish tells every instance's streams of the attempt about e. A failure
// is logged, not returned: the action is committed, and the page catches
// up when its stream reconnects.
func (s *Server) publish(ctx context.Context, attemptID string, e liveEvent) {
	if s.cfg.Live == nil {
		return
	}
	b, err := json.Marshal(e)
	if err == nil {
		err = s.cfg.Live.Publish(ctx, attemptChannel(attemptID), b)
	}
	if err != nil {
		s.cfg.Logger.Warn("live event not published", "attempt", attemptID, "type", e.Type, "err", err)
	}
}

func remaining(a assess.Attempt, now time.Time) *int {
	r := int(a.Timing(now).Remaining / time.Second)
	return &r
}

// apiAttemptLive streams the proctor's actions on an attempt to its
// candidate as server-sent events.
func (s *Server) apiAttemptLive(c *fiber.Ctx) error {
	a, err := s.ownAttempt(c, proctors...)
	if err != nil {
		return err
	}
	if s.cfg.Live == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "live updates are not configured")
	}
	ctx, cancel := context.WithCancel(context.Background())
	msgs, err := s.cfg.Live.Subscribe(ctx, attemptChannel(a.ID))
	if err != nil {
		cancel()
		return err
	}
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no") // no proxy buffering of the stream
	stop := s.streams
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer cancel()
		end := time.NewTimer(streamLife)
		defer end.Stop()
		ping := time.NewTicker(10 * time.Second)
		defer ping.Stop()
		// The first event tells the page the stream is open, so that it
		// re-reads the attempt and misses nothing from before.
		fmt.Fprint(w, "retry: 1000\nevent: open\ndata: {}\n\n")
		if w.Flush() != nil {
			return
		}
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					return
				}
				fmt.Fprintf(w, "data: %s\n\n", m)
			case <-ping.C:
				fmt.Fprint(w, ": ping\n\n")
			case <-end.C:
				return
			case <-stop:
				return
			}
			if w.Flush() != nil {
				return // the browser went away
			}
		}
	})
	return nil
}

// Proctors' actions, in the API and on the console's forms.

type controlRequest struct {
	Reason  string `json:"reason"`
	Minutes int    `json:"minutes"`
	Body    string `json:"body"`
}

// control runs one proctor action on the attempt of the route and tells
// the candidate's page.
type controlAction func(s *Server, c *fiber.Ctx, actor string, a assess.Attempt, in controlRequest) (liveEvent, any, error)

func holdAction(s *Server, c *fiber.Ctx, actor string, a assess.Attempt, in controlRequest) (liveEvent, any, error) {
	a, err := s.cfg.Assess.Hold(c.UserContext(), actor, a.ID, in.Reason)
	return liveEvent{Type: "hold", RemainingSeconds: remaining(a, s.cfg.Now())}, attemptControlJSON(a, s.cfg.Now()), err
}

func resumeAction(s *Server, c *fiber.Ctx, actor string, a assess.Attempt, _ controlRequest) (liveEvent, any, error) {
	a, err := s.cfg.Assess.Resume(c.UserContext(), actor, a.ID)
	return liveEvent{Type: "resume", RemainingSeconds: remaining(a, s.cfg.Now())}, attemptControlJSON(a, s.cfg.Now()), err
}

func addTimeAction(s *Server, c *fiber.Ctx, actor string, a assess.Attempt, in controlRequest) (liveEvent, any, error) {
	a, err := s.cfg.Assess.AddTime(c.UserContext(), actor, a.ID, time.Duration(in.Minutes)*time.Minute, in.Reason)
	return liveEvent{Type: "time", RemainingSeconds: remaining(a, s.cfg.Now()),
		Message: fmt.Sprintf("Your proctor added %d minutes.", in.Minutes)}, attemptControlJSON(a, s.cfg.Now()), err
}

func terminateAction(s *Server, c *fiber.Ctx, actor string, a assess.Attempt, in controlRequest) (liveEvent, any, error) {
	r, err := s.cfg.Assess.Terminate(c.UserContext(), actor, a.ID, in.Reason)
	return liveEvent{Type: "terminate", Message: in.Reason}, fiber.Map{"attempt_id": r.AttemptID, "terminated": r.Terminated,
		"passed": r.Passed, "reason": r.TerminationReason}, err
}

func messageAction(s *Server, c *fiber.Ctx, actor string, a assess.Attempt, in controlRequest) (liveEvent, any, error) {
	m, err := s.cfg.Assess.SendMessage(c.UserContext(), actor, a.ID, in.Body)
	return liveEvent{Type: "message", Message: m.Body}, messageJSON(m), err
}

func attemptControlJSON(a assess.Attempt, now time.Time) fiber.Map {
	t := a.Timing(now)
	return fiber.Map{"id": a.ID, "status": a.Status, "held": t.Held, "paused": t.Paused, "deadline": t.Deadline,
		"remaining_seconds": int(t.Remaining / time.Second), "added_seconds": int(a.Added / time.Second)}
}

func messageJSON(m assess.Message) fiber.Map {
	return fiber.Map{"id": m.ID, "body": m.Body, "sent_at": m.SentAt}
}

// apiControl answers a proctor's action in the API.
func (s *Server) apiControl(action controlAction) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := s.cfg.Assess.Attempt(c.UserContext(), c.Params("id"))
		if err != nil {
			return err
		}
		var in controlRequest
		if len(c.Body()) > 0 {
			if err := bind(c, &in); err != nil {
				return err
			}
		}
		e, out, err := action(s, c, currentUser(c).ID, a, in)
		if err != nil {
			return err
		}
		e.At = s.cfg.Now().UTC()
		s.publish(c.UserContext(), a.ID, e)
		return c.JSON(out)
	}
}

// postControl runs a proctor's action from the console's form and returns
// to the console.
func (s *Server) postControl(action controlAction) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := s.cfg.Assess.Attempt(c.UserContext(), c.Params("id"))
		if err != nil {
			return err
		}
		in := controlRequest{Reason: strings.TrimSpace(c.FormValue("reason")), Body: c.FormValue("body")}
		if m := c.FormValue("minutes"); m != "" {
			if _, err := fmt.Sscan(m, &in.Minutes); err != nil {
				return valid.Errorf("minutes", "must be a whole number")
			}
		}
		e, _, err := action(s, c, currentUser(c).ID, a, in)
		if err != nil {
			return err
		}
		e.At = s.cfg.Now().UTC()
		s.publish(c.UserContext(), a.ID, e)
		return c.Redirect("/proctor/attempts/"+a.ID, fiber.StatusSeeOther)
	}
}

// apiAttemptMessages lists the proctors' messages of an attempt to its
// candidate or a proctor.
func (s *Server) apiAttemptMessages(c *fiber.Ctx) error {
	a, err := s.ownAttempt(c, proctors...)
	if err != nil {
		return err
	}
	msgs, err := s.cfg.Assess.Messages(c.UserContext(), a.ID)
	if err != nil {
		return err
	}
	out := make([]fiber.Map, len(msgs))
	for i, m := range msgs {
		out[i] = messageJSON(m)
	}
	return c.JSON(out)
}
