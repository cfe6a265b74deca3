package web

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
)

// The live proctor console: every session in progress of the exams a
// proctor watches, with its latest snapshot and face check, its risk and
// its newest events, riskiest first. The page reads the sessions from
// GET /api/v1/proctor/attempts and applies what GET /api/v1/proctor/live
// streams: what notifyConsole and the proctors' actions publish on
// consoleChannel, keyed by exam, from any instance.

// consoleChannel carries the consoles' events across the deployment,
// keyed by exam; each instance subscribes once and hands each event to its
// streams watching that exam.
const consoleChannel = "live:proctor"

// recentEvents is how many events a session's card lists.
const recentEvents = 5

// consoleEvent is what a console learns of one session.
type consoleEvent struct {
	// Type is "events" (recorded from the page), "snapshot" (a webcam
	// frame and its face check), a proctor's "hold", "resume", "time",
	// "terminate" or "message", the candidate's "started" or
	// "submitted", or "checkin": a check-in that waits for admission or
	// was just admitted or rejected.
	Type      string    `json:"type"`
	ExamID    string    `json:"exam_id"`
	AttemptID string    `json:"attempt_id,omitempty"`
	At        time.Time `json:"at"`
	// CheckinID and Status are a "checkin" event's: pending, admitted or
	// rejected.
	CheckinID string `json:"checkin_id,omitempty"`
	Status    string `json:"status,omitempty"`
	// Events are the events just recorded, oldest first, without
	// heartbeats and snapshot records.
	Events []consoleEventItem `json:"events,omitempty"`
	// Risk, Reasons, Incidents and Counts are the attempt's after them.
	Risk      *float64       `json:"risk,omitempty"`
	Reasons   []riskReason   `json:"reasons,omitempty"`
	Incidents *int           `json:"incidents,omitempty"`
	Counts    map[string]int `json:"counts,omitempty"`
	Snapshot  *consoleShot   `json:"snapshot,omitempty"`
	// Held and RemainingSeconds follow a proctor's action.
	Held             *bool `json:"held,omitempty"`
	RemainingSeconds *int  `json:"remaining_seconds,omitempty"`
}

// consoleEventItem is one proctoring event as a card lists it.
type consoleEventItem struct {
	Kind       string    `json:"kind"`
	Label      string    `json:"label"`
	Detail     string    `json:"detail"`
	Incident   bool      `json:"incident"`
	ReceivedAt time.Time `json:"received_at"`
}

// Time is when the server received the event, to the second, in UTC.
func (e consoleEventItem) Time() string { return e.ReceivedAt.UTC().Format("15:04:05") }

func consoleEventItems(events []proctor.Event) []consoleEventItem {
	out := []consoleEventItem{}
	for _, e := range events {
		if e.Kind == proctor.Heartbeat || e.Kind == proctor.SnapshotTaken {
			continue
		}
		out = append(out, consoleEventItem{Kind: e.Kind, Label: kindLabel(e.Kind), Detail: cardDetail(e.Detail),
			Incident: !proctor.Informational(e.Kind), ReceivedAt: e.ReceivedAt})
	}
	return out
}

// cardDetail is an event's detail as a card has room for it: without the
// reference to the snapshot a face check was made on (the card shows the
// snapshot), and at most 60 characters.
func cardDetail(detail string) string {
	if i := strings.Index(detail, "snapshot "); i >= 0 {
		detail = strings.TrimSuffix(strings.TrimSpace(detail[:i]), " in")
	}
	return excerpt(detail, 60)
}

// consoleShot is a webcam snapshot and its face check as a card shows it.
type consoleShot struct {
	ID          string     `json:"id"`
	Faces       *int       `json:"faces"`        // nil: the browser could not run the check
	LookingAway *bool      `json:"looking_away"` // likewise
	TakenAt     *time.Time `json:"taken_at"`
	ReceivedAt  time.Time  `json:"received_at"`
}

func newConsoleShot(s proctor.Snapshot) *consoleShot {
	return &consoleShot{ID: s.ID, Faces: s.Faces, LookingAway: s.LookingAway, TakenAt: s.TakenAt, ReceivedAt: s.ReceivedAt}
}

// Time is when the server received the snapshot, to the second, in UTC.
func (s consoleShot) Time() string { return s.ReceivedAt.UTC().Format("15:04:05") }

// shotBadge is one finding of a snapshot's face check.
type shotBadge struct{ Text, Class string }

