package assess

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/items"
)

// Rescore is what a rekey does to one submitted attempt: its result before
// and after, each decided by the standard version the attempt cites.
type Rescore struct {
	Before, After Result
}

// Changed reports whether the rekey changes the attempt's score or its
// pass decision.
func (r Rescore) Changed() bool {
	return r.Before.Score != r.After.Score || r.Before.Passed != r.After.Passed
}

// errPreview rolls a preview's transaction back.
var errPreview = errors.New("assess: rekey preview")

// RekeyImpact shows exactly what Rekey would change, without changing
// anything: every submitted attempt that answered the item version and was
// decided by a standard, with its result before and after the corrected
// key. Past attempts recorded without a decision (RecordHistory) are left
// as they are.
func (s *Service) RekeyImpact(ctx context.Context, versionID string, corrected items.Content) ([]Rescore, error) {
	var out []Rescore
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.in(tx).rekey(ctx, tx, "preview", versionID, corrected, "preview")
		if err != nil {
			return err
		}
		return errPreview // the whole re-score is rolled back
	})
	if errors.Is(err, errPreview) {
		err = nil
	}
	return out, err
}

// Rekey corrects the key of a published item version (items.Store.Rekey),
// re-scores every submitted attempt that answered it against the standard
// version each cites, and audits each changed result, all in one
// transaction. Then OnRescore learns of every attempt whose score or
// decision changed, so that its credential follows (re-issued, revoked or
// issued).
func (s *Service) Rekey(ctx context.Context, actor, versionID string, corrected items.Content, reason string) ([]Rescore, error) {
	var out []Rescore
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.in(tx).rekey(ctx, tx, actor, versionID, corrected, reason)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, r := range out {
		if !r.Changed() {
			continue
		}
		if s.OnRescore != nil {
			credID, err := s.OnRescore(ctx, r)
			if err != nil {
				return out, fmt.Errorf("assess: credential after re-score of %s: %w", r.After.AttemptID, err)
			}
			if credID != "" {
				if err := s.db.WithContext(ctx).Model(&attemptRow{}).Where("id = ?", r.After.AttemptID).
					Update("credential_id", credID).Error; err != nil {
					return out, fmt.Errorf("assess: record re-issued credential: %w", err)
				}
			}
		}
		if r.After.Passed && !r.Before.Passed {
			if _, err := s.settle(ctx, r.After.AttemptID, nil); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func (s *Service) rekey(ctx context.Context, tx *gorm.DB, actor, versionID string, corrected items.Content, reason string) ([]Rescore, error) {
	if _, err := s.items.Rekey(ctx, actor, versionID, corrected, reason); err != nil {
		return nil, err
	}
	var ids []string
	if err := tx.Model(&responseRow{}).Distinct().Where("item_version_id = ?", versionID).Pluck("attempt_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("assess: rekey: %w", err)
	}
	var attempts []attemptRow
	// Only attempts a standard decided: past attempts recorded without a
	// decision (a pilot, a history) must not be decided, nor credentialed,
	// by a correction of the key.
	if err := tx.Where("id IN ? AND status = ? AND score IS NOT NULL AND standard_id IS NOT NULL", ids, Submitted).
		Order("submitted_at, id").Find(&attempts).Error; err != nil {
		return nil, fmt.Errorf("assess: rekey: %w", err)
	}
	out := make([]Rescore, 0, len(attempts))
	for _, a := range attempts {
		before, err := s.Result(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		if err := s.scoreAgainst(ctx, tx, a.ID, true); err != nil {
			return nil, err
		}
		after, err := s.Result(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		r := Rescore{Before: before, After: after}
		if r.Changed() {
			if err := audit.Append(tx, audit.Entry{Actor: actor, Action: "attempt.rescore", Subject: "attempt:" + a.ID,
				Before: map[string]any{"score": before.Score, "passed": before.Passed},
				After:  map[string]any{"score": after.Score, "passed": after.Passed, "item_version": versionID, "reason": reason},
				At:     s.now().UTC()}); err != nil {
				return nil, err
			}
		}
		out = append(out, r)
	}
	return out, s.remarkUndecided(ctx, tx, actor, versionID, ids)
}

// remarkUndecided re-marks the attempts among ids recorded without a
// decision (a pilot, a history): their responses and raw scores follow the
// corrected key, so that item statistics and calibrations see the key that
// is right, while they stay undecided and earn nothing.
func (s *Service) remarkUndecided(ctx context.Context, tx *gorm.DB, actor, versionID string, ids []string) error {
	var attempts []attemptRow
	if err := tx.Where("id IN ? AND status = ? AND standard_id IS NULL", ids, Submitted).Order("id").Find(&attempts).Error; err != nil {
		return fmt.Errorf("assess: rekey: %w", err)
	}
	exams := map[string]Exam{}
	for _, a := range attempts {
		exam, ok := exams[a.ExamID]
		if !ok {
			var err error
			if exam, err = s.Exam(ctx, a.ExamID); err != nil {
				return err
			}
			exams[a.ExamID] = exam
		}
		_, _, sc, err := s.mark(ctx, tx, exam, a.ID)
		if err != nil {
			return err
		}
		if a.Score != nil {
			if err := tx.Model(&attemptRow{}).Where("id = ?", a.ID).Updates(map[string]any{"score": sc.total, "max_score": sc.max}).Error; err != nil {
				return fmt.Errorf("assess: rekey: %w", err)
			}
		}
	}
	if len(attempts) == 0 {
		return nil
	}
	return audit.Append(tx, audit.Entry{Actor: actor, Action: "attempt.remark", Subject: "item-version:" + versionID,
		After: map[string]any{"undecided_attempts": len(attempts)}, At: s.now().UTC()})
}
