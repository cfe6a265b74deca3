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
	"github.com/touchstone-assess/touchstone/internal/memo"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// ErrNotFound is returned when an item or version does not exist.
var ErrNotFound = errors.New("items: not found")

// ErrStatus is returned when a change is not allowed in the item's status:
// editing an item in review or retired, approving a draft, and the like.
var ErrStatus = errors.New("items: not allowed in the item's status")

// ErrSelfReview is returned when a reviewer would approve a change they
// wrote part of: a sign-off needs a second person.
var ErrSelfReview = errors.New("items: a reviewer may not approve their own writing")

// Item statuses. An item's status is the state of its working version:
//
//	draft ──submit──► in_review ──approve──► approved
//	  ▲                  │                      │
//	  └─request changes──┘◄──────── edit ───────┘ (a new draft version)
//
// and any status but retired ──retire──► retired, for good. An approved
// item that is edited is a draft again, yet it stays deliverable at its
// published version (Item.Published) until the new version is approved.
const (
	StatusDraft    = "draft"
	StatusInReview = "in_review"
	StatusApproved = "approved"
	StatusRetired  = "retired"
)

// Statuses lists the item statuses in workflow order.
var Statuses = []string{StatusDraft, StatusInReview, StatusApproved, StatusRetired}

// Item is an item at one version: the working version (Get, Working,
// List), the published version (Current) or any version (Versions).
type Item struct {
	ID        string
	ProgramID string
	// Status is the workflow status of the item as a whole (of its working
	// version), not of the version this value holds: an approved item
	// being edited is a draft, though Current still returns its published
	// version. Use Deliverable to decide delivery.
	Status    string
	Version   int    // the version this value holds
	VersionID string // its id, which responses point at
	// AuthorID is the user who wrote this version; "" when the system did
	// (a seed or an import).
	AuthorID string
	// Latest is the item's working version, the newest; Published is its
	// last approved version, delivered to candidates, or 0 if none yet.
	Latest    int
	Published int
	Content
	UpdatedAt time.Time
	// Params are the item's latest IRT parameters; nil until a calibration
	// sets them.
	Params *Params
	// Exposures counts the attempts the item was delivered in.
	Exposures int64
}

// Deliverable reports whether the item may be given to candidates: it has
// a published version and is not retired.
func (it Item) Deliverable() bool { return it.Published > 0 && it.Status != StatusRetired }

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
	ID               string     `gorm:"column:id;primaryKey"`
	ProgramID        string     `gorm:"column:program_id"`
	Domain           string     `gorm:"column:domain"`
	Kind             string     `gorm:"column:kind"`
	Status           string     `gorm:"column:status"`
	CurrentVersion   int        `gorm:"column:current_version"`
	PublishedVersion *int       `gorm:"column:published_version"`
	CreatedAt        time.Time  `gorm:"column:created_at"`
	UpdatedAt        time.Time  `gorm:"column:updated_at"`
	IRTModel         string     `gorm:"column:irt_model"`
	IRTA             *float64   `gorm:"column:irt_a"`
	IRTB             *float64   `gorm:"column:irt_b"`
	IRTC             *float64   `gorm:"column:irt_c"`
	CalibratedAt     *time.Time `gorm:"column:calibrated_at"`
	CalibrationN     int        `gorm:"column:calibration_n"`
	ExposureCount    int64      `gorm:"column:exposure_count"`
}

func (itemRow) TableName() string { return "items" }

func (r itemRow) published() int {
	if r.PublishedVersion == nil {
		return 0
	}
	return *r.PublishedVersion
}

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
	Content    *string    `gorm:"column:content"`
	ApprovedBy *string    `gorm:"column:approved_by"`
	ApprovedAt *time.Time `gorm:"column:approved_at"`
}

func (versionRow) TableName() string { return "item_versions" }

type enemyRow struct {
	ItemID  string `gorm:"column:item_id;primaryKey"`
	EnemyID string `gorm:"column:enemy_id;primaryKey"`
}

func (enemyRow) TableName() string { return "item_enemies" }

// Models lists the GORM models of this package, for schema checks.
func Models() []any { return []any{itemRow{}, versionRow{}, enemyRow{}, commentRow{}, flagRow{}} }

// Store reads and writes the item bank.
type Store struct {
	db        *gorm.DB
	inTx      bool // db is a transaction (In)
	now       func() time.Time
	shapes    *versionCache
	exposures *exposureCounter
}