// Badges are the face check's findings: "No face", "2 faces", "Looking
// away", or that the face was in view or could not be checked.
func (s consoleShot) Badges() []shotBadge {
	var out []shotBadge
	switch {
	case s.Faces == nil:
		out = append(out, shotBadge{"Face not checked", "muted"})
	case *s.Faces == 0:
		out = append(out, shotBadge{"No face", "bad"})
	case *s.Faces > 1:
		out = append(out, shotBadge{fmt.Sprintf("%d faces", *s.Faces), "bad"})
	}
	if s.LookingAway != nil && *s.LookingAway {
		out = append(out, shotBadge{"Looking away", "warn"})
	}
	if len(out) == 0 {
		out = append(out, shotBadge{"Face in view", "ok"})
	}
	return out
}

// riskReason is one event kind's part of an attempt's risk.
type riskReason struct {
	Kind   string  `json:"kind"`
	Label  string  `json:"label"`
	Count  int     `json:"count"`
	Points float64 `json:"points"`
}

// String reads "Left the exam window ×3".
func (r riskReason) String() string { return fmt.Sprintf("%s ×%d", r.Label, r.Count) }

// scoreRisk is proctor.Log.Risk on counts already read: the sum over
// kinds of count × weight, with the reasons most weighty first. Kinds
// without a positive weight add nothing.
func scoreRisk(counts map[string]int, weights map[string]float64) (float64, []riskReason) {
	reasons := []riskReason{}
	for kind, n := range counts {
		if w := weights[kind]; w > 0 && n > 0 {
			reasons = append(reasons, riskReason{Kind: kind, Label: kindLabel(kind), Count: n, Points: w * float64(n)})
		}
	}
	sort.Slice(reasons, func(i, j int) bool {
		if reasons[i].Points != reasons[j].Points {
			return reasons[i].Points > reasons[j].Points
		}
		return reasons[i].Kind < reasons[j].Kind
	})
	var risk float64
	for _, r := range reasons {
		risk += r.Points
	}
	return risk, reasons
}

// consoleSession is one live session on the console, as its card shows it
// and as GET /api/v1/proctor/attempts lists it.
type consoleSession struct {
	AttemptID        string         `json:"attempt_id"`
	ExamID           string         `json:"exam_id"`
	Exam             string         `json:"exam"`
	Candidate        string         `json:"candidate"`
	Status           string         `json:"status"`
	StartedAt        time.Time      `json:"started_at"`
	Deadline         time.Time      `json:"deadline"`
	RemainingSeconds int            `json:"remaining_seconds"`
	Held             bool           `json:"held"`     // paused by a proctor
	OnBreak          bool           `json:"on_break"` // on a break of the candidate's
	Incidents        int            `json:"incidents"`
	Counts           map[string]int `json:"counts"`
	// Scored says the exam weighs events, so that Risk means something;
	// ReviewAt is the exam's review threshold (0: none).
	Scored   bool         `json:"scored"`
	Risk     float64      `json:"risk"`
	ReviewAt float64      `json:"review_at"`
	Reasons  []riskReason `json:"reasons"`
	// SnapshotSeconds is the exam's interval between webcam snapshots
	// (0: it takes none); Snapshot is the latest, nil before the first.
	SnapshotSeconds int                `json:"snapshot_seconds"`
	Snapshot        *consoleShot       `json:"snapshot"`
	Events          []consoleEventItem `json:"events"` // the newest first
}

// Level is "high" at or over the exam's review threshold, "raised" with
// any risk (or, on an exam that weighs nothing, any incident), else
// "none".
func (s consoleSession) Level() string {
	switch {
	case s.Scored && s.ReviewAt > 0 && s.Risk >= s.ReviewAt:
		return "high"
	case s.Scored && s.Risk > 0, !s.Scored && s.Incidents > 0:
		return "raised"
	}
	return "none"
}

// TimeLeft is the time left as the card first shows it.
func (s consoleSession) TimeLeft() string {
	if s.RemainingSeconds <= 0 {
		return "Time up"
	}
	return clock(time.Duration(s.RemainingSeconds)*time.Second) + " left"
}

// TopReasons are what the card names as the risk's causes: the weightiest
// three, or on an exam that weighs nothing the three commonest incidents.
func (s consoleSession) TopReasons() []riskReason {
	reasons := s.Reasons
	if !s.Scored {
		reasons = nil
		for kind, n := range s.Counts {
			if n > 0 && !proctor.Informational(kind) {
				reasons = append(reasons, riskReason{Kind: kind, Label: kindLabel(kind), Count: n})
			}
		}
		sort.Slice(reasons, func(i, j int) bool {
			if reasons[i].Count != reasons[j].Count {
				return reasons[i].Count > reasons[j].Count
			}
			return reasons[i].Kind < reasons[j].Kind
		})
	}
	return reasons[:min(3, len(reasons))]
}

