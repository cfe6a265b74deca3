package proctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"gorm.io/gorm"
)

// A candidate's page reports events every few seconds, and appending to
// the chain the slow way takes six statements: the last heartbeat, the
// head (locked), the events, the new head. A Log remembers the head it
// last wrote for each attempt, with the last heartbeat and the counts of
// each kind, and appends onto it in two: an UPDATE that moves the head only if it is still the one
// remembered, and the INSERT. When another appender moved it (another
// instance, a snapshot's face check), the UPDATE changes nothing and the
// append takes the slow way, which reads the chain afresh.

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

// maxKnownHeads bounds the memory of heads; when full it starts again
// (a forgotten head costs one slow append).
const maxKnownHeads = 100_000

// heads are the chains' heads a Log last wrote.
type heads struct {
	mu sync.Mutex
	m  map[string]knownHead
}

func (h *heads) get(attemptID string) (knownHead, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k, ok := h.m[attemptID]
	return k, ok
}

func (h *heads) put(attemptID string, k knownHead) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil || len(h.m) >= maxKnownHeads {
		h.m = make(map[string]knownHead)
	}
	h.m[attemptID] = k
}

// errMoved: the chain's head is not the one remembered.
var errMoved = errors.New("proctor: chain head moved")

// appendOnto appends events (with a HeartbeatGap before them when the
// remembered last heartbeat calls for one) onto the remembered head k,
// in one transaction that checks the head has not moved. It returns
// errMoved, having written nothing, when it has.
func (l *Log) appendOnto(ctx context.Context, attemptID string, k knownHead, events []Event, now time.Time) ([]Event, knownHead, error) {
	beat := hasHeartbeat(events)
	if beat && !k.heartbeat.IsZero() && now.Sub(k.heartbeat) > HeartbeatGapAfter {
		events = append([]Event{gapEvent(now.Sub(k.heartbeat))}, events...)
	}
	rows := chainRows(attemptID, events, k.seq, k.hash, now)
	next := knownHead{seq: k.seq + int64(len(rows)), hash: rows[len(rows)-1].Hash, counts: counted(k.counts, events), heartbeat: k.heartbeat}
	if beat {
		next.heartbeat = rows[0].ReceivedAt
	}
	err := l.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE proctor_chains SET seq = ?, hash = ?, counts = ? WHERE attempt_id = ? AND seq = ? AND hash = ?",
			next.seq, next.hash, next.countsJSON(), attemptID, k.seq, k.hash)
		if res.Error != nil {
			return fmt.Errorf("proctor: advance chain: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return errMoved
		}
		if err := tx.Create(&rows).Error; err != nil {
			return fmt.Errorf("proctor: record: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, knownHead{}, err
	}
	return storedEvents(rows), next, nil
}
