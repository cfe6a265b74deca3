package assess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// After the exam: attempts flagged by their proctoring go to a review
// queue; a reviewer clears, warns or invalidates each, and the credential
// follows the decision. An exam's policy may hold a flagged attempt's
// credential until the review clears it.

// ProctoringPolicy is an exam's proctoring policy.
type ProctoringPolicy struct {
	// Weights are the risk each proctoring event of a kind adds; kinds not
	// named weigh nothing.
	Weights map[string]float64 `json:"weights,omitempty"`
	// ReviewAt is the risk at or above which a submitted attempt goes to
	// review; 0 sends none automatically.
	ReviewAt float64 `json:"review_at,omitempty"`
	// HoldCredentials keeps a flagged attempt's credential back until its
	// review clears it.
	HoldCredentials bool `json:"hold_credentials,omitempty"`

	// CheckIn requires a check-in before each attempt: a system check
	// (camera, browser, connection), a photo of the candidate and of their
	// ID, and acceptance of the exam's rules.
	CheckIn bool `json:"check_in,omitempty"`
	// Admission says who admits a checked-in candidate: AdmitByProctor
	// waits for a proctor; AdmitAutomatically (the default) admits at once
	// when the check-in is complete.
	Admission string `json:"admission,omitempty"`
	// SnapshotSeconds is the interval between webcam snapshots during the
	// attempt; 0 takes none.
	SnapshotSeconds int `json:"snapshot_seconds,omitempty"`
	// Rules are the exam's rules, shown at check-in for the candidate to
	// accept (plain text, one rule a line).
	Rules string `json:"rules,omitempty"`
}

// Admission policies.
const (
	AdmitAutomatically = "automatic"
	AdmitByProctor     = "proctor"
)

// Snapshot intervals allowed: often enough to see a change of person, far
// enough apart that uploads stay a small share of the traffic.
const (
	MinSnapshotSeconds = 10
	MaxSnapshotSeconds = 600
)

func (p ProctoringPolicy) validate() error {
	for kind, w := range p.Weights {
		if math.IsNaN(w) || w < 0 || w > 1000 {
			return valid.Errorf("weights."+kind, "must be from 0 to 1000")
		}
	}
	if math.IsNaN(p.ReviewAt) || p.ReviewAt < 0 {
		return valid.Errorf("review_at", "must not be negative")
	}
	if p.Admission != "" && p.Admission != AdmitAutomatically && p.Admission != AdmitByProctor {
		return valid.Errorf("admission", "must be %q or %q", AdmitAutomatically, AdmitByProctor)
	}
	if p.SnapshotSeconds != 0 && (p.SnapshotSeconds < MinSnapshotSeconds || p.SnapshotSeconds > MaxSnapshotSeconds) {
		return valid.Errorf("snapshot_seconds", "must be 0 (no snapshots) or from %d to %d", MinSnapshotSeconds, MaxSnapshotSeconds)
	}
	if len(p.Rules) > 10000 {
		return valid.Errorf("rules", "must be at most 10000 characters")
	}
	return nil
}

// Review statuses.
const (
	ReviewPending     = "pending"
	ReviewCleared     = "cleared"
	ReviewWarned      = "warned"
	ReviewInvalidated = "invalidated"
)

// Review is an attempt's proctoring review.
type Review struct {
	AttemptID string
	Status    string
	Risk      float64
	Reasons   []string
	OpenedBy  string // a user id, or "system:risk"
	OpenedAt  time.Time
	DecidedBy string
	DecidedAt *time.Time
	Note      string
}

type reviewRow struct {
	AttemptID string     `gorm:"column:attempt_id;primaryKey"`
	Status    string     `gorm:"column:status"`
	Risk      float64    `gorm:"column:risk"`
	Reasons   string     `gorm:"column:reasons"`
	OpenedBy  string     `gorm:"column:opened_by"`
	OpenedAt  time.Time  `gorm:"column:opened_at"`
	DecidedBy *string    `gorm:"column:decided_by"`
	DecidedAt *time.Time `gorm:"column:decided_at"`
	Note      string     `gorm:"column:note"`
}

func (reviewRow) TableName() string { return "proctor_reviews" }

