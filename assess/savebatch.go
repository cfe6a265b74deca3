package assess

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
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

// saveSQL returns saveAtOnce's UPDATE for a batch of n saves: a row of
// values per save, numbered from 1 (i). Each condition is the single
// save's; a save whose conditions fail updates nothing and returns no row.
//
// A statement per batch size, not one over arrays: PostgreSQL soon keeps
// one plan for each, as their rows are counted in the text, where it
// planned every batch over arrays afresh, at three times the cost of
// running it.
func saveSQL(n int) string {
	if q, ok := saveStatements.Load(n); ok {
		return q.(string)
	}
	var q strings.Builder
	q.WriteString("UPDATE responses AS r SET " + saveChanges + "\nFROM (VALUES ")
	for i := range n {
		if i > 0 {
			q.WriteString(",\n  ")
		}
		p := 12 * i
		fmt.Fprintf(&q, "($%d::text, $%d::int, $%d::text, $%d::bigint, $%d::bool, $%d::text, $%d::text, "+
			"$%d::bool, $%d::bool, $%d::double precision, $%d::timestamptz, $%d::timestamptz, %d::bigint)",
			p+1, p+2, p+3, p+4, p+5, p+6, p+7, p+8, p+9, p+10, p+11, p+12, i+1)
	}
	q.WriteString(")\n  AS v(attempt_id, position, candidate, seq, set_answer, answer, answer_json, set_flagged, flagged, seconds, now, open_until, i)\n" +
		"  CROSS JOIN LATERAL (" + saveAttempt + ") AS a\nWHERE " + saveConditions + "\nRETURNING v.i, r.seq")
	saveStatements.Store(n, q.String())
	return q.String()
}

// saveStatements holds saveSQL's statements by batch size.
var saveStatements sync.Map

// saveAttempt reads the attempt of a save's row v by its primary key, one
// lookup a row. The planner cannot flatten it (OFFSET 0) and sees only the
// key in it, so no statistics can make it drive the batch from another
// index: with none, a plan kept from early in a testing window read every
// open attempt through the partial index of open attempts for each batch,
// and at 12,000 candidates the saves took a whole core and collapsed.
const saveAttempt = `SELECT id, status, held_at, paused_at, deadline, mode, candidate_id, started_at
    FROM attempts WHERE id = v.attempt_id::uuid OFFSET 0`

// saveChanges and saveConditions are a save's changes to its row v and
// the conditions under which they apply, as saveAtOnce's.
const (
	saveChanges = `
  answer = CASE WHEN v.set_answer THEN v.answer ELSE r.answer END,
  answer_json = CASE WHEN v.set_answer THEN v.answer_json ELSE r.answer_json END,
  answered_at = CASE WHEN v.set_answer THEN v.now ELSE r.answered_at END,
  flagged = CASE WHEN v.set_flagged THEN v.flagged ELSE r.flagged END,
  seconds = CASE WHEN v.seconds IS NULL THEN r.seconds
    WHEN r.seconds IS NULL OR r.seconds < LEAST(v.seconds, EXTRACT(EPOCH FROM a.deadline - a.started_at)::double precision)
    THEN LEAST(v.seconds, EXTRACT(EPOCH FROM a.deadline - a.started_at)::double precision) ELSE r.seconds END,
  seq = CASE WHEN v.seq > 0 THEN v.seq ELSE r.seq END`
	saveConditions = `r.attempt_id = v.attempt_id::uuid AND r.position = v.position AND a.id = r.attempt_id
  AND a.status = 'in_progress' AND a.held_at IS NULL AND a.paused_at IS NULL
  AND a.deadline >= v.open_until AND a.mode <> 'cat'
  AND (v.candidate = '' OR a.candidate_id = v.candidate::uuid)
  AND (v.seq = 0 OR r.seq < v.seq)`
)

// update runs saveSQL for batch and returns each save's outcome by its
// index in batch.
func (b *saveBatcher) update(ctx context.Context, batch []saveRow) ([]savedRow, error) {
	args := make([]any, 0, 12*len(batch))
	for _, r := range batch {
		args = append(args, r.attemptID, r.position, r.candidate, r.seq, r.setAnswer, r.answer, r.answerJSON,
			r.setFlagged, r.flagged, r.seconds, r.now, r.openUntil)
	}
	rows, err := b.db.QueryContext(ctx, saveSQL(len(batch)), args...)
	if err != nil {
		return nil, fmt.Errorf("assess: save responses: %w", err)
	}
	defer rows.Close()
	updated := make([]savedRow, len(batch))
	for rows.Next() {
		var i, seq int64
		if err := rows.Scan(&i, &seq); err != nil {
			return nil, fmt.Errorf("assess: save responses: %w", err)
		}
		updated[i-1] = savedRow{applied: true, seq: seq} // i counts from 1
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("assess: save responses: %w", err)
	}
	return updated, nil
}
