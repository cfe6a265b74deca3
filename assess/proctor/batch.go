package proctor

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/groupcommit"
)

// Every candidate's page reports events every few seconds, most of them a
// lone heartbeat, and on PostgreSQL each append onto a remembered head is
// a statement and a commit of its own. Appends of different attempts that
// arrive while others are being written therefore go together
// (internal/groupcommit): one statement moves every head that is still
// the one remembered and inserts the events of those that moved, with the
// rows of the webcam snapshots whose findings they are. An append whose
// head had moved changes nothing, as alone, and takes the slow way.

// chainAppend is one attempt's append onto a remembered head: the head it
// builds on, the events as they will be stored, and the head they make.
type chainAppend struct {
	attemptID string
	from      knownHead
	rows      []eventRow
	next      knownHead
	// snapshot is the webcam snapshot whose findings the events are,
	// recorded exactly when the head moves; nil for a page's events.
	snapshot *snapshotRow
	// openUntil, when set, moves the head only while the attempt takes
	// snapshots (openAttempt).
	openUntil time.Time
}

// openAttempt is the condition under which a webcam frame is recorded
// without reading its attempt first: the attempt whose id is attemptID is
// in progress, neither held nor on a break, and not past the deadline less
// the grace (until). Held and paused attempts take frames too, but their
// clock is the server's to read (NewSnapshot.Admit).
//
// The attempt is read by its id alone, as a scalar subquery PostgreSQL
// does not turn into a join: the other terms stay out of its WHERE so that
// no statistics can make an index on them, such as the one of open
// attempts, look cheaper than the primary key (TestAppendPlanNeedsNoStatistics).
func openAttempt(attemptID, until string) string {
	return `(SELECT a.status = 'in_progress' AND a.held_at IS NULL AND a.paused_at IS NULL AND a.deadline >= ` + until +
		` FROM attempts a WHERE a.id = ` + attemptID + `) IS TRUE`
}

// openUntilArg is a's openUntil as a statement's argument: NULL when unset.
func (a chainAppend) openUntilArg() *time.Time {
	if a.openUntil.IsZero() {
		return nil
	}
	return &a.openUntil
}

// alongside is the write that goes with a's append: its snapshot's row.
func (a chainAppend) alongside() *alongside {
	if a.snapshot == nil {
		return nil
	}
	return insertAlongside(*a.snapshot)
}

// extend prepares the append of events onto k, with a HeartbeatGap before
// them when they hold a heartbeat after a silence longer than
// HeartbeatGapAfter.
func extend(attemptID string, k knownHead, events []Event, now time.Time) chainAppend {
	events = withGap(events, k.heartbeat, now)
	rows := chainRows(attemptID, events, k.seq, k.hash, now)
	next := knownHead{seq: k.seq + int64(len(rows)), hash: rows[len(rows)-1].Hash, counts: counted(k.counts, events),
		heartbeat: lastBeat(events, k.heartbeat, now)}
	return chainAppend{attemptID: attemptID, from: k, rows: rows, next: next}
}

// appendLinger is how long an append waits for others to share its
// statement when appends are coming close together. Proctoring events are
// the most frequent write of an exam in progress, and the page sends them
// in the background, so their latency is cheap: under load one statement
// and one commit for a few dozen is most of what the database saves.
const appendLinger = 20 * time.Millisecond

// appendBatcher writes concurrent appends onto remembered heads in
// batches, on PostgreSQL: a batch of one through gdb, in the statement of
// one append, and a larger one through db.
type appendBatcher struct {
	gdb    *gorm.DB
	db     *sql.DB
	writer groupcommit.Writer[string, chainAppend, bool]
}

func newAppendBatcher(gdb *gorm.DB, db *sql.DB) *appendBatcher {
	b := &appendBatcher{gdb: gdb, db: db}
	b.writer = groupcommit.Writer[string, chainAppend, bool]{
		Linger: appendLinger,
		Key:    func(a chainAppend) string { return a.attemptID },
		Write:  b.write,
	}
	return b
}

