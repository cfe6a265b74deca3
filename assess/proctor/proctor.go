// Package proctor records what the exam page observes during an attempt —
// focus loss, hidden tabs, leaving full screen, copy and paste, printing,
// going offline, a second screen, a heartbeat, and what the face checks of
// webcam snapshots found — and the snapshots themselves, and lists them for
// proctors and reviewers.
//
// Each attempt's events form a hash chain: every event carries the SHA-256
// of its content and of the event before it, and the chain's head is kept
// apart, so that an edited, inserted or deleted event is detected by
// Verify.
package proctor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/memo"
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
	Print          = "print"
	ContextMenu    = "context_menu"
	Resize         = "resize"
	SecondScreen   = "second_screen" // the browser reports an extended display
	Offline        = "offline"
	Online         = "online"
	CameraLost     = "camera_unavailable" // the webcam stopped or was refused
	Heartbeat      = "heartbeat"

	// Recorded by the server, not accepted from the page.
	HeartbeatGap  = "heartbeat_gap" // no heartbeat for longer than HeartbeatGapAfter
	SnapshotTaken = "snapshot"      // a webcam snapshot was stored; detail names it and its SHA-256
	NoFace        = "no_face"       // a snapshot's face check found nobody
	MultipleFaces = "multiple_faces"
	LookingAway   = "looking_away"
)

// Kinds is every event kind, in the order the console lists them.
var Kinds = []string{FocusLost, FocusGained, Hidden, Visible, FullscreenExit, Copy, Paste, Print, ContextMenu,
	Resize, SecondScreen, Offline, Online, CameraLost, NoFace, MultipleFaces, LookingAway, HeartbeatGap, SnapshotTaken, Heartbeat}

// pageKinds are the kinds a page may report; the rest the server records.
var pageKinds = []string{FocusLost, FocusGained, Hidden, Visible, FullscreenExit, Copy, Paste, Print, ContextMenu,
	Resize, SecondScreen, Offline, Online, CameraLost, Heartbeat}

// Informational reports whether events of the kind say that something is
// back to normal or merely alive, rather than an incident.
func Informational(kind string) bool {
	switch kind {
	case Heartbeat, FocusGained, Visible, Online, SnapshotTaken:
		return true
	}
	return false
}

// HeartbeatGapAfter is the silence after which the next heartbeat records
// a gap: the page beats every 15 seconds (player.js), so four missed beats.
const HeartbeatGapAfter = time.Minute

// Event is one observation during an attempt.
type Event struct {
	ID         int64
	AttemptID  string
	Kind       string
	Detail     string
	ClientAt   *time.Time // as the browser said; never trusted for decisions
	ReceivedAt time.Time
	Seq        int64  // position in the attempt's chain, from 1; 0 for events from before chaining
	Hash       string // hex SHA-256 of the previous event's hash and this event
}

type eventRow struct {
	ID         int64      `gorm:"column:id;primaryKey;autoIncrement"`
	AttemptID  string     `gorm:"column:attempt_id"`
	Kind       string     `gorm:"column:kind"`
	Detail     string     `gorm:"column:detail"`
	ClientAt   *time.Time `gorm:"column:client_at"`
	ReceivedAt time.Time  `gorm:"column:received_at"`
	Seq        *int64     `gorm:"column:seq"`
	PrevHash   string     `gorm:"column:prev_hash"`
	Hash       string     `gorm:"column:hash"`
}

func (eventRow) TableName() string { return "proctor_events" }

func (r eventRow) event() Event {
	e := Event{ID: r.ID, AttemptID: r.AttemptID, Kind: r.Kind, Detail: r.Detail, ClientAt: r.ClientAt,
		ReceivedAt: r.ReceivedAt, Hash: r.Hash}
	if r.Seq != nil {
		e.Seq = *r.Seq
	}
	return e
}

type chainHead struct {
	AttemptID string `gorm:"column:attempt_id;primaryKey"`
	Seq       int64  `gorm:"column:seq"`
	Hash      string `gorm:"column:hash"`
	// Counts is how many events of each kind the attempt has, as a JSON
	// object, moved with the head.
	Counts string `gorm:"column:counts"`
}

