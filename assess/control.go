package assess

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// A proctor's control of a live attempt: pause and resume it (the clock
// stops in between), add time, end it, and message the candidate. Every
// step is audited; the web layer tells the candidate's page at once.

// maxAddedTime bounds the time one proctor action adds.
const maxAddedTime = 4 * time.Hour

// Message is a proctor's message to a candidate during an attempt.
type Message struct {
	ID        string
	AttemptID string
	SenderID  string
	Body      string
	SentAt    time.Time
}

type messageRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	AttemptID string    `gorm:"column:attempt_id"`
	SenderID  *string   `gorm:"column:sender_id"`
	Body      string    `gorm:"column:body"`
	SentAt    time.Time `gorm:"column:sent_at"`
}

func (messageRow) TableName() string { return "proctor_messages" }

// control runs step on the open attempt, locked, and audits the change.
func (s *Service) control(ctx context.Context, actor, attemptID, action string, step func(tx *gorm.DB, a Attempt, now time.Time) (map[string]any, any, error)) (Attempt, error) {
	now := s.now().UTC().Truncate(time.Second)
	var out attemptRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		// Lock the row so that a concurrent save or submit waits.
		if err := tx.Model(&attemptRow{}).Where("id = ?", attemptID).Update("cat_done", gorm.Expr("cat_done")).Error; err != nil {
			return fmt.Errorf("assess: %s: %w", action, err)
		}
		var row attemptRow
		if err := first(tx, &row, "attempt", attemptID); err != nil {
			return err
		}
		a := row.attempt()
		if a.Status != InProgress {
			return ErrClosed
		}
		changes, detail, err := step(tx, a, now)
		if err != nil {
			return err
		}
		if len(changes) > 0 {
			if err := tx.Model(&attemptRow{}).Where("id = ?", attemptID).Updates(changes).Error; err != nil {
				return fmt.Errorf("assess: %s: %w", action, err)
			}
		}
		out = attemptRow{}
		if err := first(tx, &out, "attempt", attemptID); err != nil {
			return err
		}
		after := out.attempt()
		return audit.Append(tx, audit.Entry{Actor: actor, Action: action, Subject: "attempt:" + attemptID,
			Before: map[string]any{"deadline": a.Deadline, "held_at": a.HeldAt},
			After:  map[string]any{"deadline": after.Deadline, "held_at": after.HeldAt, "detail": detail}, At: now})
	})
	if err != nil {
		return Attempt{}, err
	}
	return out.attempt(), nil
}

// Hold pauses an open attempt for its proctor: the clock stops (a break in
// progress ends first, counting what was taken) and the candidate can
// neither answer nor submit until Resume. Holding a held attempt changes
// nothing.
func (s *Service) Hold(ctx context.Context, actor, attemptID, reason string) (Attempt, error) {
	return s.control(ctx, actor, attemptID, "attempt.hold", func(tx *gorm.DB, a Attempt, now time.Time) (map[string]any, any, error) {
		t := a.Timing(now)
		if t.Held {
			return nil, nil, nil
		}
		if now.After(t.Deadline.Add(s.Grace)) {
			return nil, nil, ErrClosed
		}
		changes := map[string]any{"held_at": now, "held_by": userRef(actor), "deadline": t.Deadline}
		if t.Paused { // end the break: its unused allowance is not spent
			taken := now.Sub(*a.PausedAt)
			changes["paused_at"], changes["break_used_seconds"] = nil, int((a.BreakUsed+taken)/time.Second)
		}
		return changes, map[string]string{"reason": reason}, nil
	})
}

// Resume restarts the clock of a held attempt: the deadline moves on by
// the time it was held.
func (s *Service) Resume(ctx context.Context, actor, attemptID string) (Attempt, error) {
	return s.control(ctx, actor, attemptID, "attempt.resume", func(tx *gorm.DB, a Attempt, now time.Time) (map[string]any, any, error) {
		if a.HeldAt == nil {
			return nil, nil, nil
		}
		held := now.Sub(*a.HeldAt)
		return map[string]any{"held_at": nil, "held_by": nil, "deadline": a.Deadline.Add(held)},
			map[string]int{"held_seconds": int(held / time.Second)}, nil
	})
}

