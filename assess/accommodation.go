package assess

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Accommodation is what a program manager grants a candidate for an exam:
// more time (the exam's duration times TimeMultiplier) and extra break
// time, during which the clock stops. It applies to attempts started after
// it is granted.
type Accommodation struct {
	ExamID         string
	CandidateID    string
	TimeMultiplier float64       // 1 to 4; 0 means 1
	ExtraBreak     time.Duration // whole minutes, at most MaxExtraBreak
	Note           string        // why, for the record (e.g. the approved request)
	GrantedBy      string
	GrantedAt      time.Time
}

// MaxExtraBreak bounds the extra break time of an accommodation.
const MaxExtraBreak = 8 * time.Hour

type accommodationRow struct {
	ExamID            string    `gorm:"column:exam_id;primaryKey"`
	CandidateID       string    `gorm:"column:candidate_id;primaryKey"`
	TimeMultiplier    float64   `gorm:"column:time_multiplier"`
	ExtraBreakMinutes int       `gorm:"column:extra_break_minutes"`
	Note              string    `gorm:"column:note"`
	GrantedBy         *string   `gorm:"column:granted_by"`
	GrantedAt         time.Time `gorm:"column:granted_at"`
}

func (accommodationRow) TableName() string { return "accommodations" }

func (r accommodationRow) accommodation() Accommodation {
	return Accommodation{ExamID: r.ExamID, CandidateID: r.CandidateID, TimeMultiplier: r.TimeMultiplier,
		ExtraBreak: time.Duration(r.ExtraBreakMinutes) * time.Minute, Note: r.Note, GrantedBy: deref(r.GrantedBy), GrantedAt: r.GrantedAt}
}

// Accommodation returns the candidate's accommodation for an exam, or
// ErrNotFound.
func (s *Service) Accommodation(ctx context.Context, examID, candidateID string) (Accommodation, error) {
	if uuid.Validate(examID) != nil || uuid.Validate(candidateID) != nil {
		return Accommodation{}, notFound("accommodation", candidateID)
	}
	var r accommodationRow
	err := s.db.WithContext(ctx).Where("exam_id = ? AND candidate_id = ?", examID, candidateID).First(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Accommodation{}, notFound("accommodation", candidateID)
	}
	if err != nil {
		return Accommodation{}, fmt.Errorf("assess: accommodation: %w", err)
	}
	return r.accommodation(), nil
}

// SetAccommodation grants (or replaces) a candidate's accommodation for an
// exam on behalf of actor, audited with the one it replaces. It fails with
// ErrNotFound for an unknown exam or candidate and a *valid.Error naming
// "time_multiplier" or "extra_break_minutes".
func (s *Service) SetAccommodation(ctx context.Context, actor string, a Accommodation) (Accommodation, error) {
	if a.TimeMultiplier == 0 {
		a.TimeMultiplier = 1
	}
	switch {
	case !(a.TimeMultiplier >= 1 && a.TimeMultiplier <= 4):
		return Accommodation{}, valid.Errorf("time_multiplier", "must be between 1 and 4")
	case a.ExtraBreak < 0 || a.ExtraBreak > MaxExtraBreak || a.ExtraBreak%time.Minute != 0:
		return Accommodation{}, valid.Errorf("extra_break_minutes", "must be whole minutes from 0 to %d", int(MaxExtraBreak/time.Minute))
	case len(a.Note) > 2000:
		return Accommodation{}, valid.Errorf("note", "must be at most 2000 characters")
	}
	a.TimeMultiplier = math.Round(a.TimeMultiplier*100) / 100
	now := s.now().UTC()
	a.GrantedBy, a.GrantedAt = actor, now
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var exam examRow
		if err := first(tx, &exam, "exam", a.ExamID); err != nil {
			return err
		}
		var n int64
		if uuid.Validate(a.CandidateID) != nil {
			return notFound("candidate", a.CandidateID)
		}
		if err := tx.Table("users").Where("id = ?", a.CandidateID).Count(&n).Error; err != nil {
			return fmt.Errorf("assess: accommodation: %w", err)
		}
		if n == 0 {
			return notFound("candidate", a.CandidateID)
		}
		var before *Accommodation
		var old accommodationRow
		if err := tx.Where("exam_id = ? AND candidate_id = ?", a.ExamID, a.CandidateID).First(&old).Error; err == nil {
			b := old.accommodation()
			before = &b
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("assess: accommodation: %w", err)
		}
		row := accommodationRow{ExamID: a.ExamID, CandidateID: a.CandidateID, TimeMultiplier: a.TimeMultiplier,
			ExtraBreakMinutes: int(a.ExtraBreak / time.Minute), Note: a.Note, GrantedBy: userRef(actor), GrantedAt: now}
		if err := tx.Where("exam_id = ? AND candidate_id = ?", a.ExamID, a.CandidateID).Delete(&accommodationRow{}).Error; err != nil {
			return fmt.Errorf("assess: accommodation: %w", err)
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("assess: accommodation: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "accommodation.grant",
			Subject: "exam:" + a.ExamID + "/candidate:" + a.CandidateID, Before: before, After: a, At: now})
	})
	if err != nil {
		return Accommodation{}, err
	}
	return a, nil
}