// sortSessions puts the riskiest first: by risk, then incidents, then the
// longest running.
func sortSessions(ss []consoleSession) {
	sort.SliceStable(ss, func(i, j int) bool {
		a, b := ss[i], ss[j]
		switch {
		case a.Risk != b.Risk:
			return a.Risk > b.Risk
		case a.Incidents != b.Incidents:
			return a.Incidents > b.Incidents
		case !a.StartedAt.Equal(b.StartedAt):
			return a.StartedAt.Before(b.StartedAt)
		}
		return a.AttemptID < b.AttemptID
	})
}

// consoleSessions gathers the live sessions of the scope (of one exam when
// examID is not empty), riskiest first: four queries for all of them, and
// one per exam and candidate for titles and names.
func (s *Server) consoleSessions(ctx context.Context, sc *consoleScope, examID string) ([]consoleSession, error) {
	rows, err := s.liveRows(ctx, sc, examID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.Attempt.ID
	}
	recent, err := s.cfg.Proctor.Recent(ctx, ids, recentEvents)
	if err != nil {
		return nil, err
	}
	latest := map[string]proctor.Snapshot{}
	if s.cfg.Snapshots != nil {
		if latest, err = s.cfg.Snapshots.Latest(ctx, ids); err != nil {
			return nil, err
		}
	}
	now := s.cfg.Now()
	out := make([]consoleSession, len(rows))
	for i, r := range rows {
		a, policy := r.Attempt, sc.exams[r.Attempt.ExamID].Proctoring
		t := a.Timing(now)
		risk, reasons := scoreRisk(r.Summary.Counts, policy.Weights)
		out[i] = consoleSession{AttemptID: a.ID, ExamID: a.ExamID, Exam: r.Exam, Candidate: r.Candidate, Status: a.Status,
			StartedAt: a.StartedAt, Deadline: a.Deadline, RemainingSeconds: int(t.Remaining / time.Second), Held: t.Held, OnBreak: t.Paused,
			Incidents: r.Summary.Incidents, Counts: r.Summary.Counts, Scored: weighs(policy.Weights), Risk: risk,
			ReviewAt: policy.ReviewAt, Reasons: reasons, SnapshotSeconds: policy.SnapshotSeconds, Events: consoleEventItems(recent[a.ID])}
		if snap, ok := latest[a.ID]; ok {
			out[i].Snapshot = newConsoleShot(snap)
		}
	}
	sortSessions(out)
	return out, nil
}

// weighs reports whether any event kind has a positive weight.
func weighs(weights map[string]float64) bool {
	for _, w := range weights {
		if w > 0 {
			return true
		}
	}
	return false
}

// consoleExam is an exam of the console's filter.
type consoleExam struct {
	ID, Title string
	Live      int
}

type consoleData struct {
	Sessions []consoleSession // shown: the filter's
	Exams    []consoleExam    // the filter's choices
	Exam     string           // the filter's exam id; "" for every exam
	All      bool             // an administrator's console: every exam
	Watching bool             // the user watches at least one exam
	Waiting  int              // check-ins waiting for admission in the exams the user proctors
}

// Live is the number of sessions shown.
func (d consoleData) Live() int { return len(d.Sessions) }

