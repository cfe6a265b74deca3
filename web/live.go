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

// streamLife bounds one stream; the browser reconnects at once and
// re-reads the attempt, so nothing published in between is lost. Each
// reconnect costs the candidate's page two reads, so streams live for
// minutes: with 25-second streams those re-reads were a third of all
// requests in the load test.
const streamLife = 5 * time.Minute

// streamWriteWindow is how long one write to a stream may take: each
// write extends the connection's deadline by it, so a long stream outlives
// the server's write timeout while a browser that stops reading is still
// cut off.
const streamWriteWindow = 30 * time.Second

// defaultStreamPing is Config.StreamPing's default. A stream pings only
// when nothing else was written for that long, since each ping costs a
// write on the server and a wake-up in the browser: a ping every ten
// seconds, whatever was sent, made as many writes as all the candidates'
// proctoring events together in the load test.
const defaultStreamPing = 25 * time.Second

// liveEvent is what a candidate's page learns of a proctor's action.
type liveEvent struct {
	Type             string    `json:"type"` // hold, resume, time, terminate, message
	At               time.Time `json:"at"`
	RemainingSeconds *int      `json:"remaining_seconds,omitempty"`
	Message          string    `json:"message,omitempty"`
}

// liveChannel carries every attempt's live events across the deployment,
// keyed by attempt.
const liveChannel = "live:attempts"

// liveMessage is one event on a live channel: the key of the streams it
// is for (an attempt on liveChannel, an exam on consoleChannel, a check-in
// on checkinChannel) and what they receive.
type liveMessage struct {
	Key   string          `json:"key"`
	Event json.RawMessage `json:"event"`
}

// publishOn tells every instance's streams of key on channel about event.
func (s *Server) publishOn(ctx context.Context, channel, key string, event any) error {
	ev, err := json.Marshal(event)
	if err != nil {
		return err
	}
	b, err := json.Marshal(liveMessage{Key: key, Event: ev})
	if err != nil {
		return err
	}
	return s.cfg.Live.Publish(ctx, channel, b)
}

// publish tells every instance's streams of the attempt about e. A failure
// is logged, not returned: the action is committed, and the page catches
// up when its stream reconnects.
func (s *Server) publish(ctx context.Context, attemptID string, e liveEvent) {
	if s.cfg.Live == nil {
		return
	}
	if err := s.publishOn(ctx, liveChannel, attemptID, e); err != nil {
		s.cfg.Logger.Warn("live event not published", "attempt", attemptID, "type", e.Type, "err", err)
	}
}

// liveHub is this instance's subscriptions to the live channels: one per
// channel, however many streams listen, so that thousands of candidates
// cost one subscription, not thousands.
type liveHub struct {
	attempts fanout // liveChannel: candidates' pages, by attempt
	console  fanout // consoleChannel: proctors' consoles, by exam
	checkins fanout // checkinChannel: candidates waiting for admission, by check-in
}

// fanout is one channel's subscription and the streams listening to each
// key on it.
type fanout struct {
	mu      sync.Mutex
	started bool
	ready   chan struct{} // closed once the first subscription is made
	streams map[string]map[chan []byte]struct{}
}

// everyKey registers a stream for every message of its channel, whatever
// the key: an administrator's console.
const everyKey = "*"

// listen registers a stream of the keys on channel; cancel ends it. The
// channel's subscription is made on first use and kept (and remade after a
// failure) until StopStreams.
func (s *Server) listen(f *fanout, channel string, keys ...string) (<-chan []byte, func(), error) {
	f.mu.Lock()
	if !f.started {
		f.started, f.ready, f.streams = true, make(chan struct{}), map[string]map[chan []byte]struct{}{}
		go s.runFanout(f, channel)
	}
	ready := f.ready
	ch := make(chan []byte, 16)
	for _, k := range keys {
		if f.streams[k] == nil {
			f.streams[k] = map[chan []byte]struct{}{}
		}
		f.streams[k][ch] = struct{}{}
	}
	f.mu.Unlock()
	cancel := func() {
		f.mu.Lock()
		for _, k := range keys {
			delete(f.streams[k], ch)
			if len(f.streams[k]) == 0 {
				delete(f.streams, k)
			}
		}
		f.mu.Unlock()
	}
	// Wait for the subscription, so that an action right after the stream
	// opens is not missed.
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		cancel()
		// The shared state is down: the page retries its stream later.
		return nil, nil, fiber.NewError(fiber.StatusServiceUnavailable, "live updates are unavailable for now")
	}
	return ch, cancel, nil
}

