package web

import (
	"context"
	"errors"
	"math"
	"mime"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Capture during the exam: when the exam's proctoring policy sets a
// snapshot interval, the candidate's page (static/capture.js) posts a
// webcam frame at that interval with what the browser's face check found
// in it. The frame is stored for the program's retention period and, with
// its findings, appended to the attempt's hash-chained event log.

// snapshotQuery is what the browser's face check found in a frame, from
// the query string of POST …/snapshots; nil where it was not sent.
type snapshotQuery struct {
	faces       *int
	lookingAway *bool
	takenAt     *time.Time
}

// parseSnapshotQuery reads faces (0 to 100), looking_away (true or false)
// and taken_at (RFC 3339), each optional; a bad value is a field error.
func parseSnapshotQuery(c *fiber.Ctx) (snapshotQuery, error) {
	var q snapshotQuery
	if v := c.Query("faces"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return q, valid.Errorf("faces", "must be a whole number from 0 to 100")
		}
		q.faces = &n
	}
	if v := c.Query("looking_away"); v != "" {
		if v != "true" && v != "false" {
			return q, valid.Errorf("looking_away", `must be "true" or "false"`)
		}
		away := v == "true"
		q.lookingAway = &away
	}
	if v := c.Query("taken_at"); v != "" {
		at, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return q, valid.Errorf("taken_at", "must be a time in RFC 3339 form, such as 2026-11-23T09:00:00Z")
		}
		q.takenAt = &at
	}
	return q, nil
}

// snapshotImage returns the body as an image whose content is of the type
// it was sent as: JPEG or PNG (proctor.CheckImage). Anything else is
// a field error on "image".
func snapshotImage(c *fiber.Ctx) (proctor.Image, error) {
	declared, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || !slices.Contains(proctor.ImageTypes, declared) {
		return proctor.Image{}, valid.Errorf("image", "must be sent as image/jpeg or image/png")
	}
	img, err := proctor.CheckImage(c.Body())
	if err != nil {
		return proctor.Image{}, err
	}
	if img.Type() != declared {
		return proctor.Image{}, valid.Errorf("image", "is a %s image sent as %s", img.Type(), declared)
	}
	return img, nil
}

// refuse answers with the API's error body, for refusals that carry more
// than the error table gives: a code of their own, a Retry-After.
func refuse(c *fiber.Ctx, status int, code, message string) error {
	return c.Status(status).JSON(fiber.Map{"error": apiError{Code: code, Message: message}})
}

// snapshotWait is how long the attempt must wait before its next snapshot:
// half the exam's interval after the previous one, so that a late timer in
// the browser is never refused but a script cannot flood storage. The
// shared state claims the slot atomically until the next snapshot is due,
// so that concurrent uploads on any instance get one through, not all,
// and an accepted upload costs no read of the database. The database says
// how long a refused upload must wait, and decides alone when the shared
// state fails (logged): a snapshot then waits for the previous one's
// receipt.
func (s *Server) snapshotWait(c *fiber.Ctx, attemptID string, every time.Duration) (time.Duration, error) {
	gap := every / 2
	if s.cfg.Live != nil {
		// The claim is never released: it expires when the next snapshot is due.
		_, err := s.cfg.Live.Lock(c.UserContext(), "snapshot:"+attemptID, gap)
		switch {
		case err == nil:
			return 0, nil
		case errors.Is(err, kv.ErrLocked):
			if wait, err := s.lastSnapshotWait(c, attemptID, gap); err != nil || wait > 0 {
				return wait, err
			}
			// Claimed by an upload that has not stored its image yet.
			return gap, nil
		}
		s.cfg.Logger.Warn("snapshot rate limit: shared state unavailable", "attempt", attemptID, "err", err)
	}
	return s.lastSnapshotWait(c, attemptID, gap)
}

// snapshotOpen reads whether the attempt takes a webcam frame at now: in
// progress, and held, on a break, or within its deadline and the grace.
func (s *Server) snapshotOpen(ctx context.Context, attemptID string, now time.Time) error {
	target, err := s.cfg.Assess.SnapshotTarget(ctx, attemptID)
	if err != nil {
		return err
	}
	if t := target.Timing(now); target.Status() != assess.InProgress || (!t.Held && !t.Paused && now.After(t.Deadline.Add(s.cfg.Assess.Grace))) {
		return assess.ErrClosed
	}
	return nil
}

// lastSnapshotWait is how long is left of gap since the attempt's last
// stored snapshot.
func (s *Server) lastSnapshotWait(c *fiber.Ctx, attemptID string, gap time.Duration) (time.Duration, error) {
	last, ok, err := s.cfg.Snapshots.LastReceived(c.UserContext(), attemptID)
	if err != nil || !ok {
		return 0, err
	}
	return max(0, last.Add(gap).Sub(s.cfg.Now())), nil
}

// apiPostSnapshot stores a webcam frame of the caller's own attempt, in
// progress (held too: the proctor wants to see), of an exam that takes
// snapshots. Whose attempt it is and the exam's rules come from memory;
// whether it is still open is a condition of the statement that records
// the frame, and only when that statement does not is the attempt read
// (snapshotOpen).
func (s *Server) apiPostSnapshot(c *fiber.Ctx) error {
	ctx := c.UserContext()
	target, err := s.cfg.Assess.SnapshotRules(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	a := target.Owner
	if a.CandidateID != currentUser(c).ID {
		return assess.ErrNotFound // someone else's attempt is not there
	}
	q, err := parseSnapshotQuery(c)
	if err != nil {
		return err
	}
	every := time.Duration(target.Policy.SnapshotSeconds) * time.Second
	if every <= 0 || s.cfg.Snapshots == nil {
		return refuse(c, fiber.StatusConflict, "snapshots_disabled", "this exam takes no webcam snapshots")
	}
	now := s.cfg.Now()
	img, err := snapshotImage(c)
	if err != nil {
		return err
	}
	wait, err := s.snapshotWait(c, a.AttemptID, every)
	if err != nil {
		return err
	}
	if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		return refuse(c, fiber.StatusTooManyRequests, "rate_limited",
			"a snapshot was taken moments ago; send the next one in "+strconv.Itoa(secs)+" s")
	}
	snap, events, err := s.cfg.Snapshots.Put(ctx, proctor.NewSnapshot{AttemptID: a.AttemptID, Kind: proctor.Webcam, Image: img,
		Faces: q.faces, LookingAway: q.lookingAway, TakenAt: q.takenAt, Retention: target.Retention,
		OpenUntil: now.Add(-s.cfg.Assess.Grace),
		Admit:     func(ctx context.Context) error { return s.snapshotOpen(ctx, a.AttemptID, now) }})
	if err != nil {
		return err
	}
	s.notifyConsole(ctx, a, events, &snap, &target.Policy)
	flags := []string{}
	for _, e := range events {
		if e.Kind != proctor.SnapshotTaken {
			flags = append(flags, e.Kind)
		}
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": snap.ID, "faces": snap.Faces, "looking_away": snap.LookingAway, "flags": flags})
}
