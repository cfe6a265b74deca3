// Package items is Touchstone's item bank: items whose published content
// is immutable. Every change creates a new version, and every change is
// audited; attempts point at the exact version a candidate saw, so a later
// edit never alters a past score.
//
// An item's Content has a Kind:
//
//   - single_choice: one correct option among 2 to 8 (the default, and
//     every item written before kinds existed);
//   - true_false: the options "true" and "false", one of them the key;
//   - multiple_response: one or more correct options, scored all or
//     nothing or with "right minus wrong" partial credit;
//   - numeric: a number, right within an absolute or relative tolerance;
//   - short_text: a short answer compared with accepted answers, with
//     whitespace normalised and, unless case sensitive, case ignored;
//   - ordering: the options put in the correct order, scored all or
//     nothing or by the share of positions right;
//   - matching: each option paired with a target, scored all or nothing or
//     by the share of pairs right.
//
// Content.Validate checks an item of any kind, Content.Score scores an
// Answer to it, and Content.ForCandidate gives what a candidate's browser
// may see: the Markdown of stem, exhibit and options rendered to sanitised
// HTML (RenderMarkdown) and no key, accepted answer or rationale.
package items

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// ErrNotFound is returned when an item or version does not exist.
var ErrNotFound = errors.New("items: not found")

// Item statuses.
const (
	StatusDraft   = "draft"
	StatusActive  = "active"
	StatusRetired = "retired"
)

// Item is an item at one version.
type Item struct {
	ID        string
	ProgramID string
	Status    string
	Version   int
	VersionID string
	Content
	UpdatedAt time.Time
	// Params are the item's latest IRT parameters; nil until a calibration
	// sets them.
	Params *Params
	// Exposures counts the attempts the item was delivered in.
	Exposures int64
}

// Params are an item's IRT parameters from its latest calibration, on the
// program's reporting scale of θ (see psychometrics.Item3PL).
type Params struct {
	Model        string // "Rasch", "1PL", "2PL" or "3PL"
	A, B, C      float64
	CalibratedAt time.Time
	N            int // examinees in the calibration
}

func (p Params) validate() error {
	switch {
	case p.Model != "Rasch" && p.Model != "1PL" && p.Model != "2PL" && p.Model != "3PL":
		return valid.Errorf("model", "must be Rasch, 1PL, 2PL or 3PL")
	case !(p.A > 0) || math.IsInf(p.A, 0):
		return valid.Errorf("a", "must be a positive number")
	case math.IsNaN(p.B) || math.IsInf(p.B, 0):
		return valid.Errorf("b", "must be a number")
	case !(p.C >= 0 && p.C < 1):
		return valid.Errorf("c", "must be in [0, 1)")
	case p.N < 0:
		return valid.Errorf("n", "must not be negative")
	}
	return nil
}

type itemRow struct {
	ID             string     `gorm:"column:id;primaryKey"`
	ProgramID      string     `gorm:"column:program_id"`
	Domain         string     `gorm:"column:domain"`
	Status         string     `gorm:"column:status"`
	CurrentVersion int        `gorm:"column:current_version"`
	CreatedAt      time.Time  `gorm:"column:created_at"`
	UpdatedAt      time.Time  `gorm:"column:updated_at"`
	IRTModel       string     `gorm:"column:irt_model"`
	IRTA           *float64   `gorm:"column:irt_a"`
	IRTB           *float64   `gorm:"column:irt_b"`
	IRTC           *float64   `gorm:"column:irt_c"`
	CalibratedAt   *time.Time `gorm:"column:calibrated_at"`
	CalibrationN   int        `gorm:"column:calibration_n"`
	ExposureCount  int64      `gorm:"column:exposure_count"`
}

func (itemRow) TableName() string { return "items" }

type versionRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	ItemID    string    `gorm:"column:item_id"`
	Version   int       `gorm:"column:version"`
	Stem      string    `gorm:"column:stem"`
	Exhibit   string    `gorm:"column:exhibit"`
	Options   string    `gorm:"column:options"`
	AnswerKey string    `gorm:"column:answer_key"`
	Rationale string    `gorm:"column:rationale"`
	AuthorID  *string   `gorm:"column:author_id"`
	CreatedAt time.Time `gorm:"column:created_at"`
	// Content is the whole Content as JSON; versions written before it
	// existed have only the columns above.
	Content *string `gorm:"column:content"`
}

func (versionRow) TableName() string { return "item_versions" }

type enemyRow struct {
	ItemID  string `gorm:"column:item_id;primaryKey"`
	EnemyID string `gorm:"column:enemy_id;primaryKey"`
}

func (enemyRow) TableName() string { return "item_enemies" }

// Models lists the GORM models of this package, for schema checks.
func Models() []any { return []any{itemRow{}, versionRow{}, enemyRow{}} }

// Store reads and writes the item bank.
type Store struct {
	db  *gorm.DB
	now func() time.Time
}

// NewStore returns a Store on db; now is the clock for timestamps.
func NewStore(db *gorm.DB, now func() time.Time) *Store {
	return &Store{db: db, now: now}
}

// In returns a Store whose reads and writes go through tx.
func (s *Store) In(tx *gorm.DB) *Store { return &Store{db: tx, now: s.now} }

// Create adds an active item at version 1 on behalf of actor (a user id).
func (s *Store) Create(ctx context.Context, actor, programID string, c Content) (Item, error) {
	if err := storable(c); err != nil {
		return Item{}, err
	}
	now := s.now().UTC()
	row := itemRow{ID: uuid.NewString(), ProgramID: programID, Domain: c.Domain, Status: StatusActive, CurrentVersion: 1, CreatedAt: now, UpdatedAt: now}
	var it Item
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("items: create: %w", err)
		}
		v, err := insertVersion(tx, row, actor, c, now)
		if err != nil {
			return err
		}
		it = toItem(row, v)
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "item.create", Subject: "item:" + row.ID, After: it.Content, At: now})
	})
	return it, err
}

// Update stores c as the item's next version; the previous version stays
// as it was, for the attempts that used it.
func (s *Store) Update(ctx context.Context, actor, id string, c Content) (Item, error) {
	if err := storable(c); err != nil {
		return Item{}, err
	}
	if uuid.Validate(id) != nil {
		return Item{}, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	now := s.now().UTC()
	var it Item
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&itemRow{}).Where("id = ?", id).Updates(map[string]any{
			"current_version": gorm.Expr("current_version + 1"), "domain": c.Domain, "updated_at": now,
		})
		if res.Error != nil {
			return fmt.Errorf("items: update: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%w: item %s", ErrNotFound, id)
		}
		var row itemRow
		if err := tx.First(&row, "id = ?", id).Error; err != nil {
			return fmt.Errorf("items: update: %w", err)
		}
		var prev versionRow
		if err := tx.First(&prev, "item_id = ? AND version = ?", id, row.CurrentVersion-1).Error; err != nil {
			return fmt.Errorf("items: update: %w", err)
		}
		v, err := insertVersion(tx, row, actor, c, now)
		if err != nil {
			return err
		}
		it = toItem(row, v)
		return audit.Append(tx, audit.Entry{
			Actor: actor, Action: "item.update", Subject: "item:" + id,
			Before: toItem(row, prev).Content, After: it.Content, At: now,
		})
	})
	return it, err
}

func insertVersion(tx *gorm.DB, row itemRow, actor string, c Content, now time.Time) (versionRow, error) {
	opts, err := json.Marshal(c.Options)
	if err != nil {
		return versionRow{}, err
	}
	whole, err := json.Marshal(c)
	if err != nil {
		return versionRow{}, err
	}
	content := string(whole)
	v := versionRow{
		ID: uuid.NewString(), ItemID: row.ID, Version: row.CurrentVersion,
		Stem: c.Stem, Exhibit: c.Exhibit, Options: string(opts), AnswerKey: c.Key, Rationale: c.Rationale,
		CreatedAt: now, Content: &content,
	}
	if _, err := uuid.Parse(actor); err == nil {
		v.AuthorID = &actor
	}
	if err := tx.Create(&v).Error; err != nil {
		return versionRow{}, fmt.Errorf("items: new version: %w", err)
	}
	return v, nil
}