// NewStore returns a Store on db; now is the clock for timestamps.
func NewStore(db *gorm.DB, now func() time.Time) *Store {
	return &Store{db: db, now: now, shapes: &versionCache{answers: memo.Map[string, Content]{Max: maxMemo}, views: memo.Map[string, CandidateContent]{Max: maxMemo},
		scoring: memo.Map[string, scoringAt]{Max: maxMemo}, delivered: memo.Map[string, itemAt]{Max: maxMemo}},
		exposures: &exposureCounter{pending: map[string]int64{}}}
}

// In returns a Store whose reads and writes go through tx.
func (s *Store) In(tx *gorm.DB) *Store {
	return &Store{db: tx, inTx: true, now: s.now, shapes: s.shapes, exposures: s.exposures}
}

// Create adds an approved item at version 1, published at once, on behalf
// of actor (a user id, or "system"). It is for seeds and imports of items
// reviewed elsewhere; authors start with Draft.
func (s *Store) Create(ctx context.Context, actor, programID string, c Content) (Item, error) {
	return s.create(ctx, actor, programID, c, StatusApproved)
}

// Draft adds an item at version 1 in draft, written by actor: it reaches
// candidates only once a reviewer approves it.
func (s *Store) Draft(ctx context.Context, actor, programID string, c Content) (Item, error) {
	return s.create(ctx, actor, programID, c, StatusDraft)
}

func (s *Store) create(ctx context.Context, actor, programID string, c Content, status string) (Item, error) {
	if uuid.Validate(programID) != nil {
		return Item{}, valid.Errorf("program_id", "is not a program id")
	}
	if err := storable(c); err != nil {
		return Item{}, err
	}
	now := s.now().UTC()
	row := itemRow{ID: uuid.NewString(), ProgramID: programID, Domain: c.Domain, Kind: string(c.ItemKind()), Status: status,
		CurrentVersion: 1, CreatedAt: now, UpdatedAt: now}
	if status == StatusApproved {
		row.PublishedVersion = ptr(1)
	}
	var it Item
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrForeignKeyViolated) {
				return fmt.Errorf("%w: program %s", ErrNotFound, programID)
			}
			return fmt.Errorf("items: create: %w", err)
		}
		v, err := insertVersion(tx, row, actor, c, now)
		if err != nil {
			return err
		}
		it = toItem(row, v)
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "item.create", Subject: "item:" + row.ID,
			After: stateOf(it, true), At: now})
	})
	return it, err
}

// Update stores c as the item's next working version, written by actor.
// Earlier versions stay as they were, for the attempts that used them. A
// draft stays a draft; an approved item becomes a draft again and keeps
// being delivered at its published version until the new one is
// approved. Items in review or retired return ErrStatus.
func (s *Store) Update(ctx context.Context, actor, id string, c Content) (Item, error) {
	if err := storable(c); err != nil {
		return Item{}, err
	}
	now := s.now().UTC()
	var it Item
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, prev, err := working(tx, id)
		if err != nil {
			return err
		}
		if row.Status != StatusDraft && row.Status != StatusApproved {
			return fmt.Errorf("%w: item %s is %s", ErrStatus, id, row.Status)
		}
		before := toItem(row, prev)
		next := row
		next.CurrentVersion, next.Status, next.Domain, next.Kind, next.UpdatedAt = row.CurrentVersion+1, StatusDraft, c.Domain, string(c.ItemKind()), now
		if err := advance(tx, row, map[string]any{"current_version": next.CurrentVersion, "status": next.Status,
			"domain": next.Domain, "kind": next.Kind, "updated_at": now}); err != nil {
			return err
		}
		v, err := insertVersion(tx, next, actor, c, now)
		if err != nil {
			return err
		}
		it = toItem(next, v)
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "item.update", Subject: "item:" + id,
			Before: stateOf(before, true), After: stateOf(it, true), At: now})
	})
	return it, err
}

