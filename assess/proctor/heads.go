package proctor

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
)

// A candidate's page reports events every few seconds, and appending to
// the chain the slow way takes four statements: the last heartbeat, the
// head (locked), the new head, the events. A Log remembers the head it
// last wrote for each attempt, with the last heartbeat and the counts of
// each kind, and appends onto it: an UPDATE that moves the head only if it
// is still the one remembered, with the INSERT (on PostgreSQL the two are
// one statement, needing no transaction, which Record shares with the
// appends of other attempts that arrive meanwhile: batch.go). When another
// instance moved it, the UPDATE changes nothing and the append takes the
// slow way, which reads the chain afresh.

// knownHead is an attempt's chain as this Log last wrote it.
type knownHead struct {
	seq       int64
	hash      string
	counts    map[string]int // events of each kind; never changed once made
	heartbeat time.Time      // the last heartbeat's receipt; zero when there is none
}

func (k knownHead) countsJSON() string {
	b, _ := json.Marshal(k.counts) // a map of strings to ints always encodes
	return string(b)
}

// parseCounts reads a head's counts; empty is none.
func parseCounts(s string) (map[string]int, error) {
	counts := map[string]int{}
	if s == "" {
		return counts, nil
	}
	if err := json.Unmarshal([]byte(s), &counts); err != nil {
		return nil, err
	}
	return counts, nil
}

// counted returns counts with events added, leaving counts as they were.
func counted(counts map[string]int, events []Event) map[string]int {
	out := make(map[string]int, len(counts)+len(events))
	maps.Copy(out, counts)
	for _, e := range events {
		out[e.Kind]++
	}
	return out
}

// appendTx appends events to the attempt's chain inside tx, which must be
// a transaction, with a HeartbeatGap before them when they hold a
// heartbeat after a silence longer than HeartbeatGapAfter. It builds on
// the head this Log remembers when that is still the chain's head, and
// otherwise reads the chain afresh. The caller remembers the returned
// head once tx has committed.
func (l *Log) appendTx(tx *gorm.DB, attemptID string, events []Event, now time.Time) ([]Event, knownHead, error) {
	now = now.UTC().Truncate(time.Microsecond)
	if k, ok := l.heads.Get(attemptID); ok {
		out, next, done, err := appendOnto(tx, attemptID, k, events, now)
		if err != nil || done {
			return out, next, err
		}
		// Moved by someone else: the slow way below.
	}
	last, err := lastHeartbeat(tx, attemptID)
	if err != nil {
		return nil, knownHead{}, err
	}
	events = withGap(events, last, now)
	out, next, err := appendChain(tx, attemptID, events, now)
	next.heartbeat = lastBeat(events, last, now)
	return out, next, err
}

// appendOnto appends events onto the remembered head k if the chain's
// head still is k, and reports whether it did; when it did not, nothing
// is written. On PostgreSQL it is one statement, atomic on its own, so db
// need not be a transaction; on SQLite it must be.
func appendOnto(db *gorm.DB, attemptID string, k knownHead, events []Event, now time.Time) ([]Event, knownHead, bool, error) {
	a := extend(attemptID, k, events, now)
	moved, err := a.writeOnto(db, nil)
	if err != nil || !moved {
		return nil, knownHead{}, false, err
	}
	return storedEvents(a.rows), a.next, true, nil
}

// alongside is a write that must happen exactly when an append moves the
// head: on PostgreSQL a data-modifying CTE of the append's one statement,
// named and reading from head ("snap AS (INSERT … SELECT … FROM head)").
type alongside struct {
	cte  string
	args []any
}

// writeOnto writes a if the chain's head still is the one a builds on, and
// reports whether it did (see appendOnto), with also's write in the same
// statement and only while a's attempt is open when a.openUntil is set;
// both are for PostgreSQL only.
func (a chainAppend) writeOnto(db *gorm.DB, also *alongside) (bool, error) {
	move := []any{a.next.seq, a.next.hash, a.next.countsJSON(), a.attemptID, a.from.seq, a.from.hash}
	if db.Dialector.Name() == "postgres" {
		open := ""
		if until := a.openUntilArg(); until != nil {
			open = " AND " + openAttempt("proctor_chains.attempt_id", "?")
			move = append(move, until)
		}
		// The head moves and the events go in together, or neither.
		var values strings.Builder
		args := move
		with := ""
		if also != nil {
			with = ", " + also.cte
			args = append(args, also.args...)
		}
		for i, r := range a.rows {
			if i > 0 {
				values.WriteString(", ")
			}
			values.WriteString("(?::text, ?::text, ?::timestamptz, ?::timestamptz, ?::bigint, ?::text, ?::text)")
			args = append(args, r.Kind, r.Detail, r.ClientAt, r.ReceivedAt, *r.Seq, r.PrevHash, r.Hash)
		}
		res := db.Exec(`WITH head AS (UPDATE proctor_chains SET seq = ?, hash = ?, counts = ? WHERE attempt_id = ? AND seq = ? AND hash = ?`+open+` RETURNING attempt_id)`+with+`
INSERT INTO proctor_events (attempt_id, kind, detail, client_at, received_at, seq, prev_hash, hash)
SELECT head.attempt_id, v.kind, v.detail, v.client_at, v.received_at, v.seq, v.prev_hash, v.hash
FROM head, (VALUES `+values.String()+`) AS v (kind, detail, client_at, received_at, seq, prev_hash, hash)`, args...)
		if res.Error != nil {
			return false, fmt.Errorf("proctor: record: %w", res.Error)
		}
		return res.RowsAffected > 0, nil
	}
	if also != nil || !a.openUntil.IsZero() {
		return false, errors.New("proctor: a write alongside an append, or its condition, needs PostgreSQL")
	}
	res := db.Exec("UPDATE proctor_chains SET seq = ?, hash = ?, counts = ? WHERE attempt_id = ? AND seq = ? AND hash = ?", move...)
	if res.Error != nil {
		return false, fmt.Errorf("proctor: advance chain: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return false, nil
	}
	if err := db.Create(&a.rows).Error; err != nil {
		return false, fmt.Errorf("proctor: record: %w", err)
	}
	return true, nil
}

// withGap puts a HeartbeatGap before events when they hold a heartbeat
// and the last one before them, at last, is older than HeartbeatGapAfter.
func withGap(events []Event, last, now time.Time) []Event {
	if !hasHeartbeat(events) || last.IsZero() || now.Sub(last) <= HeartbeatGapAfter {
		return events
	}
	gap := Event{Kind: HeartbeatGap, Detail: fmt.Sprintf("%.0f seconds without a heartbeat", now.Sub(last).Seconds())}
	return append([]Event{gap}, events...)
}

// lastBeat is the last heartbeat's receipt once events are recorded at
// now, the one before them having been at last.
func lastBeat(events []Event, last, now time.Time) time.Time {
	if hasHeartbeat(events) {
		return now
	}
	return last
}

func hasHeartbeat(events []Event) bool {
	return slices.ContainsFunc(events, func(e Event) bool { return e.Kind == Heartbeat })
}

// lastHeartbeat returns when the attempt's last heartbeat was received;
// zero when there was none.
func lastHeartbeat(tx *gorm.DB, attemptID string) (time.Time, error) {
	var last eventRow
	err := tx.Where("attempt_id = ? AND kind = ?", attemptID, Heartbeat).Order("id DESC").Limit(1).Find(&last).Error
	if err != nil {
		return time.Time{}, fmt.Errorf("proctor: last heartbeat: %w", err)
	}
	if last.ID == 0 {
		return time.Time{}, nil
	}
	return last.ReceivedAt.UTC(), nil
}
