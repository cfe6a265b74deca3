package assess

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit of answer saves on PostgreSQL.
//
// Under load most of a save's cost is the database's per statement and per
// commit, not the row. Saves that arrive while others are being written
// therefore wait for them and then go together, as one UPDATE over arrays
// of their changes in one commit: an idle server writes each save at once,
// a busy one writes several per round trip. Every save is acknowledged only
// after the commit that holds it, as before.
//
// There is no background goroutine: the first save to find a free lane
// writes its batch, and when it is done hands the lane to the oldest save
// still waiting, which writes the next batch with everything queued by then.

// saveLanes is how many batches a process writes at once, saveBatchMax the
// most saves in one. One lane: with more, batches are smaller, and the
// database spends on planning each batch nearly what it spends on running
// it: on the 2-core machine of README → Performance, 32 workers saving
// back to back got nearly twice the saves per second through one lane as
// through four.
const (
	saveLanes    = 1
	saveBatchMax = 64
)

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

// queuedSave is a save waiting for its batch. done receives its outcome,
// and before it, when the save is handed a lane (leading), a lead message:
// two at most, which its buffer holds.
type queuedSave struct {
	row     saveRow
	leading bool // guarded by the batcher's mu
	done    chan saveOutcome
}

type saveOutcome struct {
	lead    bool  // take the lane: write batches until this save is written
	applied bool  // the row was updated; seq is what it now holds
	seq     int64 //
	err     error
}

// saveBatcher gathers concurrent saves into batches (see above).
type saveBatcher struct {
	db *sql.DB

	mu      sync.Mutex
	waiting []*queuedSave
	busy    int // lanes held

	statements atomic.Int64 // batches written, for tests
}

// save writes row, together with whatever other saves are waiting, and
// reports whether it was applied and the seq the response now holds.
func (b *saveBatcher) save(ctx context.Context, row saveRow) (applied bool, seq int64, err error) {
	q := &queuedSave{row: row, done: make(chan saveOutcome, 2)}
	b.mu.Lock()
	b.waiting = append(b.waiting, q)
	if b.busy < saveLanes {
		b.busy++
		q.leading = true
	}
	lead := q.leading
	b.mu.Unlock()
	if !lead {
		select {
		case o := <-q.done:
			if !o.lead {
				return o.applied, o.seq, o.err
			}
		case <-ctx.Done():
			if b.abandon(q) {
				// A batch may still write it: the caller learns only that
				// it gave up, as with any statement cut short.
				return false, 0, ctx.Err()
			}
			<-q.done // the lane was handed to it meanwhile: it must write
		}
	}
	for {
		batch, taken := b.take(q)
		b.write(ctx, batch)
		if taken {
			break
		}
	}
	o := <-q.done // from its own batch, or from another lane's
	b.handOn()
	return o.applied, o.seq, o.err
}

// abandon removes q, whose caller gives up, from the waiting, unless a
// lane was handed to it; it reports whether it did.
func (b *saveBatcher) abandon(q *queuedSave) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q.leading {
		return false
	}
	b.waiting = slices.DeleteFunc(b.waiting, func(w *queuedSave) bool { return w == q })
	return true
}

// take removes the next batch from the waiting: the oldest saves, at most
// one per response (a later save of the same response goes in a later
// batch, so that one statement never updates a row twice). It reports
// whether q is no longer waiting.
func (b *saveBatcher) take(q *queuedSave) (batch []*queuedSave, taken bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := make(map[saveKey]bool, min(len(b.waiting), saveBatchMax))
	batch = make([]*queuedSave, 0, min(len(b.waiting), saveBatchMax))
	rest := b.waiting[:0]
	taken = true
	for _, w := range b.waiting {
		k := saveKey{w.row.attemptID, w.row.position}
		if len(batch) == saveBatchMax || seen[k] {
			rest = append(rest, w)
			taken = taken && w != q
			continue
		}
		seen[k] = true
		batch = append(batch, w)
	}
	clear(b.waiting[len(rest):])
	b.waiting = rest
	return batch, taken
}

// handOn gives the lane to the oldest waiting save that holds none, or
// frees it.
func (b *saveBatcher) handOn() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, w := range b.waiting {
		if !w.leading {
			w.leading = true
			w.done <- saveOutcome{lead: true}
			return
		}
	}
	b.busy--
}

// write runs one batch and answers each of its saves. The statement runs
// to its end even when the writer's own request is cancelled: the other
// saves in it are not the writer's to give up.
func (b *saveBatcher) write(ctx context.Context, batch []*queuedSave) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	updated, err := b.update(ctx, batch)
	b.statements.Add(1)
	for i, q := range batch {
		o := saveOutcome{err: err}
		if err == nil {
			o.seq, o.applied = updated[i]
		}
		q.done <- o
	}
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

// update runs batchSaveSQL for batch and returns, by their index in
// batch, the saves it applied, with the seq each response now holds.
func (b *saveBatcher) update(ctx context.Context, batch []*queuedSave) (map[int]int64, error) {
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
	for i, q := range batch {
		r := q.row
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
	updated := make(map[int]int64, n)
	for rows.Next() {
		var i, seq int64
		if err := rows.Scan(&i, &seq); err != nil {
			return nil, fmt.Errorf("assess: save responses: %w", err)
		}
		updated[int(i)-1] = seq // ordinality counts from 1
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("assess: save responses: %w", err)
	}
	return updated, nil
}
