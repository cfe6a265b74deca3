// Package proctor records what the exam page observes during an attempt —
// focus loss, hidden tabs, leaving full screen, copy and paste, and a
// heartbeat — and lists it for proctors.
package proctor

import (
	"context"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Event kinds the exam page reports.
const (
	FocusLost      = "focus_lost"
	FocusGained    = "focus_gained"
	Hidden         = "visibility_hidden"
	Visible        = "visibility_visible"
	FullscreenExit = "fullscreen_exit"
	Copy           = "copy"
	Paste          = "paste"
	Heartbeat      = "heartbeat"
)

// Kinds is every accepted event kind.
var Kinds = []string{FocusLost, FocusGained, Hidden, Visible, FullscreenExit, Copy, Paste, Heartbeat}

// Event is one observation during an attempt.
type Event struct {
	ID         int64
	AttemptID  string
	Kind       string
	Detail     string
	ClientAt   *time.Time // as the browser said; never trusted for decisions
	ReceivedAt time.Time
}

type eventRow struct {
	ID         int64      `gorm:"column:id;primaryKey;autoIncrement"`
	AttemptID  string     `gorm:"column:attempt_id"`
	Kind       string     `gorm:"column:kind"`
	Detail     string     `gorm:"column:detail"`
	ClientAt   *time.Time `gorm:"column:client_at"`
	ReceivedAt time.Time  `gorm:"column:received_at"`
}

func (eventRow) TableName() string { return "proctor_events" }

// Models lists the GORM models of this package, for schema checks.
func Models() []any { return []any{eventRow{}} }

// Log stores and lists proctoring events.
type Log struct {
	db  *gorm.DB
	now func() time.Time
}

// NewLog returns a Log on db.
func NewLog(db *gorm.DB, now func() time.Time) *Log { return &Log{db: db, now: now} }

// Record stores events of one attempt in one transaction.
func (l *Log) Record(ctx context.Context, attemptID string, events []Event) error {
	rows := make([]eventRow, 0, len(events))
	now := l.now().UTC()
	for i, e := range events {
		if !known(e.Kind) {
			return valid.Errorf(fmt.Sprintf("events[%d].kind", i), "unknown kind %q", e.Kind)
		}
		if len(e.Detail) > 500 {
			return valid.Errorf(fmt.Sprintf("events[%d].detail", i), "is longer than 500 bytes")
		}
		rows = append(rows, eventRow{AttemptID: attemptID, Kind: e.Kind, Detail: e.Detail, ClientAt: e.ClientAt, ReceivedAt: now})
	}
	if len(rows) == 0 {
		return nil
	}
	if err := l.db.WithContext(ctx).Create(&rows).Error; err != nil {
		return fmt.Errorf("proctor: record: %w", err)
	}
	return nil
}

func known(kind string) bool {
	for _, k := range Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Events lists an attempt's events in the order received.
func (l *Log) Events(ctx context.Context, attemptID string) ([]Event, error) {
	var rows []eventRow
	if err := l.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("proctor: events: %w", err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = Event(r)
	}
	return out, nil
}

// Summary is one attempt's events counted by kind, for the proctor's list.
type Summary struct {
	AttemptID string
	Counts    map[string]int
	Incidents int // every event but heartbeats and regained focus/visibility
}

// Summaries counts the events of the given attempts.
func (l *Log) Summaries(ctx context.Context, attemptIDs []string) (map[string]Summary, error) {
	type countRow struct {
		AttemptID string
		Kind      string
		N         int
	}
	var rows []countRow
	if len(attemptIDs) > 0 {
		err := l.db.WithContext(ctx).Model(&eventRow{}).
			Select("attempt_id, kind, COUNT(*) AS n").
			Where("attempt_id IN ?", attemptIDs).Group("attempt_id, kind").Scan(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("proctor: summaries: %w", err)
		}
	}
	out := make(map[string]Summary, len(attemptIDs))
	for _, id := range attemptIDs {
		out[id] = Summary{AttemptID: id, Counts: map[string]int{}}
	}
	for _, r := range rows {
		s := out[r.AttemptID]
		s.Counts[r.Kind] = r.N
		switch r.Kind {
		case Heartbeat, FocusGained, Visible:
		default:
			s.Incidents += r.N
		}
		out[r.AttemptID] = s
	}
	return out, nil
}

// Risk scores an attempt's events with weights per kind: the sum of each
// kind's count times its weight, with the reasons that contributed, most
// weighty first ("3 × focus_lost").
func (l *Log) Risk(ctx context.Context, attemptID string, weights map[string]float64) (float64, []string, error) {
	sums, err := l.Summaries(ctx, []string{attemptID})
	if err != nil {
		return 0, nil, err
	}
	type part struct {
		kind string
		n    int
		risk float64
	}
	var parts []part
	var risk float64
	for kind, n := range sums[attemptID].Counts {
		if w := weights[kind]; w > 0 && n > 0 {
			parts = append(parts, part{kind, n, w * float64(n)})
			risk += w * float64(n)
		}
	}
	sort.Slice(parts, func(i, j int) bool {
		if parts[i].risk != parts[j].risk {
			return parts[i].risk > parts[j].risk
		}
		return parts[i].kind < parts[j].kind
	})
	reasons := make([]string, len(parts))
	for i, p := range parts {
		reasons[i] = fmt.Sprintf("%d × %s", p.n, p.kind)
	}
	return risk, reasons, nil
}
