package assess

import (
	"context"
	"fmt"
)

// Backlog is the work in the system at one moment, for monitoring: what
// candidates are doing, and what waits on a person or on the sweeper.
type Backlog struct {
	// InProgress counts the attempts being taken (never simulated or
	// imported ones).
	InProgress int64
	// Overdue counts the attempts in progress past their deadline and
	// grace, not on hold: the sweeper submits them on its next run.
	Overdue int64
	// UnissuedPasses counts the passes of exams that award an achievement
	// still without their credential: the sweeper issues them, unless a
	// pending review holds them back.
	UnissuedPasses int64
	// PendingReviews counts the proctoring reviews waiting for a decision.
	PendingReviews int64
	// PendingCheckins counts the check-ins waiting for a proctor to admit
	// the candidate.
	PendingCheckins int64
	// RunningCalibrations counts the IRT calibration runs not yet finished.
	RunningCalibrations int64
}

// Backlog counts the work in progress and waiting, one count per table
// through its status index where there is one.
func (s *Service) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	overdueBefore := s.now().UTC().Add(-s.Grace)
	counts := []struct {
		name  string
		dst   *int64
		model any
		where string
		args  []any
	}{
		{"attempts in progress", &b.InProgress, &attemptRow{}, "status = ? AND NOT simulated", []any{InProgress}},
		// The sweeper's own conditions (SubmitExpired, settle).
		{"overdue attempts", &b.Overdue, &attemptRow{}, "status = ? AND deadline < ? AND held_at IS NULL", []any{InProgress, overdueBefore}},
		{"unissued passes", &b.UnissuedPasses, &attemptRow{}, "status = ? AND passed AND credential_id IS NULL AND NOT simulated AND exam_id IN (SELECT id FROM exams WHERE achievement_id IS NOT NULL)", []any{Submitted}},
		{"pending reviews", &b.PendingReviews, &reviewRow{}, "status = ?", []any{ReviewPending}},
		{"pending check-ins", &b.PendingCheckins, &checkinRow{}, "status = ?", []any{CheckinPending}},
		{"running calibrations", &b.RunningCalibrations, &calibrationRow{}, "status = ?", []any{RunRunning}},
	}
	for _, c := range counts {
		if err := s.db.WithContext(ctx).Model(c.model).Where(c.where, c.args...).Count(c.dst).Error; err != nil {
			return Backlog{}, fmt.Errorf("assess: count %s: %w", c.name, err)
		}
	}
	return b, nil
}
