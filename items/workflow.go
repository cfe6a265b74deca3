package items

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// The review workflow. Each transition checks the item's status, changes
// it with a guard against a concurrent change (ErrStatus), and writes an
// audit entry naming the status and versions before and after, all in one
// transaction. Who may ask for a transition (authors submit, reviewers
// approve, managers retire) is the caller's to check; the store enforces
// the one rule of the data itself: nobody approves their own writing.

// SubmitForReview sends a draft to review on behalf of actor. Items not in
// draft return ErrStatus.
func (s *Store) SubmitForReview(ctx context.Context, actor, id string) (Item, error) {
	return s.transition(ctx, actor, id, "item.submit", "", func(tx *gorm.DB, row itemRow) (map[string]any, error) {
		if row.Status != StatusDraft {
			return nil, fmt.Errorf("%w: item %s is %s, not a draft", ErrStatus, id, row.Status)
		}
		return map[string]any{"status": StatusInReview}, nil
	})
}

// Approve signs off the working version of an item in review on behalf of
// reviewer, with an optional note (kept as a comment on that version): it
// becomes the published version, the one candidates get. A reviewer who
// wrote any version since the last published one (the change under
// review) gets ErrSelfReview; an item not in review, ErrStatus.
func (s *Store) Approve(ctx context.Context, reviewer, id, note string) (Item, error) {
	note = strings.TrimSpace(note)
	return s.transition(ctx, reviewer, id, "item.approve", note, func(tx *gorm.DB, row itemRow) (map[string]any, error) {
		if row.Status != StatusInReview {
			return nil, fmt.Errorf("%w: item %s is %s, not in review", ErrStatus, id, row.Status)
		}
		var mine int64
		if isUUID(reviewer) { // only users write versions; "system" wrote none
			err := tx.Model(&versionRow{}).Where("item_id = ? AND version > ? AND author_id = ?", id, row.published(), reviewer).
				Count(&mine).Error
			if err != nil {
				return nil, fmt.Errorf("items: approve: %w", err)
			}
		}
		if mine > 0 {
			return nil, fmt.Errorf("%w: %s wrote part of item %s since version %d", ErrSelfReview, reviewer, id, row.published())
		}
		now := s.now().UTC()
		approval := map[string]any{"approved_at": now}
		if isUUID(reviewer) {
			approval["approved_by"] = reviewer
		}
		if err := tx.Model(&versionRow{}).Where("item_id = ? AND version = ?", id, row.CurrentVersion).Updates(approval).Error; err != nil {
			return nil, fmt.Errorf("items: approve: %w", err)
		}
		return map[string]any{"status": StatusApproved, "published_version": row.CurrentVersion}, nil
	})
}

// RequestChanges sends an item in review back to draft on behalf of
// reviewer, with a comment (required: field "comment") saying what to
// change, kept on the version reviewed. An author may use it to withdraw
// their own item from review. Items not in review return ErrStatus.
func (s *Store) RequestChanges(ctx context.Context, reviewer, id, comment string) (Item, error) {
	comment = strings.TrimSpace(comment)
	if comment == "" {
		return Item{}, valid.Errorf("comment", "is required: say what should change")
	}
	return s.transition(ctx, reviewer, id, "item.request_changes", comment, func(tx *gorm.DB, row itemRow) (map[string]any, error) {
		if row.Status != StatusInReview {
			return nil, fmt.Errorf("%w: item %s is %s, not in review", ErrStatus, id, row.Status)
		}
		return map[string]any{"status": StatusDraft}, nil
	})
}

// Retire withdraws an item for good on behalf of actor, for a reason
// (required: field "reason"): it is never delivered again, and past
// attempts keep the versions they used. A retired item returns ErrStatus.
func (s *Store) Retire(ctx context.Context, actor, id, reason string) (Item, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Item{}, valid.Errorf("reason", "is required")
	}
	return s.transition(ctx, actor, id, "item.retire", reason, func(tx *gorm.DB, row itemRow) (map[string]any, error) {
		if row.Status == StatusRetired {
			return nil, fmt.Errorf("%w: item %s is already retired", ErrStatus, id)
		}
		return map[string]any{"status": StatusRetired}, nil
	})
}

// transition runs one workflow step: decide checks the item (read in the
// transaction) and returns the column changes; a non-empty note is kept as
// a comment on the working version and in the audit entry.
func (s *Store) transition(ctx context.Context, actor, id, action, note string, decide func(*gorm.DB, itemRow) (map[string]any, error)) (Item, error) {
	now := s.now().UTC()
	var it Item
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, _, err := working(tx, id)
		if err != nil {
			return err
		}
		before := toItem(row, versionRow{Version: row.CurrentVersion})
		changes, err := decide(tx, row)
		if err != nil {
			return err
		}
		changes["updated_at"] = now
		if err := advance(tx, row, changes); err != nil {
			return err
		}
		if note != "" {
			if _, err := insertComment(tx, actor, id, row.CurrentVersion, note, now); err != nil {
				return err
			}
		}
		row, v, err := working(tx, id)
		if err != nil {
			return err
		}
		it = toItem(row, v)
		type entry struct {
			state
			Note string `json:"note,omitempty"`
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: action, Subject: "item:" + id,
			Before: stateOf(before, false), After: entry{stateOf(it, false), note}, At: now})
	})
	return it, err
}

// Version is one version in an item's history.
type Version struct {
	ID        string
	Number    int
	AuthorID  string // "" when the system wrote it
	CreatedAt time.Time
	// ApprovedBy and ApprovedAt record the sign-off of a version that was
	// approved (ApprovedBy "" when the system approved it); ApprovedAt is
	// nil for a version never approved.
	ApprovedBy string
	ApprovedAt *time.Time
}

// History returns every version of an item, newest first.
func (s *Store) History(ctx context.Context, id string) ([]Version, error) {
	if !isUUID(id) {
		return nil, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	var rows []versionRow
	err := s.db.WithContext(ctx).Select("id", "item_id", "version", "author_id", "created_at", "approved_by", "approved_at").
		Where("item_id = ?", id).Order("version DESC").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("items: history: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	out := make([]Version, len(rows))
	for i, r := range rows {
		out[i] = Version{ID: r.ID, Number: r.Version, AuthorID: deref(r.AuthorID), CreatedAt: r.CreatedAt.UTC(),
			ApprovedBy: deref(r.ApprovedBy), ApprovedAt: r.ApprovedAt}
		if r.ApprovedAt != nil {
			at := r.ApprovedAt.UTC()
			out[i].ApprovedAt = &at
		}
	}
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