func toItem(r itemRow, v versionRow) Item {
	it := Item{ID: r.ID, ProgramID: r.ProgramID, Status: r.Status, Version: v.Version, VersionID: v.ID, UpdatedAt: r.UpdatedAt,
		Exposures: r.ExposureCount}
	// Both encodings are written by insertVersion only.
	if v.Content != nil && *v.Content != "" {
		_ = json.Unmarshal([]byte(*v.Content), &it.Content)
	} else {
		var opts []Option
		_ = json.Unmarshal([]byte(v.Options), &opts)
		it.Content = Content{Domain: r.Domain, Stem: v.Stem, Exhibit: v.Exhibit, Options: opts, Key: v.AnswerKey, Rationale: v.Rationale}
	}
	if r.IRTModel != "" && r.IRTA != nil && r.IRTB != nil && r.IRTC != nil {
		p := Params{Model: r.IRTModel, A: *r.IRTA, B: *r.IRTB, C: *r.IRTC, N: r.CalibrationN}
		if r.CalibratedAt != nil {
			p.CalibratedAt = r.CalibratedAt.UTC()
		}
		it.Params = &p
	}
	return it
}

// Get returns the current version of an item.
func (s *Store) Get(ctx context.Context, id string) (Item, error) {
	got, err := s.Current(ctx, []string{id})
	if err != nil {
		return Item{}, err
	}
	if len(got) == 0 {
		return Item{}, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	return got[0], nil
}

// Current returns the current versions of the items with the given ids,
// in the order of ids; unknown ids are left out.
func (s *Store) Current(ctx context.Context, ids []string) ([]Item, error) {
	var rows []itemRow
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("items: current: %w", err)
	}
	byID := map[string]itemRow{}
	var conds []string
	var args []any
	for _, r := range rows {
		byID[r.ID] = r
		conds = append(conds, "(item_id = ? AND version = ?)")
		args = append(args, r.ID, r.CurrentVersion)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var versions []versionRow
	if err := s.db.WithContext(ctx).Where(strings.Join(conds, " OR "), args...).Find(&versions).Error; err != nil {
		return nil, fmt.Errorf("items: current versions: %w", err)
	}
	byItem := map[string]versionRow{}
	for _, v := range versions {
		byItem[v.ItemID] = v
	}
	out := make([]Item, 0, len(ids))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, toItem(r, byItem[id]))
		}
	}
	return out, nil
}

// Versions returns the item versions with the given version ids, keyed by
// version id.
func (s *Store) Versions(ctx context.Context, versionIDs []string) (map[string]Item, error) {
	var versions []versionRow
	if err := s.db.WithContext(ctx).Where("id IN ?", versionIDs).Find(&versions).Error; err != nil {
		return nil, fmt.Errorf("items: versions: %w", err)
	}
	itemIDs := make([]string, 0, len(versions))
	for _, v := range versions {
		itemIDs = append(itemIDs, v.ItemID)
	}
	var rows []itemRow
	if err := s.db.WithContext(ctx).Where("id IN ?", itemIDs).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("items: versions: %w", err)
	}
	byID := map[string]itemRow{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	out := make(map[string]Item, len(versions))
	for _, v := range versions {
		out[v.ID] = toItem(byID[v.ItemID], v)
	}
	return out, nil
}

// storable validates c: every kind is kept whole, key included.
func storable(c Content) error { return c.Validate() }