func (r reviewRow) review() Review {
	out := Review{AttemptID: r.AttemptID, Status: r.Status, Risk: r.Risk, OpenedBy: r.OpenedBy, OpenedAt: r.OpenedAt,
		DecidedBy: deref(r.DecidedBy), DecidedAt: r.DecidedAt, Note: r.Note}
	_ = json.Unmarshal([]byte(r.Reasons), &out.Reasons)
	return out
}

// SetProctoring replaces an exam's proctoring policy, audited.
func (s *Service) SetProctoring(ctx context.Context, actor, examID string, p ProctoringPolicy) (Exam, error) {
	if err := p.validate(); err != nil {
		return Exam{}, err
	}
	before, err := s.Exam(ctx, examID)
	if err != nil {
		return Exam{}, err
	}
	set, err := json.Marshal(examSettings{CAT: before.CAT, LOFT: before.LOFT, Scale: before.Scale, Proctoring: p})
	if err != nil {
		return Exam{}, fmt.Errorf("assess: proctoring: %w", err)
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&examRow{}).Where("id = ?", examID).Update("settings", string(set)).Error; err != nil {
			return fmt.Errorf("assess: proctoring: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "exam.proctoring", Subject: "exam:" + examID,
			Before: before.Proctoring, After: p, At: s.now().UTC()})
	})
	s.rulesChanged() // whether or not the change committed
	if err != nil {
		return Exam{}, err
	}
	return s.Exam(ctx, examID)
}

// screen computes a submitted attempt's risk with the Risk hook and the
// exam's weights, and opens its review when the risk reaches the policy's
// threshold. It returns the status of the attempt's review, "" for none.
func (s *Service) screen(ctx context.Context, a Attempt, exam Exam) (review string, err error) {
	rv, err := s.Review(ctx, a.ID)
	switch {
	case err == nil:
		return rv.Status, nil
	case !errors.Is(err, ErrNotFound):
		return "", err
	}
	p := exam.Proctoring
	if p.ReviewAt <= 0 || s.Risk == nil {
		return "", nil
	}
	risk, reasons, err := s.Risk(ctx, a.ID, p.Weights)
	if err != nil {
		return "", err
	}
	if risk < p.ReviewAt {
		return "", nil
	}
	rv, err = s.openReview(ctx, "system:risk", a.ID, risk, reasons)
	if err != nil {
		return "", err
	}
	return rv.Status, nil
}

// OpenReview sends a submitted attempt to review on a reviewer's or
// proctor's word, with the reasons. An attempt whose credential is issued
// has it suspended (OnReview) until the decision. Opening a review that is
// pending changes nothing.
func (s *Service) OpenReview(ctx context.Context, actor, attemptID string, reasons []string) (Review, error) {
	if len(reasons) == 0 || strings.TrimSpace(strings.Join(reasons, "")) == "" {
		return Review{}, valid.Errorf("reasons", "say why the attempt needs review")
	}
	a, err := s.Attempt(ctx, attemptID)
	if err != nil {
		return Review{}, err
	}
	if a.Status != Submitted {
		return Review{}, fmt.Errorf("%w: attempt %s is not submitted", ErrConflict, attemptID)
	}
	return s.openReview(ctx, actor, attemptID, 0, reasons)
}

func (s *Service) openReview(ctx context.Context, actor, attemptID string, risk float64, reasons []string) (Review, error) {
	now := s.now().UTC()
	why, _ := json.Marshal(reasons)
	var out reviewRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var existing reviewRow
		err := tx.First(&existing, "attempt_id = ?", attemptID).Error
		switch {
		case err == nil && existing.Status == ReviewPending:
			out = existing
			return nil
		case err == nil: // decided before: a new concern reopens it
			out = reviewRow{AttemptID: attemptID, Status: ReviewPending, Risk: math.Max(risk, existing.Risk), Reasons: string(why),
				OpenedBy: actor, OpenedAt: now}
			if err := tx.Model(&reviewRow{}).Where("attempt_id = ?", attemptID).Updates(map[string]any{"status": ReviewPending,
				"risk": out.Risk, "reasons": out.Reasons, "opened_by": actor, "opened_at": now, "decided_by": nil, "decided_at": nil, "note": ""}).Error; err != nil {
				return fmt.Errorf("assess: reopen review: %w", err)
			}
		case errors.Is(err, gorm.ErrRecordNotFound):
			out = reviewRow{AttemptID: attemptID, Status: ReviewPending, Risk: risk, Reasons: string(why), OpenedBy: actor, OpenedAt: now}
			if err := tx.Create(&out).Error; err != nil {
				return fmt.Errorf("assess: open review: %w", err)
			}
		default:
			return fmt.Errorf("assess: review: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "attempt.review.open", Subject: "attempt:" + attemptID,
			After: out.review(), At: now})
	})
	if err != nil {
		return Review{}, err
	}
	if cred := s.credentialOf(ctx, attemptID); cred != "" && s.OnReview != nil {
		if err := s.OnReview(ctx, cred, ReviewPending, strings.Join(reasons, "; ")); err != nil {
			return Review{}, fmt.Errorf("assess: suspend credential under review: %w", err)
		}
	}
	return out.review(), nil
}