// AddTime gives an open attempt d more time, with a reason.
func (s *Service) AddTime(ctx context.Context, actor, attemptID string, d time.Duration, reason string) (Attempt, error) {
	if d <= 0 || d > maxAddedTime {
		return Attempt{}, valid.Errorf("minutes", "must be more than 0 and at most %d", int(maxAddedTime/time.Minute))
	}
	if strings.TrimSpace(reason) == "" {
		return Attempt{}, valid.Errorf("reason", "is required")
	}
	return s.control(ctx, actor, attemptID, "attempt.add_time", func(tx *gorm.DB, a Attempt, now time.Time) (map[string]any, any, error) {
		if t := a.Timing(now); !t.Held && !t.Paused && now.After(t.Deadline.Add(s.Grace)) {
			return nil, nil, ErrClosed
		}
		return map[string]any{"deadline": a.Deadline.Add(d), "added_seconds": int((a.Added + d) / time.Second)},
			map[string]any{"added_seconds": int(d / time.Second), "reason": reason}, nil
	})
}

// Terminate ends an open attempt for a proctor, with a reason: it is
// submitted and scored for the record, but it never passes and earns no
// credential.
func (s *Service) Terminate(ctx context.Context, actor, attemptID, reason string) (Result, error) {
	if strings.TrimSpace(reason) == "" {
		return Result{}, valid.Errorf("reason", "is required")
	}
	now := s.now().UTC()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&attemptRow{}).Where("id = ? AND status = ?", attemptID, InProgress).Updates(map[string]any{
			"status": Submitted, "submitted_at": now, "submitted_by": "proctor", "terminated_at": now,
			"terminated_by": userRef(actor), "termination_reason": reason, "held_at": nil, "paused_at": nil})
		if res.Error != nil {
			return fmt.Errorf("assess: terminate: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			var row attemptRow
			if err := first(tx, &row, "attempt", attemptID); err != nil {
				return err
			}
			return ErrClosed
		}
		if err := s.score(ctx, tx, attemptID); err != nil {
			return err
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "attempt.terminate", Subject: "attempt:" + attemptID,
			After: map[string]any{"reason": reason}, At: now})
	})
	if err != nil {
		return Result{}, err
	}
	// An attempt the proctor ended goes to review, for the record and for
	// an appeal.
	if _, err := s.openReview(ctx, actor, attemptID, 0, []string{"ended by the proctor: " + reason}); err != nil {
		return Result{}, err
	}
	return s.Result(ctx, attemptID)
}

// SendMessage records a proctor's message to the candidate of an attempt.
func (s *Service) SendMessage(ctx context.Context, actor, attemptID, body string) (Message, error) {
	body = strings.TrimSpace(body)
	if body == "" || len(body) > 1000 {
		return Message{}, valid.Errorf("body", "must be 1 to 1000 characters")
	}
	a, err := s.Attempt(ctx, attemptID)
	if err != nil {
		return Message{}, err
	}
	if a.Status != InProgress {
		return Message{}, ErrClosed
	}
	m := Message{ID: uuid.NewString(), AttemptID: attemptID, SenderID: actor, Body: body, SentAt: s.now().UTC()}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&messageRow{ID: m.ID, AttemptID: attemptID, SenderID: userRef(actor), Body: body, SentAt: m.SentAt}).Error; err != nil {
			return fmt.Errorf("assess: message: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "attempt.message", Subject: "attempt:" + attemptID,
			After: map[string]string{"message": m.ID, "body": body}, At: m.SentAt})
	})
	return m, err
}

// Messages lists the proctors' messages of an attempt, oldest first.
func (s *Service) Messages(ctx context.Context, attemptID string) ([]Message, error) {
	if uuid.Validate(attemptID) != nil {
		return nil, notFound("attempt", attemptID)
	}
	var rows []messageRow
	if err := s.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("sent_at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: messages: %w", err)
	}
	out := make([]Message, len(rows))
	for i, r := range rows {
		out[i] = Message{ID: r.ID, AttemptID: r.AttemptID, SenderID: deref(r.SenderID), Body: r.Body, SentAt: r.SentAt}
	}
	return out, nil
}