// working reads an item and its working version inside tx.
func working(tx *gorm.DB, id string) (itemRow, versionRow, error) {
	if uuid.Validate(id) != nil {
		return itemRow{}, versionRow{}, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	var row itemRow
	err := tx.First(&row, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return itemRow{}, versionRow{}, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	if err != nil {
		return itemRow{}, versionRow{}, fmt.Errorf("items: read %s: %w", id, err)
	}
	var v versionRow
	if err := tx.First(&v, "item_id = ? AND version = ?", id, row.CurrentVersion).Error; err != nil {
		return itemRow{}, versionRow{}, fmt.Errorf("items: read %s v%d: %w", id, row.CurrentVersion, err)
	}
	return row, v, nil
}

// advance applies changes to the item row read as row, provided nobody
// changed its status or version since: a concurrent transition makes it
// return ErrStatus rather than act on a state it did not check.
func advance(tx *gorm.DB, row itemRow, changes map[string]any) error {
	res := tx.Model(&itemRow{}).Where("id = ? AND status = ? AND current_version = ?", row.ID, row.Status, row.CurrentVersion).
		Updates(changes)
	if res.Error != nil {
		return fmt.Errorf("items: update %s: %w", row.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%w: item %s changed meanwhile", ErrStatus, row.ID)
	}
	return nil
}

// state is what the audit log keeps of an item around a change.
type state struct {
	Status    string   `json:"status"`
	Version   int      `json:"version"`
	Published int      `json:"published_version,omitempty"`
	Content   *Content `json:"content,omitempty"`
}

func stateOf(it Item, withContent bool) state {
	st := state{Status: it.Status, Version: it.Latest, Published: it.Published}
	if withContent {
		c := it.Content
		st.Content = &c
	}
	return st
}

func ptr[T any](v T) *T { return &v }

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
	if row.Status == StatusApproved {
		// Created approved (a seed or an import): approved as written.
		v.ApprovedAt = &now
	}
	if uuid.Validate(actor) == nil {
		v.AuthorID = &actor
		if v.ApprovedAt != nil {
			v.ApprovedBy = &actor
		}
	}
	if err := tx.Create(&v).Error; err != nil {
		return versionRow{}, fmt.Errorf("items: new version: %w", err)
	}
	return v, nil
}

func toItem(r itemRow, v versionRow) Item {
	it := Item{ID: r.ID, ProgramID: r.ProgramID, Status: r.Status, Version: v.Version, VersionID: v.ID, UpdatedAt: r.UpdatedAt,
		Latest: r.CurrentVersion, Published: r.published(), Exposures: r.ExposureCount}
	if v.AuthorID != nil {
		it.AuthorID = *v.AuthorID
	}
	// Both encodings are written by insertVersion only.
	if v.Content != nil && *v.Content != "" {
		_ = json.Unmarshal([]byte(*v.Content), &it.Content)
	} else {
		var opts []Option
		_ = json.Unmarshal([]byte(v.Options), &opts)
		it.Content = Content{Domain: r.Domain, Stem: v.Stem, Exhibit: v.Exhibit, Options: opts, Key: v.AnswerKey, Rationale: v.Rationale}
	}
	it.Params = r.params()
	return it
}

// params are the item's IRT parameters, nil before a calibration.
func (r itemRow) params() *Params {
	if r.IRTModel == "" || r.IRTA == nil || r.IRTB == nil || r.IRTC == nil {
		return nil
	}
	p := Params{Model: r.IRTModel, A: *r.IRTA, B: *r.IRTB, C: *r.IRTC, N: r.CalibrationN}
	if r.CalibratedAt != nil {
		p.CalibratedAt = r.CalibratedAt.UTC()
	}
	return &p
}

// CurrentParams returns the IRT parameters of those of the items with the
// given ids that are published and calibrated, ordered by item id: what
// Current would give as their Params, without reading a version's content
// (scoring carries a cut to the θ metric with them on every submit).
func (s *Store) CurrentParams(ctx context.Context, ids []string) ([]Params, error) {
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return uuid.Validate(id) != nil })
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []itemRow
	if err := s.db.WithContext(ctx).Select("id, irt_model, irt_a, irt_b, irt_c, calibrated_at, calibration_n").
		Where("id IN ? AND published_version IS NOT NULL", ids).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("items: parameters: %w", err)
	}
	var out []Params
	for _, r := range rows {
		if p := r.params(); p != nil {
			out = append(out, *p)
		}
	}
	return out, nil
}

