package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
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

// liveChannel carries every attempt's live events across the deployment;
// each instance subscribes once and hands each event to its own streams of
// that attempt, so that thousands of candidates cost one subscription, not
// thousands.
const liveChannel = "live:attempts"

// liveMessage is one event on liveChannel.
type liveMessage struct {
	AttemptID string          `json:"attempt_id"`
	Event     json.RawMessage `json:"event"`
}

// publish tells every instance's streams of the attempt about e. A failure
// is logged, not returned: the action is committed, and the page catches
// up when its stream reconnects.
func (s *Server) publish(ctx context.Context, attemptID string, e liveEvent) {
	if s.cfg.Live == nil {
		return
	}
	ev, err := json.Marshal(e)
	var b []byte
	if err == nil {
		b, err = json.Marshal(liveMessage{AttemptID: attemptID, Event: ev})
	}
	if err == nil {
		err = s.cfg.Live.Publish(ctx, liveChannel, b)
	}
	if err != nil {
		s.cfg.Logger.Warn("live event not published", "attempt", attemptID, "type", e.Type, "err", err)
	}
}

// liveHub is this instance's one subscription to liveChannel and the
// streams listening to each attempt.
type liveHub struct {
	mu      sync.Mutex
	started bool
	ready   chan struct{} // closed once the first subscription is made
	streams map[string]map[chan []byte]struct{}
}

// listen registers a stream of the attempt; cancel ends it. The hub's
// subscription is made on first use and kept (and remade after a failure)
// until StopStreams.
func (s *Server) listen(attemptID string) (<-chan []byte, func(), error) {
	h := &s.hub
	h.mu.Lock()
	if !h.started {
		h.started, h.ready, h.streams = true, make(chan struct{}), map[string]map[chan []byte]struct{}{}
		go s.runHub()
	}
	ready := h.ready
	ch := make(chan []byte, 8)
	if h.streams[attemptID] == nil {
		h.streams[attemptID] = map[chan []byte]struct{}{}
	}
	h.streams[attemptID][ch] = struct{}{}
	h.mu.Unlock()
	cancel := func() {
		h.mu.Lock()
		delete(h.streams[attemptID], ch)
		if len(h.streams[attemptID]) == 0 {
			delete(h.streams, attemptID)
		}
		h.mu.Unlock()
	}
	// Wait for the subscription, so that an action right after the stream
	// opens is not missed.
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		cancel()
		return nil, nil, fmt.Errorf("web: live updates: no subscription to the shared state")
	}
	return ch, cancel, nil
}

// runHub keeps the instance's subscription, handing each event to the
// streams of its attempt; a stream too slow to take it misses it and
// catches up when it reconnects.
func (s *Server) runHub() {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-s.streams; cancel() }()
	var once sync.Once
	for ctx.Err() == nil {
		msgs, err := s.cfg.Live.Subscribe(ctx, liveChannel)
		if err != nil {
			s.cfg.Logger.Warn("live updates: subscribe", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		once.Do(func() { close(s.hub.ready) })
		for m := range msgs {
			var lm liveMessage
			if json.Unmarshal(m, &lm) != nil {
				continue
			}
			s.hub.mu.Lock()
			for ch := range s.hub.streams[lm.AttemptID] {
				select {
				case ch <- lm.Event:
				default:
				}
			}
			s.hub.mu.Unlock()
		}
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
	msgs, cancel, err := s.listen(a.ID)
	if err != nil {
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
			case m := <-msgs:
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