// batchAppendSQL moves each head that is still the one its append builds
// on and inserts the events of the appends whose head moved, in their
// order; it returns the attempts whose head moved, as they were given.
const batchAppendSQL = batchAppendHeads + batchAppendEvents + batchAppendMoved

// batchAppendSnapshotsSQL is batchAppendSQL that also inserts the webcam
// snapshots of the appends whose head moved. Batches without a snapshot
// keep the shorter statement, which PostgreSQL plans for less.
var batchAppendSnapshotsSQL = batchAppendOpenHeads + batchAppendEvents + batchAppendSnapshots + batchAppendMoved

const (
	batchAppendHeads = `WITH v AS (
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[])
    AS v(attempt_id, seq, hash, counts, from_seq, from_hash)
), head AS (
  UPDATE proctor_chains AS c SET seq = v.seq, hash = v.hash, counts = v.counts
  FROM v WHERE c.attempt_id = ANY($1::text[]::uuid[]) AND c.attempt_id = v.attempt_id::uuid AND c.seq = v.from_seq AND c.hash = v.from_hash
  RETURNING v.attempt_id
)`
	batchAppendEvents = `, inserted AS (
  INSERT INTO proctor_events (attempt_id, kind, detail, client_at, received_at, seq, prev_hash, hash)
  SELECT e.attempt_id::uuid, e.kind, e.detail, e.client_at, e.received_at, e.seq, e.prev_hash, e.hash
  FROM unnest($7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::bigint[], $13::text[], $14::text[])
    WITH ORDINALITY AS e(attempt_id, kind, detail, client_at, received_at, seq, prev_hash, hash, i)
  WHERE e.attempt_id IN (SELECT attempt_id FROM head)
  ORDER BY e.i
)`
	batchAppendSnapshots = `, snaps AS (
  INSERT INTO proctor_snapshots (id, attempt_id, kind, blob_key, content_type, bytes, sha256, faces, looking_away, taken_at, received_at, delete_after, image)
  SELECT s.id::uuid, s.attempt_id::uuid, s.kind, s.blob_key, s.content_type, s.bytes, s.sha256, s.faces, s.looking_away, s.taken_at, s.received_at, s.delete_after, s.image
  FROM unnest($15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::integer[], $21::text[], $22::integer[], $23::boolean[],
              $24::timestamptz[], $25::timestamptz[], $26::timestamptz[], $27::bytea[])
    AS s(id, attempt_id, kind, blob_key, content_type, bytes, sha256, faces, looking_away, taken_at, received_at, delete_after, image)
  WHERE s.attempt_id IN (SELECT attempt_id FROM head)
)`
	batchAppendMoved = `
SELECT attempt_id FROM head`
)

// batchAppendOpenHeads is batchAppendHeads where a head with an
// open_until moves only while its attempt takes snapshots.
//
// Both find their chains by the batch's ids (ANY) as well as by the join:
// PostgreSQL then reads them from the primary key, where without it a plan
// kept from a table of a few thousand chains hashed the whole table for
// every batch.
var batchAppendOpenHeads = `WITH v AS (
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $28::timestamptz[])
    AS v(attempt_id, seq, hash, counts, from_seq, from_hash, open_until)
), head AS (
  UPDATE proctor_chains AS c SET seq = v.seq, hash = v.hash, counts = v.counts
  FROM v WHERE c.attempt_id = ANY($1::text[]::uuid[]) AND c.attempt_id = v.attempt_id::uuid AND c.seq = v.from_seq AND c.hash = v.from_hash
    AND (v.open_until IS NULL OR ` + openAttempt("c.attempt_id", "v.open_until") + `)
  RETURNING v.attempt_id
)`

