package items

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// ErrFlagResolved is returned when a flag that is already resolved would
// be resolved again: the first resolution stands, as the audit log says.
var ErrFlagResolved = errors.New("items: flag already resolved")

// Flag marks an item for review: item analysis or a candidate's
// complaint suggests it is miskeyed, ambiguous or out of date. It stays
// open until someone resolves it with what was done (a rekey, a retirement,
// an edit, or nothing and why).
type Flag struct {
	ID       string
	ItemID   string
	Reason   string
	RaisedBy string // "" when the system raised it
	RaisedAt time.Time
	// ResolvedBy, ResolvedAt and Resolution record how the flag was
	// closed; ResolvedAt is nil while it is open.
	ResolvedBy string
	ResolvedAt *time.Time
	Resolution string
}

// Open reports whether the flag still awaits a resolution.
func (f Flag) Open() bool { return f.ResolvedAt == nil }

type flagRow struct {
	ID         string     `gorm:"column:id;primaryKey"`
	ItemID     string     `gorm:"column:item_id"`
	Reason     string     `gorm:"column:reason"`
	RaisedBy   *string    `gorm:"column:raised_by"`
	RaisedAt   time.Time  `gorm:"column:raised_at"`
	ResolvedBy *string    `gorm:"column:resolved_by"`
	ResolvedAt *time.Time `gorm:"column:resolved_at"`
	Resolution string     `gorm:"column:resolution"`
}

func (flagRow) TableName() string { return "item_flags" }

func (r flagRow) flag() Flag {
	f := Flag{ID: r.ID, ItemID: r.ItemID, Reason: r.Reason, RaisedBy: deref(r.RaisedBy), RaisedAt: r.RaisedAt.UTC(),
		ResolvedBy: deref(r.ResolvedBy), Resolution: r.Resolution}
	if r.ResolvedAt != nil {
		at := r.ResolvedAt.UTC()
		f.ResolvedAt = &at
	}
	return f
}

// Flag raises a flag on item id on behalf of actor, for a reason
// (required, field "reason", at most MaxCommentLength bytes). Any item may
// be flagged, retired ones included: their past scores may still need a
// rekey. The flag is audited as "item.flag".
func (s *Store) Flag(ctx context.Context, actor, id, reason string) (Flag, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return Flag{}, valid.Errorf("reason", "is required: say what should be reviewed")
	case len(reason) > MaxCommentLength:
		return Flag{}, valid.Errorf("reason", "must be at most %d bytes", MaxCommentLength)
	}
	now := s.now().UTC()
	var out Flag
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, _, err := working(tx, id); err != nil {
			return err
		}
		// A version 7 id grows with time, so flags raised in one instant
		// keep their order.
		r := flagRow{ID: uuid.Must(uuid.NewV7()).String(), ItemID: id, Reason: reason, RaisedAt: now}
		if isUUID(actor) {
			r.RaisedBy = &actor
		}
		if err := tx.Create(&r).Error; err != nil {
			return fmt.Errorf("items: flag: %w", err)
		}
		out = r.flag()
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "item.flag", Subject: "item:" + id,
			After: map[string]any{"flag": r.ID, "reason": reason}, At: now})
	})
	return out, err
}

// ResolveFlag closes flag flagID on behalf of actor with a resolution
// (required, field "resolution": what was done, or why nothing was). A
// flag already resolved returns ErrFlagResolved; an unknown one
// ErrNotFound. The resolution is audited as "item.flag.resolve".
func (s *Store) ResolveFlag(ctx context.Context, actor, flagID, resolution string) (Flag, error) {
	resolution = strings.TrimSpace(resolution)
	switch {
	case resolution == "":
		return Flag{}, valid.Errorf("resolution", "is required: say what was done")
	case len(resolution) > MaxCommentLength:
		return Flag{}, valid.Errorf("resolution", "must be at most %d bytes", MaxCommentLength)
	case !isUUID(flagID):
		return Flag{}, fmt.Errorf("%w: flag %s", ErrNotFound, flagID)
	}
	now := s.now().UTC()
	var out Flag
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var r flagRow
		err := tx.First(&r, "id = ?", flagID).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("%w: flag %s", ErrNotFound, flagID)
		}
		if err != nil {
			return fmt.Errorf("items: resolve flag: %w", err)
		}
		changes := map[string]any{"resolved_at": now, "resolution": resolution}
		if isUUID(actor) {
			changes["resolved_by"] = actor
		}
		// The guard on resolved_at makes a concurrent second resolution
		// fail rather than overwrite the first.
		res := tx.Model(&flagRow{}).Where("id = ? AND resolved_at IS NULL", flagID).Updates(changes)
		if res.Error != nil {
			return fmt.Errorf("items: resolve flag: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: flag %s", ErrFlagResolved, flagID)
		}
		r.ResolvedAt, r.Resolution = &now, resolution
		if isUUID(actor) {
			r.ResolvedBy = &actor
		}
		out = r.flag()
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "item.flag.resolve", Subject: "item:" + r.ItemID,
			Before: map[string]any{"flag": flagID, "reason": r.Reason},
			After:  map[string]any{"flag": flagID, "resolution": resolution}, At: now})
	})
	return out, err
}

// GetFlag returns flag flagID, or ErrNotFound.
func (s *Store) GetFlag(ctx context.Context, flagID string) (Flag, error) {
	if !isUUID(flagID) {
		return Flag{}, fmt.Errorf("%w: flag %s", ErrNotFound, flagID)
	}
	var r flagRow
	err := s.db.WithContext(ctx).First(&r, "id = ?", flagID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Flag{}, fmt.Errorf("%w: flag %s", ErrNotFound, flagID)
	}
	if err != nil {
		return Flag{}, fmt.Errorf("items: flag: %w", err)
	}
	return r.flag(), nil
}

// Flags returns the flags of item id, open ones first, each group oldest
// first. An unknown item has none; callers that must tell the two apart
// read the item.
func (s *Store) Flags(ctx context.Context, id string) ([]Flag, error) {
	if !isUUID(id) {
		return nil, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	var rows []flagRow
	if err := s.db.WithContext(ctx).Where("item_id = ?", id).Order("raised_at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("items: flags: %w", err)
	}
	out := make([]Flag, len(rows))
	for i, r := range rows {
		out[i] = r.flag()
	}
	slices.SortStableFunc(out, func(a, b Flag) int {
		switch {
		case a.Open() && !b.Open():
			return -1
		case !a.Open() && b.Open():
			return 1
		}
		return 0
	})
	return out, nil
}

// OpenFlagCounts returns how many open flags each of the items in ids has;
// items without open flags are left out of the map.
func (s *Store) OpenFlagCounts(ctx context.Context, ids []string) (map[string]int, error) {
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return !isUUID(id) })
	out := map[string]int{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ItemID string
		N      int
	}
	err := s.db.WithContext(ctx).Model(&flagRow{}).Select("item_id, COUNT(*) AS n").
		Where("item_id IN ? AND resolved_at IS NULL", ids).Group("item_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("items: open flags: %w", err)
	}
	for _, r := range rows {
		out[r.ItemID] = r.N
	}
	return out, nil
}