// SetParams records the item's latest IRT parameters on behalf of actor
// (the calibration run or the psychometrician who adopted it), audited with
// the parameters they replace.
func (s *Store) SetParams(ctx context.Context, actor, itemID string, p Params) error {
	if err := p.validate(); err != nil {
		return err
	}
	if uuid.Validate(itemID) != nil {
		return fmt.Errorf("%w: item %s", ErrNotFound, itemID)
	}
	now := s.now().UTC()
	if p.CalibratedAt.IsZero() {
		p.CalibratedAt = now
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row itemRow
		err := tx.First(&row, "id = ?", itemID).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("%w: item %s", ErrNotFound, itemID)
		}
		if err != nil {
			return fmt.Errorf("items: set params: %w", err)
		}
		before := toItem(row, versionRow{}).Params
		at := p.CalibratedAt.UTC()
		if err := tx.Model(&itemRow{}).Where("id = ?", itemID).Updates(map[string]any{
			"irt_model": p.Model, "irt_a": p.A, "irt_b": p.B, "irt_c": p.C, "calibrated_at": at, "calibration_n": p.N,
		}).Error; err != nil {
			return fmt.Errorf("items: set params: %w", err)
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "item.params", Subject: "item:" + itemID, Before: before, After: p, At: now})
	})
}

// AddExposures counts one more delivery of each item in itemIDs; attempts
// call it inside the transaction that freezes their form.
func (s *Store) AddExposures(ctx context.Context, itemIDs []string) error {
	if len(itemIDs) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Model(&itemRow{}).Where("id IN ?", itemIDs).
		Update("exposure_count", gorm.Expr("exposure_count + 1")).Error
	if err != nil {
		return fmt.Errorf("items: exposures: %w", err)
	}
	return nil
}

// SetEnemies replaces the enemies of item id: items that must never be on
// one form with it (they cue each other's answer or test the same fact).
// The relation is symmetric. The change is audited.
func (s *Store) SetEnemies(ctx context.Context, actor, id string, enemies []string) error {
	if uuid.Validate(id) != nil {
		return fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	want := map[string]bool{}
	for i, e := range enemies {
		if uuid.Validate(e) != nil {
			return valid.Errorf(fmt.Sprintf("enemies[%d]", i), "is not an item id")
		}
		if e == id {
			return valid.Errorf(fmt.Sprintf("enemies[%d]", i), "an item cannot be its own enemy")
		}
		want[e] = true
	}
	now := s.now().UTC()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ids := append([]string{id}, slices.Sorted(maps.Keys(want))...)
		var n int64
		if err := tx.Model(&itemRow{}).Where("id IN ?", ids).Count(&n).Error; err != nil {
			return fmt.Errorf("items: enemies: %w", err)
		}
		if int(n) != len(ids) {
			return fmt.Errorf("%w: an item among %s and its enemies", ErrNotFound, id)
		}
		before, err := s.In(tx).Enemies(ctx, []string{id})
		if err != nil {
			return err
		}
		if err := tx.Where("item_id = ? OR enemy_id = ?", id, id).Delete(&enemyRow{}).Error; err != nil {
			return fmt.Errorf("items: enemies: %w", err)
		}
		for _, e := range ids[1:] {
			a, b := min(id, e), max(id, e)
			if err := tx.Create(&enemyRow{ItemID: a, EnemyID: b}).Error; err != nil {
				return fmt.Errorf("items: enemies: %w", err)
			}
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "item.enemies", Subject: "item:" + id,
			Before: before[id], After: ids[1:], At: now})
	})
}

// Enemies returns the enemies of each of the items in ids, sorted; items
// without enemies are left out of the map.
func (s *Store) Enemies(ctx context.Context, ids []string) (map[string][]string, error) {
	var rows []enemyRow
	if err := s.db.WithContext(ctx).Where("item_id IN ? OR enemy_id IN ?", ids, ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("items: enemies: %w", err)
	}
	asked := map[string]bool{}
	for _, id := range ids {
		asked[id] = true
	}
	out := map[string][]string{}
	for _, r := range rows {
		if asked[r.ItemID] {
			out[r.ItemID] = append(out[r.ItemID], r.EnemyID)
		}
		if asked[r.EnemyID] {
			out[r.EnemyID] = append(out[r.EnemyID], r.ItemID)
		}
	}
	for id := range out {
		slices.Sort(out[id])
	}
	return out, nil
}