// write runs batchAppendSQL for batch and reports, by index in batch,
// whether each append's head moved. The heads are listed in the order of
// their attempts' ids, which is the order in which PostgreSQL locks
// them, so that two instances' batches never wait on each other in a
// circle.
func (b *appendBatcher) write(ctx context.Context, batch []chainAppend) ([]bool, error) {
	if len(batch) == 1 {
		// Alone, an append's own statement costs PostgreSQL about two
		// thirds of the batch's, most of which is planning.
		moved, err := batch[0].writeOnto(b.gdb.WithContext(ctx), batch[0].alongside())
		return []bool{moved}, err
	}
	sorted := slices.Clone(batch)
	slices.SortFunc(sorted, func(x, y chainAppend) int { return strings.Compare(x.attemptID, y.attemptID) })
	var (
		n                         = len(sorted)
		attempts, hashes, counts  = make([]string, n), make([]string, n), make([]string, n)
		seqs, fromSeqs            = make([]int64, n), make([]int64, n)
		fromHashes                = make([]string, n)
		eAttempts, kinds, details []string
		clientAt                  []*time.Time
		receivedAt                []time.Time
		eSeqs                     []int64
		prevHashes, eHashes       []string
	)
	for i, a := range sorted {
		attempts[i], seqs[i], hashes[i], counts[i] = a.attemptID, a.next.seq, a.next.hash, a.next.countsJSON()
		fromSeqs[i], fromHashes[i] = a.from.seq, a.from.hash
		for _, r := range a.rows {
			eAttempts, kinds, details = append(eAttempts, r.AttemptID), append(kinds, r.Kind), append(details, r.Detail)
			clientAt, receivedAt, eSeqs = append(clientAt, r.ClientAt), append(receivedAt, r.ReceivedAt), append(eSeqs, *r.Seq)
			prevHashes, eHashes = append(prevHashes, r.PrevHash), append(eHashes, r.Hash)
		}
	}
	query, args := batchAppendSQL, []any{attempts, seqs, hashes, counts, fromSeqs, fromHashes,
		eAttempts, kinds, details, clientAt, receivedAt, eSeqs, prevHashes, eHashes}
	if snaps := snapshotColumns(sorted); snaps != nil {
		openUntil := make([]*time.Time, n)
		for i, a := range sorted {
			openUntil[i] = a.openUntilArg()
		}
		query, args = batchAppendSnapshotsSQL, append(append(args, snaps...), openUntil)
	}
	rows, err := b.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("proctor: record: %w", err)
	}
	defer rows.Close()
	moved := make(map[string]bool, n)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("proctor: record: %w", err)
		}
		moved[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("proctor: record: %w", err)
	}
	out := make([]bool, len(batch))
	for i, a := range batch {
		out[i] = moved[a.attemptID]
	}
	return out, nil
}

// snapshotColumns are the arrays of batchAppendSnapshotsSQL for the
// snapshots of batch ($15 to $27), nil when it holds none.
func snapshotColumns(batch []chainAppend) []any {
	var (
		ids, attempts, kinds, keys, types, sums []string
		sizes                                   []int
		faces                                   []*int
		away                                    []*bool
		taken                                   []*time.Time
		received, deleteAfter                   []time.Time
		images                                  [][]byte
	)
	for _, a := range batch {
		r := a.snapshot
		if r == nil {
			continue
		}
		ids, attempts, kinds, keys = append(ids, r.ID), append(attempts, a.attemptID), append(kinds, r.Kind), append(keys, r.BlobKey)
		types, sizes, sums = append(types, r.ContentType), append(sizes, r.Bytes), append(sums, r.SHA256)
		faces, away, taken = append(faces, r.Faces), append(away, r.LookingAway), append(taken, r.TakenAt)
		received, deleteAfter = append(received, r.ReceivedAt), append(deleteAfter, r.DeleteAfter)
		images = append(images, r.Image)
	}
	if ids == nil {
		return nil
	}
	return []any{ids, attempts, kinds, keys, types, sizes, sums, faces, away, taken, received, deleteAfter, images}
}