func (chainHead) TableName() string { return "proctor_chains" }

// Models lists the GORM models of this package, for schema checks.
func Models() []any { return []any{eventRow{}, chainHead{}, snapshotRow{}} }

// Log stores and lists proctoring events.
type Log struct {
	db  *gorm.DB
	now func() time.Time
	// heads are the chains' heads this Log last wrote (see appendTx).
	heads memo.Map[string, knownHead]
	// appends batches appends onto remembered heads on PostgreSQL
	// (batch.go); nil elsewhere.
	appends *appendBatcher
}

// NewLog returns a Log on db.
func NewLog(db *gorm.DB, now func() time.Time) *Log {
	l := &Log{db: db, now: now}
	if sqlDB, err := db.DB(); err == nil && db.Dialector.Name() == "postgres" {
		l.appends = newAppendBatcher(db, sqlDB)
	}
	return l
}

// Record stores events a page reported for one attempt, appended to its
// chain in one transaction, and returns them as stored. A heartbeat after
// a silence longer than HeartbeatGapAfter also records a HeartbeatGap.
func (l *Log) Record(ctx context.Context, attemptID string, events []Event) ([]Event, error) {
	for i, e := range events {
		if !slices.Contains(pageKinds, e.Kind) {
			return nil, valid.Errorf(fmt.Sprintf("events[%d].kind", i), "unknown kind %q", e.Kind)
		}
		if len(e.Detail) > 500 {
			return nil, valid.Errorf(fmt.Sprintf("events[%d].detail", i), "is longer than 500 bytes")
		}
	}
	if len(events) == 0 {
		return nil, nil
	}
	now := l.now().UTC().Truncate(time.Microsecond)
	if stored, ok, err := l.appendOntoKnown(ctx, attemptID, events, nil, time.Time{}, now); ok || err != nil {
		return stored, err
	}
	var out []Event
	var next knownHead
	err := l.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		out, next, err = l.appendTx(tx, attemptID, events, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	l.heads.Put(attemptID, next)
	return out, nil
}

// appendOntoKnown appends events, with a webcam snapshot's row when snap
// is set (only while the attempt is open, when openUntil is set: see
// NewSnapshot), onto the head this Log last wrote for the attempt, through the
// writer that shares one statement among the appends that arrive
// together (batch.go). An attempt without a chain yet gets an empty one
// first (startChain), whose head is then known. ok is false when there is
// no writer, when the chain exists but this Log does not know its head,
// or when the head had moved by then — by someone else, or in a failed
// batch (a deadlock with another instance's, say): the caller then takes
// the slow way, alone, which reads the chain afresh.
func (l *Log) appendOntoKnown(ctx context.Context, attemptID string, events []Event, snap *snapshotRow, openUntil, now time.Time) (stored []Event, ok bool, err error) {
	if l.appends == nil {
		return nil, false, nil
	}
	k, known := l.heads.Get(attemptID)
	if !known {
		started, err := l.startChain(ctx, attemptID)
		if err != nil || !started {
			return nil, false, err
		}
		k = knownHead{counts: map[string]int{}}
	}
	a := extend(attemptID, k, events, now)
	a.snapshot, a.openUntil = snap, openUntil
	moved, err := l.appends.writer.Do(ctx, a)
	if err != nil && ctx.Err() != nil {
		return nil, false, err
	}
	if !moved {
		l.heads.Delete(attemptID)
		return nil, false, nil
	}
	l.heads.Put(attemptID, a.next)
	return storedEvents(a.rows), true, nil
}

// startChain makes the attempt's chain, empty, unless it has one, and
// reports whether it did. Every attempt's first events used to take the
// slow way, a transaction of six statements that a ramp of sign-ins pays
// for each candidate; one insert makes a head this Log knows, and the
// first events go in the shared statement like the rest. An empty chain
// has no heartbeat before it, so no gap is missed.
func (l *Log) startChain(ctx context.Context, attemptID string) (bool, error) {
	res := l.db.WithContext(ctx).Exec("INSERT INTO proctor_chains (attempt_id, seq, hash, counts) VALUES (?, 0, '', '{}') ON CONFLICT (attempt_id) DO NOTHING", attemptID)
	if res.Error != nil {
		return false, fmt.Errorf("proctor: start chain: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// appendChain adds events of any kind to the attempt's chain inside tx,
// which must be a transaction, reading the chain afresh: the update of
// the chain's head serializes concurrent appenders on both PostgreSQL (row
// lock) and SQLite (write lock). It returns the events as stored and the
// chain's new head.
func appendChain(tx *gorm.DB, attemptID string, events []Event, now time.Time) ([]Event, knownHead, error) {
	if len(events) == 0 {
		return nil, knownHead{}, nil
	}
	n := int64(len(events))
	// Taking the chain's next n places returns its head in the same
	// statement; the row lock it takes serializes concurrent appenders.
	var h chainHead
	advance := func() error {
		return tx.Raw("UPDATE proctor_chains SET seq = seq + ? WHERE attempt_id = ? RETURNING attempt_id, seq, hash, counts", n, attemptID).Find(&h).Error
	}
	if err := advance(); err != nil {
		return nil, knownHead{}, fmt.Errorf("proctor: lock chain: %w", err)
	}
	if h.Seq == 0 {
		// The attempt's first events: start its chain. A concurrent first
		// appender's insert does nothing, and its update then waits for
		// this transaction.
		err := tx.Exec("INSERT INTO proctor_chains (attempt_id, seq, hash, counts) VALUES (?, 0, '', '{}') ON CONFLICT (attempt_id) DO NOTHING", attemptID).Error
		if err == nil {
			err = advance()
		}
		if err == nil && h.Seq == 0 {
			err = errors.New("chain row missing")
		}
		if err != nil {
			return nil, knownHead{}, fmt.Errorf("proctor: start chain: %w", err)
		}
	}
	counts, err := parseCounts(h.Counts)
	if err != nil {
		return nil, knownHead{}, fmt.Errorf("proctor: counts of attempt %s: %w", attemptID, err)
	}
	rows := chainRows(attemptID, events, h.Seq-n, h.Hash, now)
	next := knownHead{seq: h.Seq, hash: rows[len(rows)-1].Hash, counts: counted(counts, events)}
	if err := tx.Model(&chainHead{}).Where("attempt_id = ?", attemptID).
		Updates(map[string]any{"hash": next.hash, "counts": next.countsJSON()}).Error; err != nil {
		return nil, knownHead{}, fmt.Errorf("proctor: advance chain: %w", err)
	}
	if err := tx.Create(&rows).Error; err != nil {
		return nil, knownHead{}, fmt.Errorf("proctor: record: %w", err)
	}
	return storedEvents(rows), next, nil
}

// chainRows are events as stored after the chain's place seq, whose hash
// is prev: numbered on from seq+1, each linked to the one before.
func chainRows(attemptID string, events []Event, seq int64, prev string, now time.Time) []eventRow {
	now = now.UTC().Truncate(time.Microsecond)
	rows := make([]eventRow, len(events))
	for i, e := range events {
		seq++
		s := seq
		r := eventRow{AttemptID: attemptID, Kind: e.Kind, Detail: e.Detail, ClientAt: micro(e.ClientAt),
			ReceivedAt: now, Seq: &s, PrevHash: prev}
		r.Hash = r.digest()
		rows[i], prev = r, r.Hash
	}
	return rows
}

func storedEvents(rows []eventRow) []Event {
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out
}

// micro drops what the databases cannot keep, so that a hash computed
// before storing holds after reading back.
func micro(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// digest is SHA-256 over the previous hash and every field, each with its
// length, so that no two different events share an input.
func (r eventRow) digest() string {
	client := ""
	if r.ClientAt != nil {
		client = r.ClientAt.UTC().Format(time.RFC3339Nano)
	}
	var seq int64
	if r.Seq != nil {
		seq = *r.Seq
	}
	var b strings.Builder
	for _, f := range []string{r.PrevHash, r.AttemptID, strconv.FormatInt(seq, 10), r.Kind, r.Detail, client,
		r.ReceivedAt.UTC().Format(time.RFC3339Nano)} {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte('\n')
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// ErrBroken: an attempt's event chain does not verify.
var ErrBroken = errors.New("proctor: event chain broken")

// ChainCheck is the outcome of Verify.
type ChainCheck struct {
	Events    int // chained events verified
	Unchained int // events recorded before the log was chained
	Head      string
}

// Verify walks an attempt's chain and returns ErrBroken (wrapped, naming
// the first bad event) when an event's hash or link does not hold, an
// event is missing, or the head does not point at the last event.
func (l *Log) Verify(ctx context.Context, attemptID string) (ChainCheck, error) {
	var rows []eventRow
	if err := l.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("seq, id").Find(&rows).Error; err != nil {
		return ChainCheck{}, fmt.Errorf("proctor: verify: %w", err)
	}
	var c ChainCheck
	prev := ""
	for _, r := range rows {
		if r.Seq == nil {
			c.Unchained++
			continue
		}
		c.Events++
		if *r.Seq != int64(c.Events) {
			return c, fmt.Errorf("%w: event %d missing", ErrBroken, c.Events)
		}
		if r.PrevHash != prev || r.digest() != r.Hash {
			return c, fmt.Errorf("%w: event %d altered", ErrBroken, *r.Seq)
		}
		prev = r.Hash
	}
	var h chainHead
	err := l.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Limit(1).Find(&h).Error
	if err != nil {
		return c, fmt.Errorf("proctor: verify: %w", err)
	}
	if h.Seq != int64(c.Events) || h.Hash != prev {
		return c, fmt.Errorf("%w: head at event %d, chain ends at %d", ErrBroken, h.Seq, c.Events)
	}
	c.Head = prev
	return c, nil
}

// Events lists an attempt's events in the order received.
func (l *Log) Events(ctx context.Context, attemptID string) ([]Event, error) {
	var rows []eventRow
	if err := l.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("proctor: events: %w", err)
	}
	out := make([]Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}

// Summary is one attempt's events counted by kind, for the proctor's list.
type Summary struct {
	AttemptID string
	Counts    map[string]int
	Incidents int // every event not Informational
}

// Summaries counts the events of the given attempts, from the counts
// each chain's head carries.
func (l *Log) Summaries(ctx context.Context, attemptIDs []string) (map[string]Summary, error) {
	var heads []chainHead
	if len(attemptIDs) > 0 {
		err := l.db.WithContext(ctx).Select("attempt_id, counts").Where("attempt_id IN ?", attemptIDs).Find(&heads).Error
		if err != nil {
			return nil, fmt.Errorf("proctor: summaries: %w", err)
		}
	}
	out := make(map[string]Summary, len(attemptIDs))
	for _, id := range attemptIDs {
		out[id] = Summary{AttemptID: id, Counts: map[string]int{}}
	}
	for _, h := range heads {
		counts, err := parseCounts(h.Counts)
		if err != nil {
			return nil, fmt.Errorf("proctor: counts of attempt %s: %w", h.AttemptID, err)
		}
		out[h.AttemptID] = summarize(h.AttemptID, counts)
	}
	return out, nil
}

// Written returns the attempt's summary as this Log last appended to its
// chain, as of that append, without reading the database; false when it
// remembers none. Right after an append it is the chain's summary at the
// append's commit.
func (l *Log) Written(attemptID string) (Summary, bool) {
	k, ok := l.heads.Get(attemptID)
	if !ok {
		return Summary{}, false
	}
	// A head's counts are never changed once made; the copy is the
	// caller's.
	return summarize(attemptID, maps.Clone(k.counts)), true
}

func summarize(attemptID string, counts map[string]int) Summary {
	s := Summary{AttemptID: attemptID, Counts: counts}
	for kind, n := range counts {
		if !Informational(kind) {
			s.Incidents += n
		}
	}
	return s
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
