package web

import (
	"errors"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// Proctoring data of an exam — live sessions, snapshots, photos, case
// files — is seen only by the proctors and reviewers assigned to it, and by
// administrators.

// examStaff returns nil when the signed-in user may see the exam's
// proctoring data in one of the roles: an administrator, or a user with the
// proctor role assigned to the exam in one of them. To anyone else the
// data is not there (404), so that ids reveal nothing.
func (s *Server) examStaff(c *fiber.Ctx, examID string, roles ...string) error {
	u := currentUser(c)
	if u.Has(auth.Admin) {
		return nil
	}
	if !u.Has(auth.Proctor) {
		return assess.ErrNotFound
	}
	ok, err := s.cfg.Assess.IsStaff(c.UserContext(), u.ID, examID, roles...)
	if err != nil {
		return err
	}
	if !ok {
		return assess.ErrNotFound
	}
	return nil
}

// staffAttempt loads the attempt of the route's :id for a proctor or
// reviewer of its exam.
func (s *Server) staffAttempt(c *fiber.Ctx, roles ...string) (assess.Attempt, error) {
	a, err := s.cfg.Assess.Attempt(c.UserContext(), c.Params("id"))
	if err != nil {
		return assess.Attempt{}, err
	}
	if err := s.examStaff(c, a.ExamID, roles...); err != nil {
		return assess.Attempt{}, err
	}
	return a, nil
}

// snapshotExam is the exam a snapshot or check-in photo belongs to, and
// the candidate it shows.
func (s *Server) snapshotExam(c *fiber.Ctx, snap proctor.Snapshot) (examID, candidateID string, err error) {
	if snap.AttemptID != "" {
		a, err := s.cfg.Assess.Attempt(c.UserContext(), snap.AttemptID)
		return a.ExamID, a.CandidateID, err
	}
	ci, err := s.cfg.Assess.Checkin(c.UserContext(), snap.CheckinID)
	return ci.ExamID, ci.CandidateID, err
}

// safeImageTypes are the types a stored image is served as: raster types
// that carry no script (never image/svg+xml), including WebP frames that
// were accepted before uploads were held to proctor.ImageTypes.
var safeImageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true}

// apiSnapshot serves a snapshot or check-in photo to the proctors and
// reviewers of its exam, and a check-in photo to the candidate who took it.
// The image is sent with the type judged from its content when stored,
// never cached by shared caches, and never sniffed into anything else.
func (s *Server) apiSnapshot(c *fiber.Ctx) error {
	if s.cfg.Snapshots == nil {
		return assess.ErrNotFound
	}
	snap, err := s.cfg.Snapshots.Snapshot(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	examID, candidateID, err := s.snapshotExam(c, snap)
	if err != nil {
		return err
	}
	own := snap.CheckinID != "" && candidateID == currentUser(c).ID
	if !own {
		if err := s.examStaff(c, examID, assess.StaffProctor, assess.StaffReviewer); err != nil {
			return err
		}
	}
	_, body, err := s.cfg.Snapshots.Open(c.UserContext(), snap.ID)
	if errors.Is(err, proctor.ErrSnapshotDeleted) {
		return fiber.NewError(fiber.StatusGone, "the image was deleted at the end of its retention period")
	}
	if err != nil {
		return err
	}
	defer body.Close()
	img, err := io.ReadAll(io.LimitReader(body, proctor.MaxImageBytes+1))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, max-age=3600, immutable")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if safeImageTypes[snap.ContentType] {
		c.Set(fiber.HeaderContentType, snap.ContentType)
		c.Set(fiber.HeaderContentDisposition, "inline")
	} else {
		// Never a type a browser would run: bytes to save, not to show.
		c.Set(fiber.HeaderContentType, fiber.MIMEOctetStream)
		c.Set(fiber.HeaderContentDisposition, "attachment")
	}
	return c.Send(img)
}