// RemoveAccommodation withdraws a candidate's accommodation for an exam on
// behalf of actor, audited; ErrNotFound when there is none. Attempts
// already started keep the time they were given.
func (s *Service) RemoveAccommodation(ctx context.Context, actor, examID, candidateID string) error {
	before, err := s.Accommodation(ctx, examID, candidateID)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Where("exam_id = ? AND candidate_id = ?", examID, candidateID).Delete(&accommodationRow{})
		if res.Error != nil {
			return fmt.Errorf("assess: remove accommodation: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return notFound("accommodation", candidateID)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "accommodation.remove",
			Subject: "exam:" + examID + "/candidate:" + candidateID, Before: before, At: now})
	})
}

// Break starts (start true) or ends a break of an open attempt, on the
// candidate's behalf; it returns the attempt after the change. Starting
// stops the clock: the stored deadline moves on by all the break time
// left, and ending gives back what was not used, so the deadline moves by
// the break's length, capped by the allowance; a break not ended in time
// ends when the allowance runs out. Starting during a break, or ending
// outside one, changes nothing. It fails with ErrClosed for an attempt that
// is submitted or past its deadline and ErrNoBreakLeft when no break time
// is left. Both changes are audited.
func (s *Service) Break(ctx context.Context, attemptID string, start bool) (Attempt, error) {
	now := s.now().UTC().Truncate(time.Second)
	var out attemptRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := first(tx, &out, "attempt", attemptID); err != nil {
			return err
		}
		a := out.attempt()
		t := a.Timing(now)
		if t.Held {
			return ErrHeld
		}
		if a.Status != InProgress || (!t.Paused && now.After(t.Deadline.Add(s.Grace))) {
			return ErrClosed
		}
		left := max(a.BreakAllowance-a.BreakUsed, 0)
		changes := map[string]any{}
		action := ""
		switch {
		case start && t.Paused:
			return nil
		case start && left <= 0:
			return ErrNoBreakLeft
		case start:
			action = "attempt.break_start"
			changes["paused_at"] = now
			changes["deadline"] = a.Deadline.Add(left)
		case a.PausedAt == nil:
			return nil
		default:
			action = "attempt.break_end"
			taken := min(now.Sub(*a.PausedAt), left)
			changes["paused_at"] = nil
			changes["deadline"] = a.Deadline.Add(-(left - taken))
			changes["break_used_seconds"] = int((a.BreakUsed + taken) / time.Second)
		}
		res := tx.Model(&attemptRow{}).Where("id = ? AND status = ?", attemptID, InProgress).Updates(changes)
		if res.Error != nil {
			return fmt.Errorf("assess: break: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrClosed
		}
		out = attemptRow{} // GORM leaves a field as it was when its column is NULL
		if err := first(tx, &out, "attempt", attemptID); err != nil {
			return err
		}
		return audit.Append(tx, audit.Entry{Actor: a.CandidateID, Action: action, Subject: "attempt:" + attemptID,
			Before: map[string]any{"deadline": a.Deadline, "break_used_seconds": int(a.BreakUsed / time.Second)},
			After:  map[string]any{"deadline": out.Deadline, "break_used_seconds": out.BreakUsed}, At: now})
	})
	if err != nil {
		return Attempt{}, err
	}
	return out.attempt(), nil
}

// SetPolicy replaces an exam's attempt policy on behalf of actor (a program
// manager), audited with the policy it replaces. It fails with ErrNotFound
// for an unknown exam and a *valid.Error naming the "policy.…" field.
func (s *Service) SetPolicy(ctx context.Context, actor, examID string, p Policy) (Exam, error) {
	if err := p.validate(); err != nil {
		return Exam{}, err
	}
	before, err := s.Exam(ctx, examID)
	if err != nil {
		return Exam{}, err
	}
	now := s.now().UTC()
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&examRow{}).Where("id = ?", examID).Updates(map[string]any{
			"max_attempts": p.MaxAttempts, "retake_wait_seconds": int(p.RetakeWait / time.Second),
			"opens_at": utcPtr(p.OpensAt), "closes_at": utcPtr(p.ClosesAt), "different_form_on_retake": p.DifferentFormOnRetake,
		}).Error; err != nil {
			return fmt.Errorf("assess: set policy: %w", err)
		}
		if err := setPrerequisites(tx, examID, p.Prerequisites); err != nil {
			return err
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "exam.policy", Subject: "exam:" + examID,
			Before: before.Policy, After: p, At: now})
	})
	if err != nil {
		return Exam{}, err
	}
	return s.Exam(ctx, examID)
}

// Accommodations lists the accommodations granted for an exam, newest
// first.
func (s *Service) Accommodations(ctx context.Context, examID string) ([]Accommodation, error) {
	if uuid.Validate(examID) != nil {
		return nil, notFound("exam", examID)
	}
	var rows []accommodationRow
	if err := s.db.WithContext(ctx).Where("exam_id = ?", examID).Order("granted_at DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: accommodations: %w", err)
	}
	out := make([]Accommodation, len(rows))
	for i, r := range rows {
		out[i] = r.accommodation()
	}
	return out, nil
}