// Kinds names every event kind and says whether it is an incident, as
// JSON for the page's script.
func (d consoleData) Kinds() (string, error) {
	type kind struct {
		Label    string `json:"label"`
		Incident bool   `json:"incident"`
	}
	out := make(map[string]kind, len(proctor.Kinds))
	for _, k := range proctor.Kinds {
		out[k] = kind{kindLabel(k), !proctor.Informational(k)}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// pageProctor is the live console.
func (s *Server) pageProctor(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sc, err := s.consoleScope(c)
	if err != nil {
		return err
	}
	all, err := s.consoleSessions(ctx, sc, "")
	if err != nil {
		return err
	}
	d := consoleData{Exam: c.Query("exam"), All: sc.all, Watching: sc.all || len(sc.ids) > 0}
	if d.Watching {
		if d.Waiting, err = s.waitingCount(ctx, currentUser(c)); err != nil {
			return err
		}
	}
	live := map[string]int{}
	for _, ss := range all {
		live[ss.ExamID]++
		if d.Exam == "" || ss.ExamID == d.Exam {
			d.Sessions = append(d.Sessions, ss)
		}
	}
	examIDs := sc.ids
	if sc.all {
		examIDs = nil
		for id := range live {
			examIDs = append(examIDs, id)
		}
	}
	for _, id := range examIDs {
		e, err := sc.exam(ctx, s.cfg.Assess, id)
		if err != nil {
			return err
		}
		d.Exams = append(d.Exams, consoleExam{ID: id, Title: e.Title, Live: live[id]})
	}
	sort.Slice(d.Exams, func(i, j int) bool {
		return strings.ToLower(d.Exams[i].Title) < strings.ToLower(d.Exams[j].Title)
	})
	return s.render(c, "proctor", d)
}

// apiProctorAttempts lists the live sessions the signed-in user watches,
// riskiest first; ?exam= keeps one exam's.
func (s *Server) apiProctorAttempts(c *fiber.Ctx) error {
	sc, err := s.consoleScope(c)
	if err != nil {
		return err
	}
	examID := c.Query("exam")
	if examID != "" && !sc.watches(examID) {
		return assess.ErrNotFound
	}
	out, err := s.consoleSessions(c.UserContext(), sc, examID)
	if err != nil {
		return err
	}
	if out == nil {
		out = []consoleSession{}
	}
	return c.JSON(out)
}

// apiProctorLive streams to a console what happens in the sessions of the
// exams the user watches, as server-sent events. Only an event-stream
// client is served (406 otherwise), so that a stray request does not hold
// a connection for the stream's life; a proctor assigned to no exam has
// nothing to watch (404).
func (s *Server) apiProctorLive(c *fiber.Ctx) error {
	if !strings.Contains(c.Get(fiber.HeaderAccept), "text/event-stream") {
		return fiber.NewError(fiber.StatusNotAcceptable, "this is a stream of server-sent events: send Accept: text/event-stream")
	}
	sc, err := s.consoleScope(c)
	if err != nil {
		return err
	}
	keys := sc.ids
	if sc.all {
		keys = []string{everyKey}
	}
	if len(keys) == 0 {
		return assess.ErrNotFound
	}
	if s.cfg.Live == nil {
		return fiber.NewError(fiber.StatusServiceUnavailable, "live updates are not configured")
	}
	msgs, cancel, err := s.listen(&s.hub.console, consoleChannel, keys...)
	if err != nil {
		return err
	}
	return s.serveStream(c, msgs, cancel)
}

// publishConsole tells every instance's consoles watching the event's
// exam. A failure is logged, not returned: what happened is recorded, and
// the consoles catch up when their streams reconnect.
func (s *Server) publishConsole(ctx context.Context, e consoleEvent) {
	if s.cfg.Live == nil {
		return
	}
	if e.At.IsZero() {
		e.At = s.cfg.Now().UTC()
	}
	if err := s.publishOn(ctx, consoleChannel, e.ExamID, e); err != nil {
		s.cfg.Logger.Warn("console event not published", "attempt", e.AttemptID, "checkin", e.CheckinID, "type", e.Type, "err", err)
	}
}

// notifyConsole tells the proctor consoles watching the attempt's exam what
// was just recorded for it: events from the page, and a snapshot with its
// face check, with the attempt's risk and incident counts after them. A
// batch of heartbeats alone changes nothing a proctor sees and is not
// published. It costs two queries: the exam's weights and the attempt's
// counts; policy is the exam's proctoring policy when the caller has read
// it already (nil: it is read here).
func (s *Server) notifyConsole(ctx context.Context, a assess.AttemptOwner, events []proctor.Event, snap *proctor.Snapshot, policy *assess.ProctoringPolicy) {
	if s.cfg.Live == nil {
		return
	}
	items := consoleEventItems(events)
	if len(items) == 0 && snap == nil {
		return
	}
	e := consoleEvent{Type: "events", ExamID: a.ExamID, AttemptID: a.AttemptID, Events: items}
	if snap != nil {
		e.Type, e.Snapshot = "snapshot", newConsoleShot(*snap)
	}
	var err error
	if policy == nil {
		var p assess.ProctoringPolicy
		p, err = s.cfg.Assess.ProctoringPolicy(ctx, a.ExamID)
		policy = &p
	}
	// The events were just appended: the log knows the counts they made,
	// unless it has forgotten them since.
	sum, known := s.cfg.Proctor.Written(a.AttemptID)
	if err == nil && !known {
		var sums map[string]proctor.Summary
		sums, err = s.cfg.Proctor.Summaries(ctx, []string{a.AttemptID})
		sum = sums[a.AttemptID]
	}
	if err != nil {
		// The console still shows the events; the risk follows on its
		// next read.
		s.cfg.Logger.Warn("console: risk not computed", "attempt", a.AttemptID, "err", err)
	} else {
		risk, reasons := scoreRisk(sum.Counts, policy.Weights)
		e.Risk, e.Reasons, e.Incidents, e.Counts = &risk, reasons, &sum.Incidents, sum.Counts
	}
	s.publishConsole(ctx, e)
}

// notifyConsoleAttempt tells the consoles that an attempt started or was
// submitted ("started", "submitted"), so that its card appears or goes.
func (s *Server) notifyConsoleAttempt(ctx context.Context, a assess.Attempt, typ string) {
	s.publishConsole(ctx, consoleEvent{Type: typ, ExamID: a.ExamID, AttemptID: a.ID})
}
