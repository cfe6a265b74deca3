package assess

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/touchstone-assess/touchstone/internal/groupcommit"
)

// Group commit of answer saves on PostgreSQL (internal/groupcommit): saves
// that arrive while others are being written go together, as one UPDATE
// over arrays of their changes in one commit. Every save is acknowledged
// only after the commit that holds it, as before.
//
// One lane: with more, batches are smaller, and the database spends on
// planning each batch nearly what it spends on running it: on the 2-core
// machine of README → Performance, 32 workers saving back to back got
// nearly twice the saves per second through one lane as through four.

// saveRow is one save's change for the batch UPDATE: what saveAtOnce would
// have written on its own.
type saveRow struct {
	attemptID string
	position  int
	candidate string // "" when whoever saves is not checked
	seq       int64  // 0 when the save carries no sequence number
	// The answer is written when setAnswer (answer and answerJSON nil clear it).
	setAnswer  bool
	answer     *string
	answerJSON *string
	setFlagged bool
	flagged    bool
	seconds    *float64
	now        time.Time
	openUntil  time.Time // the deadline must be at or after this: now less the grace
}

// savedRow is a batched save's outcome: whether the row was updated, and
// the seq it now holds when it was.
type savedRow struct {
	applied bool
	seq     int64
}

// saveLinger is how long a save waits for others to share its statement
// when saves are coming close together: a small part of answer-save's
// latency budget, for a statement and a commit shared by several under
// load.
const saveLinger = 2 * time.Millisecond

// saveBatcher writes concurrent saves in batches.
type saveBatcher struct {
	db     *sql.DB
	writer groupcommit.Writer[saveKey, saveRow, savedRow]
}

func newSaveBatcher(db *sql.DB) *saveBatcher {
	b := &saveBatcher{db: db}
	b.writer = groupcommit.Writer[saveKey, saveRow, savedRow]{
		Linger: saveLinger,
		Key:    func(r saveRow) saveKey { return saveKey{r.attemptID, r.position} },
		Write:  b.update,
	}
	return b
}

// save writes row, together with whatever other saves are waiting, and
// reports whether it was applied and the seq the response now holds.
func (b *saveBatcher) save(ctx context.Context, row saveRow) (applied bool, seq int64, err error) {
	o, err := b.writer.Do(ctx, row)
	return o.applied, o.seq, err
}

// saveKey names a response: a batch holds one save of each at most.
type saveKey struct {
	attemptID string
	position  int
}

// batchSaveSQL is saveAtOnce's UPDATE over arrays, a row per save. Each
// condition is the single save's; a save whose conditions fail updates
// nothing and returns no row.
const batchSaveSQL = `UPDATE responses AS r SET
  answer = CASE WHEN v.set_answer THEN v.answer ELSE r.answer END,
  answer_json = CASE WHEN v.set_answer THEN v.answer_json ELSE r.answer_json END,
  answered_at = CASE WHEN v.set_answer THEN v.now ELSE r.answered_at END,
  flagged = CASE WHEN v.set_flagged THEN v.flagged ELSE r.flagged END,
  seconds = CASE WHEN v.seconds IS NULL THEN r.seconds
    WHEN r.seconds IS NULL OR r.seconds < LEAST(v.seconds, EXTRACT(EPOCH FROM a.deadline - a.started_at)::double precision)
    THEN LEAST(v.seconds, EXTRACT(EPOCH FROM a.deadline - a.started_at)::double precision) ELSE r.seconds END,
  seq = CASE WHEN v.seq > 0 THEN v.seq ELSE r.seq END
FROM unnest($1::text[], $2::int[], $3::text[], $4::bigint[], $5::bool[], $6::text[], $7::text[],
            $8::bool[], $9::bool[], $10::double precision[], $11::timestamptz[], $12::timestamptz[]) WITH ORDINALITY
  AS v(attempt_id, position, candidate, seq, set_answer, answer, answer_json, set_flagged, flagged, seconds, now, open_until, i),
  attempts AS a
WHERE r.attempt_id = v.attempt_id::uuid AND r.position = v.position AND a.id = r.attempt_id
  AND a.status = 'in_progress' AND a.held_at IS NULL AND a.paused_at IS NULL
  AND a.deadline >= v.open_until AND a.mode <> 'cat'
  AND (v.candidate = '' OR a.candidate_id = v.candidate::uuid)
  AND (v.seq = 0 OR r.seq < v.seq)
RETURNING v.i, r.seq`

// update runs batchSaveSQL for batch and returns each save's outcome by
// its index in batch.
func (b *saveBatcher) update(ctx context.Context, batch []saveRow) ([]savedRow, error) {
	n := len(batch)
	var (
		attempts, candidates   = make([]string, n), make([]string, n)
		positions              = make([]int64, n)
		seqs                   = make([]int64, n)
		setAnswers, setFlagged = make([]bool, n), make([]bool, n)
		flagged                = make([]bool, n)
		answers, answerJSON    = make([]*string, n), make([]*string, n)
		seconds                = make([]*float64, n)
		nows, openUntil        = make([]time.Time, n), make([]time.Time, n)
	)
	for i, r := range batch {
		attempts[i], positions[i], candidates[i], seqs[i] = r.attemptID, int64(r.position), r.candidate, r.seq
		setAnswers[i], answers[i], answerJSON[i] = r.setAnswer, r.answer, r.answerJSON
		setFlagged[i], flagged[i], seconds[i] = r.setFlagged, r.flagged, r.seconds
		nows[i], openUntil[i] = r.now, r.openUntil
	}
	rows, err := b.db.QueryContext(ctx, batchSaveSQL, attempts, positions, candidates, seqs, setAnswers, answers, answerJSON,
		setFlagged, flagged, seconds, nows, openUntil)
	if err != nil {
		return nil, fmt.Errorf("assess: save responses: %w", err)
	}
	defer rows.Close()
	updated := make([]savedRow, n)
	for rows.Next() {
		var i, seq int64
		if err := rows.Scan(&i, &seq); err != nil {
			return nil, fmt.Errorf("assess: save responses: %w", err)
		}
		updated[i-1] = savedRow{applied: true, seq: seq} // ordinality counts from 1
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("assess: save responses: %w", err)
	}
	return updated, nil
}