// runFanout keeps the instance's subscription to channel, handing each
// event to the streams of its key and to those of every key; a stream too
// slow to take it misses it and catches up when it reconnects.
func (s *Server) runFanout(f *fanout, channel string) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-s.streams; cancel() }()
	var once sync.Once
	for ctx.Err() == nil {
		msgs, err := s.cfg.Live.Subscribe(ctx, channel)
		if err != nil {
			s.cfg.Logger.Warn("live updates: subscribe", "channel", channel, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		once.Do(func() { close(f.ready) })
		for m := range msgs {
			var lm liveMessage
			if json.Unmarshal(m, &lm) != nil || lm.Key == "" || lm.Key == everyKey {
				continue
			}
			f.mu.Lock()
			for _, k := range []string{lm.Key, everyKey} {
				for ch := range f.streams[k] {
					select {
					case ch <- lm.Event:
					default:
					}
				}
			}
			f.mu.Unlock()
		}
	}
}

// serveStream answers with the messages as server-sent events until the
// stream's life ends, the browser goes away or StopStreams; then cancel.
func (s *Server) serveStream(c *fiber.Ctx, msgs <-chan []byte, cancel func()) error {
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no") // no proxy buffering of the stream
	stop, silence := s.streams, s.cfg.StreamPing
	conn := c.Context().Conn()
	// A page that leaves (a submit, a closed tab) closes its connection,
	// which a stream would learn only when a write failed, at the next
	// ping: until then a goroutine, a subscription and a socket in
	// CLOSE-WAIT. A browser sends nothing more on a stream's connection,
	// so a read that returns, at the connection's end or with bytes that
	// have no place there, ends the stream at once. The connection is
	// closed after the stream, never reused, so that nothing else reads it.
	c.Context().SetConnectionClose()
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		if conn.SetReadDeadline(time.Time{}) != nil {
			return
		}
		var b [1]byte
		_, _ = conn.Read(b[:])
	}()
	s.cfg.Metrics.liveStreams.Inc()
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer s.cfg.Metrics.liveStreams.Dec()
		defer cancel()
		flush := func() error {
			if err := conn.SetWriteDeadline(time.Now().Add(streamWriteWindow)); err != nil {
				return err
			}
			return w.Flush()
		}
		end := time.NewTimer(streamLife)
		defer end.Stop()
		idle := time.NewTimer(silence)
		defer idle.Stop()
		// The first event tells the page the stream is open, so that it
		// re-reads what it shows and misses nothing from before.
		fmt.Fprint(w, "retry: 1000\nevent: open\ndata: {}\n\n")
		if flush() != nil {
			return
		}
		for {
			select {
			case m := <-msgs:
				fmt.Fprintf(w, "data: %s\n\n", m)
			case <-idle.C:
				fmt.Fprint(w, ": ping\n\n")
			case <-end.C:
				return
			case <-stop:
				return
			case <-gone:
				return // the page went away
			}
			if flush() != nil {
				return // the browser went away
			}
			idle.Reset(silence)
		}
	})
	return nil
}

func remaining(a assess.Attempt, now time.Time) *int {
	r := int(a.Timing(now).Remaining / time.Second)
	return &r
}

// apiAttemptLive streams the proctor's actions on an attempt to its
// candidate (or to a proctor or reviewer of its exam) as server-sent
// events.
func (s *Server) apiAttemptLive(c *fiber.Ctx) error {
	a, err := s.candidateOrStaffAttempt(c)
	if err != nil {
		return err
	}
	if s.cfg.Live == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "live updates are not configured")
	}
	msgs, cancel, err := s.listen(&s.hub.attempts, liveChannel, a.ID)
	if err != nil {
		return err
	}
	return s.serveStream(c, msgs, cancel)
}

// candidateOrStaffAttempt loads the attempt of the route's :id for its
// candidate, or for a proctor or reviewer of its exam; to anyone else it
// is not there.
func (s *Server) candidateOrStaffAttempt(c *fiber.Ctx) (assess.Attempt, error) {
	a, err := s.cfg.Assess.Attempt(c.UserContext(), c.Params("id"))
	if err != nil {
		return assess.Attempt{}, err
	}
	if a.CandidateID == currentUser(c).ID {
		return a, nil
	}
	if err := s.examStaff(c, a.ExamID, assess.StaffProctor, assess.StaffReviewer); err != nil {
		return assess.Attempt{}, err
	}
	return a, nil
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

// apiControl answers a proctor's action in the API. Only the proctors of
// the attempt's exam (and administrators) act on it.
func (s *Server) apiControl(action controlAction) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := s.staffAttempt(c, assess.StaffProctor)
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
		s.announce(c.UserContext(), a, e)
		return c.JSON(out)
	}
}

// postControl runs a proctor's action from the attempt's page and returns
// to it. Only the proctors of the attempt's exam (and administrators) act
// on it.
func (s *Server) postControl(action controlAction) fiber.Handler {
	return func(c *fiber.Ctx) error {
		a, err := s.staffAttempt(c, assess.StaffProctor)
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
		s.announce(c.UserContext(), a, e)
		return c.Redirect("/proctor/attempts/"+a.ID, fiber.StatusSeeOther)
	}
}

// announce tells the candidate's page and the exam's consoles about a
// proctor's action on attempt a (as it was before the action).
func (s *Server) announce(ctx context.Context, a assess.Attempt, e liveEvent) {
	e.At = s.cfg.Now().UTC()
	s.publish(ctx, a.ID, e)
	held := e.Type == "hold" || (e.Type != "resume" && a.HeldAt != nil)
	s.publishConsole(ctx, consoleEvent{Type: e.Type, ExamID: a.ExamID, AttemptID: a.ID, At: e.At,
		RemainingSeconds: e.RemainingSeconds, Held: &held})
}

// apiAttemptMessages lists the proctors' messages of an attempt to its
// candidate, or to a proctor or reviewer of its exam.
func (s *Server) apiAttemptMessages(c *fiber.Ctx) error {
	a, err := s.candidateOrStaffAttempt(c)
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
