package proctor

import (
	"context"
	"fmt"
)

// Recent returns the newest n events of each of the attempts, newest
// first, leaving out heartbeats and snapshot records (the console shows
// the snapshot itself): what a proctor reads on a live session's card.
// One query serves every attempt.
func (l *Log) Recent(ctx context.Context, attemptIDs []string, n int) (map[string][]Event, error) {
	out := make(map[string][]Event, len(attemptIDs))
	if len(attemptIDs) == 0 || n <= 0 {
		return out, nil
	}
	var rows []eventRow
	err := l.db.WithContext(ctx).Raw(`SELECT id, attempt_id, kind, detail, client_at, received_at, seq, prev_hash, hash FROM (
		SELECT e.*, ROW_NUMBER() OVER (PARTITION BY e.attempt_id ORDER BY e.id DESC) AS rn
		FROM proctor_events e WHERE e.attempt_id IN ? AND e.kind NOT IN ?
	) recent WHERE rn <= ? ORDER BY attempt_id, id DESC`, attemptIDs, []string{Heartbeat, SnapshotTaken}, n).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("proctor: recent events: %w", err)
	}
	for _, r := range rows {
		out[r.AttemptID] = append(out[r.AttemptID], r.event())
	}
	return out, nil
}