// Get returns the working version of an item, the one authors edit and
// reviewers review.
func (s *Store) Get(ctx context.Context, id string) (Item, error) {
	if uuid.Validate(id) != nil {
		return Item{}, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	got, err := s.Working(ctx, []string{id})
	if err != nil {
		return Item{}, err
	}
	if len(got) == 0 {
		return Item{}, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	return got[0], nil
}

// Working returns the working versions of the items with the given ids, in
// the order of ids; unknown ids are left out.
func (s *Store) Working(ctx context.Context, ids []string) ([]Item, error) {
	return s.at(ctx, ids, func(r itemRow) int { return r.CurrentVersion })
}

// Current returns the published version of each of the items with the
// given ids, in the order of ids: what candidates are given. Items never
// approved, and unknown ids, are left out; retired items are returned (past
// attempts and statistics refer to them) with Status StatusRetired, so
// delivery skips every item that is not Deliverable.
func (s *Store) Current(ctx context.Context, ids []string) ([]Item, error) {
	return s.at(ctx, ids, func(r itemRow) int { return r.published() })
}

// at returns the items with the given ids, each at the version picked
// (none when it picks 0), in the order of ids.
func (s *Store) at(ctx context.Context, ids []string, pick func(itemRow) int) ([]Item, error) {
	ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return uuid.Validate(id) != nil })
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []itemRow
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("items: read: %w", err)
	}
	byID := map[string]itemRow{}
	var conds []string
	var args []any
	for _, r := range rows {
		if pick(r) == 0 {
			continue
		}
		byID[r.ID] = r
		conds = append(conds, "(item_id = ? AND version = ?)")
		args = append(args, r.ID, pick(r))
	}
	if len(byID) == 0 {
		return nil, nil
	}
	var versions []versionRow
	if err := s.db.WithContext(ctx).Where(strings.Join(conds, " OR "), args...).Find(&versions).Error; err != nil {
		return nil, fmt.Errorf("items: read versions: %w", err)
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
	versionIDs = slices.DeleteFunc(slices.Clone(versionIDs), func(id string) bool { return uuid.Validate(id) != nil })
	if len(versionIDs) == 0 {
		return map[string]Item{}, nil
	}
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

// ErrRekeyChangesItem: a rekey may change how an item is scored, never what
// candidates saw.
var ErrRekeyChangesItem = errors.New("items: a rekey may change only the key")

// Rekey corrects the scoring of a published version in place (a miskeyed
// item found by item analysis), on behalf of actor, audited with the key it
// replaces and the reason. What candidates saw — stem, exhibit, options,
// targets — must stay exactly as it was (ErrRekeyChangesItem); responses
// keep pointing at the version, so re-scoring them applies the correction.
// Callers re-score the affected attempts (assess.Service.Rekey).
func (s *Store) Rekey(ctx context.Context, actor, versionID string, corrected Content, reason string) (Item, error) {
	if strings.TrimSpace(reason) == "" {
		return Item{}, valid.Errorf("reason", "is required: it is recorded with the rekey")
	}
	if uuid.Validate(versionID) != nil {
		return Item{}, fmt.Errorf("%w: version %s", ErrNotFound, versionID)
	}
	if err := corrected.Validate(); err != nil {
		return Item{}, err
	}
	var out Item
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Lock the version first: a concurrent rekey (from any instance)
		// waits, then reads the key this one wrote, so that each audits
		// the key it really replaced.
		if err := tx.Exec("UPDATE item_versions SET id = id WHERE id = ?", versionID).Error; err != nil {
			return fmt.Errorf("items: rekey: %w", err)
		}
		var v versionRow
		if err := tx.First(&v, "id = ?", versionID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("%w: version %s", ErrNotFound, versionID)
			}
			return fmt.Errorf("items: rekey: %w", err)
		}
		var row itemRow
		if err := tx.First(&row, "id = ?", v.ItemID).Error; err != nil {
			return fmt.Errorf("items: rekey: %w", err)
		}
		old := toItem(row, v).Content
		if corrected.Kind == "" {
			corrected.Kind = old.ItemKind()
		}
		if !sameForCandidate(old, corrected) || old.Domain != corrected.Domain {
			return ErrRekeyChangesItem
		}
		b, err := json.Marshal(corrected)
		if err != nil {
			return err
		}
		content := string(b)
		if err := tx.Model(&versionRow{}).Where("id = ?", versionID).
			Updates(map[string]any{"content": content, "answer_key": corrected.Key}).Error; err != nil {
			return fmt.Errorf("items: rekey: %w", err)
		}
		v.Content, v.AnswerKey = &content, corrected.Key
		out = toItem(row, v)
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "item.rekey", Subject: "item:" + v.ItemID,
			Before: map[string]any{"version": versionID, "content": old}, After: map[string]any{"version": versionID, "content": corrected, "reason": reason},
			At: s.now().UTC()})
	})
	return out, err
}

// sameForCandidate reports whether a and b show candidates the same item.
func sameForCandidate(a, b Content) bool {
	x, errA := json.Marshal(a.ForCandidate())
	y, errB := json.Marshal(b.ForCandidate())
	return errA == nil && errB == nil && string(x) == string(y)
}
