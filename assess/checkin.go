package assess

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Before a proctored attempt the candidate checks in: a system check, a
// photo of themselves and of their ID, and acceptance of the exam's rules;
// then a proctor, or the exam's policy, admits them.

// Check-in statuses.
const (
	CheckinOpen     = "open"     // being filled in by the candidate
	CheckinPending  = "pending"  // complete, waiting for a proctor
	CheckinAdmitted = "admitted" // may start an attempt
	CheckinRejected = "rejected"
	CheckinUsed     = "used" // an attempt was started with it
)

// Checkin is a candidate's check-in for an exam.
type Checkin struct {
	ID              string
	ExamID          string
	CandidateID     string
	Status          string
	SystemCheck     string // the page's system check, as JSON
	RulesAcceptedAt *time.Time
	CreatedAt       time.Time
	SubmittedAt     *time.Time
	DecidedAt       *time.Time
	DecidedBy       string // a user id, or "system:automatic"
	Note            string
	AttemptID       string
}

type checkinRow struct {
	ID              string     `gorm:"column:id;primaryKey"`
	ExamID          string     `gorm:"column:exam_id"`
	CandidateID     string     `gorm:"column:candidate_id"`
	Status          string     `gorm:"column:status"`
	SystemCheck     string     `gorm:"column:system_check"`
	RulesAcceptedAt *time.Time `gorm:"column:rules_accepted_at"`
	CreatedAt       time.Time  `gorm:"column:created_at"`
	SubmittedAt     *time.Time `gorm:"column:submitted_at"`
	DecidedAt       *time.Time `gorm:"column:decided_at"`
	DecidedBy       string     `gorm:"column:decided_by"`
	Note            string     `gorm:"column:note"`
	AttemptID       *string    `gorm:"column:attempt_id"`
}

func (checkinRow) TableName() string { return "proctor_checkins" }

func (r checkinRow) checkin() Checkin {
	return Checkin{ID: r.ID, ExamID: r.ExamID, CandidateID: r.CandidateID, Status: r.Status, SystemCheck: r.SystemCheck,
		RulesAcceptedAt: r.RulesAcceptedAt, CreatedAt: r.CreatedAt, SubmittedAt: r.SubmittedAt, DecidedAt: r.DecidedAt,
		DecidedBy: r.DecidedBy, Note: r.Note, AttemptID: deref(r.AttemptID)}
}

// Checkin returns a check-in.
func (s *Service) Checkin(ctx context.Context, id string) (Checkin, error) {
	if uuid.Validate(id) != nil {
		return Checkin{}, notFound("check-in", id)
	}
	var r checkinRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Checkin{}, notFound("check-in", id)
	}
	if err != nil {
		return Checkin{}, fmt.Errorf("assess: check-in: %w", err)
	}
	return r.checkin(), nil
}