func (s *Service) credentialOf(ctx context.Context, attemptID string) string {
	var a attemptRow
	if err := first(s.db.WithContext(ctx), &a, "attempt", attemptID); err != nil || a.CredentialID == nil {
		return ""
	}
	return *a.CredentialID
}

// DecideReview records a reviewer's decision on a pending review, with a
// note (required unless clearing). Clearing or warning releases a held
// credential (issued now) or reinstates a suspended one; invalidating
// takes the pass away, and a credential already issued is revoked.
func (s *Service) DecideReview(ctx context.Context, actor, attemptID, decision, note string) (Review, error) {
	if !slices.Contains([]string{ReviewCleared, ReviewWarned, ReviewInvalidated}, decision) {
		return Review{}, valid.Errorf("decision", "must be cleared, warned or invalidated")
	}
	note = strings.TrimSpace(note)
	if decision != ReviewCleared && note == "" {
		return Review{}, valid.Errorf("note", "is required to warn or invalidate")
	}
	now := s.now().UTC()
	var out reviewRow
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&reviewRow{}).Where("attempt_id = ? AND status = ?", attemptID, ReviewPending).Updates(map[string]any{
			"status": decision, "decided_by": userRef(actor), "decided_at": now, "note": note})
		if res.Error != nil {
			return fmt.Errorf("assess: decide review: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			if err := tx.First(&out, "attempt_id = ?", attemptID).Error; errors.Is(err, gorm.ErrRecordNotFound) {
				return notFound("review", attemptID)
			}
			return fmt.Errorf("%w: the review of attempt %s is not pending", ErrConflict, attemptID)
		}
		if decision == ReviewInvalidated {
			if err := tx.Model(&attemptRow{}).Where("id = ?", attemptID).Updates(map[string]any{
				"passed": false, "invalidated_at": now}).Error; err != nil {
				return fmt.Errorf("assess: invalidate attempt: %w", err)
			}
		}
		if err := tx.First(&out, "attempt_id = ?", attemptID).Error; err != nil {
			return fmt.Errorf("assess: review: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "attempt.review.decide", Subject: "attempt:" + attemptID,
			After: out.review(), At: now})
	})
	if err != nil {
		return Review{}, err
	}
	if cred := s.credentialOf(ctx, attemptID); cred != "" {
		if s.OnReview != nil {
			if err := s.OnReview(ctx, cred, decision, note); err != nil {
				return Review{}, fmt.Errorf("assess: credential after review: %w", err)
			}
		}
	} else if decision != ReviewInvalidated {
		if _, err := s.settle(ctx, attemptID, nil); err != nil { // a held credential is issued now
			return Review{}, err
		}
	}
	return out.review(), nil
}

// Review returns an attempt's review, or ErrNotFound.
func (s *Service) Review(ctx context.Context, attemptID string) (Review, error) {
	if uuid.Validate(attemptID) != nil {
		return Review{}, notFound("review", attemptID)
	}
	var r reviewRow
	err := s.db.WithContext(ctx).First(&r, "attempt_id = ?", attemptID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Review{}, notFound("review", attemptID)
	}
	if err != nil {
		return Review{}, fmt.Errorf("assess: review: %w", err)
	}
	return r.review(), nil
}

// Reviews lists reviews with the status (all when empty), riskiest first,
// then oldest first.
func (s *Service) Reviews(ctx context.Context, status string) ([]Review, error) {
	q := s.db.WithContext(ctx).Order("risk DESC, opened_at, attempt_id")
	if status != "" {
		q = q.Where("status = ?", status)
	}
	var rows []reviewRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: reviews: %w", err)
	}
	out := make([]Review, len(rows))
	for i, r := range rows {
		out[i] = r.review()
	}
	return out, nil
}
