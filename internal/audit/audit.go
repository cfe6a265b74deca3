// Package audit keeps Touchstone's append-only, hash-chained audit log: one
// entry for every decision a court could ask about (approving a standard,
// changing an item, issuing or revoking a credential).
//
// Append writes in the caller's transaction, so an entry exists exactly when
// the change it describes was committed. Each entry's hash covers its place
// in the chain and the previous entry's hash, so editing or removing an
// entry breaks the chain, and Verify finds the break. The database refuses
// DELETE on the log and any UPDATE but the one that places an entry (a
// trigger in both dialects).
//
// On SQLite, where writers take turns anyway, an entry is placed as it is
// written. On PostgreSQL, where every decision of the deployment would wait
// on the chain's head until the decision before it commits, an entry is
// written unplaced and Chain places the committed entries in batches, after
// their transactions: RunChainer does so in every server, a fraction of a
// second behind the decisions.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// ErrBroken is returned by Verify when the chain does not hold.
var ErrBroken = errors.New("audit: chain broken")

// Entry is one audited decision. Before and After are any JSON-encodable
// values (nil for none): the state of the subject around the change.
type Entry struct {
	Actor   string // user id, or "system"
	Action  string // e.g. "standard.approve"
	Subject string // e.g. "standard:<id>"
	Before  any
	After   any
	At      time.Time
}

// Record is an entry as stored. Seq is the order of writing; Pos the place
// in the chain, PrevHash and Hash the links: all three are empty until the
// entry is placed.
type Record struct {
	Seq      int64     `gorm:"column:seq;primaryKey"`
	Pos      *int64    `gorm:"column:pos"`
	At       time.Time `gorm:"column:at"`
	Actor    string    `gorm:"column:actor"`
	Action   string    `gorm:"column:action"`
	Subject  string    `gorm:"column:subject"`
	Before   string    `gorm:"column:before"`
	After    string    `gorm:"column:after"`
	PrevHash string    `gorm:"column:prev_hash"`
	Hash     string    `gorm:"column:hash"`
}

// Placed reports whether r has its place in the chain.
func (r Record) Placed() bool { return r.Pos != nil }

// TableName is the table Record lives in.
func (Record) TableName() string { return "audit_log" }

// head is the chain's last placed entry: its place (the column is named
// seq) and its hash.
type head struct {
	ID   int    `gorm:"column:id;primaryKey"`
	Seq  int64  `gorm:"column:seq"`
	Hash string `gorm:"column:hash"`
}

func (head) TableName() string { return "audit_head" }

// Append adds e to the log inside tx, which must be a transaction. On
// PostgreSQL the entry is written unplaced, taking no lock that another
// decision waits on; on SQLite it is placed at once, the head's update
// serializing appenders under SQLite's write lock.
func Append(tx *gorm.DB, e Entry) error {
	before, err := encode(e.Before)
	if err != nil {
		return fmt.Errorf("audit: before: %w", err)
	}
	after, err := encode(e.After)
	if err != nil {
		return fmt.Errorf("audit: after: %w", err)
	}
	if e.At.IsZero() {
		return errors.New("audit: entry without time")
	}
	r := Record{At: e.At.UTC().Truncate(time.Microsecond), Actor: e.Actor, Action: e.Action, Subject: e.Subject, Before: before, After: after}
	if tx.Dialector.Name() == "postgres" {
		err := tx.Exec(`INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES (?, ?, ?, ?, ?, ?)`,
			r.At, r.Actor, r.Action, r.Subject, r.Before, r.After).Error
		if err != nil {
			return fmt.Errorf("audit: append: %w", err)
		}
		return nil
	}
	h, err := takeHead(tx)
	if err != nil {
		return err
	}
	pos := h.Seq + 1
	r.Pos, r.PrevHash = &pos, h.Hash
	r.Hash = r.digest()
	// Seq is the order of writing: entries restored unplaced from a
	// PostgreSQL backup may have taken places out of it.
	err = tx.Exec(`INSERT INTO audit_log (seq, pos, at, actor, action, subject, before, after, prev_hash, hash)
		VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		pos, r.At, r.Actor, r.Action, r.Subject, r.Before, r.After, r.PrevHash, r.Hash).Error
	if err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	return moveHead(tx, pos, r.Hash)
}

// takeHead locks the chain's head until tx ends (a row lock on PostgreSQL,
// the write lock on SQLite) and returns it.
func takeHead(tx *gorm.DB) (head, error) {
	var heads []head
	if err := tx.Raw("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING id, seq, hash").Find(&heads).Error; err != nil {
		return head{}, fmt.Errorf("audit: lock head: %w", err)
	}
	if len(heads) != 1 {
		return head{}, errors.New("audit: head row missing")
	}
	return heads[0], nil
}

func moveHead(tx *gorm.DB, pos int64, hash string) error {
	if err := tx.Exec("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", pos, hash).Error; err != nil {
		return fmt.Errorf("audit: advance head: %w", err)
	}
	return nil
}

// chainBatch is how many entries one transaction of Chain places.
const chainBatch = 500

// Chain places every committed entry not yet placed, in the order they were
// written, and returns how many it placed. Chainers on several servers take
// turns on the head.
func Chain(ctx context.Context, db *gorm.DB) (int, error) {
	placed := 0
	for {
		n, err := chainOnce(db.WithContext(ctx))
		placed += n
		if err != nil || n < chainBatch {
			return placed, err
		}
	}
}

func chainOnce(db *gorm.DB) (int, error) {
	var n int
	err := db.Transaction(func(tx *gorm.DB) error {
		h, err := takeHead(tx)
		if err != nil {
			return err
		}
		var rows []Record
		if err := tx.Where("hash IS NULL").Order("seq").Limit(chainBatch).Find(&rows).Error; err != nil {
			return fmt.Errorf("audit: read unplaced entries: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		values := make([]string, len(rows))
		args := make([]any, 0, 4*len(rows))
		for i := range rows {
			r := &rows[i]
			pos := h.Seq + 1
			r.Pos, r.PrevHash = &pos, h.Hash
			r.Hash = r.digest()
			h.Seq, h.Hash = pos, r.Hash
			values[i] = "(CAST(? AS bigint), CAST(? AS bigint), ?, ?)"
			args = append(args, r.Seq, pos, r.PrevHash, r.Hash)
		}
		// The VALUES list's columns are column1… in both dialects.
		err = tx.Exec(`UPDATE audit_log SET pos = v.column2, prev_hash = v.column3, hash = v.column4
			FROM (VALUES `+strings.Join(values, ", ")+`) AS v WHERE audit_log.seq = v.column1`, args...).Error
		if err != nil {
			return fmt.Errorf("audit: place entries: %w", err)
		}
		n = len(rows)
		return moveHead(tx, h.Seq, h.Hash)
	})
	return n, err
}

// RunChainer places entries every interval until ctx ends, reporting
// failures to logf. It is for PostgreSQL, where Append leaves them
// unplaced; on SQLite it returns at once.
func RunChainer(ctx context.Context, db *gorm.DB, every time.Duration, logf func(error)) {
	if db.Dialector.Name() != "postgres" {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// The check reads the partial index of unplaced entries, so an
		// idle deployment costs one light statement a tick.
		var unplaced []int64
		if err := db.WithContext(ctx).Raw("SELECT seq FROM audit_log WHERE hash IS NULL LIMIT 1").Scan(&unplaced).Error; err != nil {
			if ctx.Err() == nil {
				logf(fmt.Errorf("audit: look for unplaced entries: %w", err))
			}
			continue
		}
		if len(unplaced) == 0 {
			continue
		}
		if _, err := Chain(ctx, db); err != nil && ctx.Err() == nil {
			logf(err)
		}
	}
}

func encode(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// digest is SHA-256 over the previous hash, the place and every field,
// each on its own line with its length, so that no two different entries
// share an input.
func (r Record) digest() string {
	sum := sha256.Sum256([]byte(lines(r.PrevHash, strconv.FormatInt(*r.Pos, 10),
		r.At.UTC().Format(time.RFC3339Nano), r.Actor, r.Action, r.Subject, r.Before, r.After)))
	return hex.EncodeToString(sum[:])
}

// lines writes each field as its length in bytes, a colon, the field and a
// newline.
func lines(fields ...string) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
		b.WriteByte('\n')
	}
	return b.String()
}

// Verify walks the chain in its order and returns ErrBroken (wrapped,
// naming the first bad place) when an entry's hash or link does not hold,
// a place is missing, or the head does not point at the last entry.
// Entries not yet placed are not part of the chain yet (see Unplaced).
//
// Entries are placed while Verify reads, so it reads the head first and
// the chain up to it: the head and the entries behind it commit together.
// Entries beyond a head that has not moved since are a break.
func Verify(db *gorm.DB) error {
	var end head // how far the chain has been verified
	for {
		h, err := readHead(db)
		if err != nil {
			return err
		}
		if end, err = walk(db, end, h.Seq); err != nil {
			return err
		}
		if end.Seq != h.Seq || end.Hash != h.Hash {
			return fmt.Errorf("%w: head at %d, chain ends at %d", ErrBroken, h.Seq, end.Seq)
		}
		var beyond []int64
		if err := db.Model(&Record{}).Where("pos > ?", h.Seq).Limit(1).Pluck("pos", &beyond).Error; err != nil {
			return fmt.Errorf("audit: read the chain: %w", err)
		}
		if len(beyond) == 0 {
			return nil
		}
		if now, err := readHead(db); err != nil {
			return err
		} else if now.Seq == h.Seq {
			return fmt.Errorf("%w: entry %d beyond the head at %d", ErrBroken, beyond[0], h.Seq)
		}
	}
}

func readHead(db *gorm.DB) (head, error) {
	var h head
	if err := db.First(&h, 1).Error; err != nil {
		return head{}, fmt.Errorf("audit: read head: %w", err)
	}
	return head{Seq: h.Seq, Hash: h.Hash}, nil
}

// walk verifies the entries placed after from, up to place last, and
// returns the last one verified.
func walk(db *gorm.DB, from head, last int64) (head, error) {
	for from.Seq < last {
		var records []Record
		if err := db.Where("pos > ? AND pos <= ?", from.Seq, last).Order("pos").Limit(1000).Find(&records).Error; err != nil {
			return from, fmt.Errorf("audit: read the chain: %w", err)
		}
		if len(records) == 0 {
			break
		}
		for _, r := range records {
			pos := from.Seq + 1
			if *r.Pos != pos {
				return from, fmt.Errorf("%w: entry %d missing", ErrBroken, pos)
			}
			if r.PrevHash != from.Hash || r.digest() != r.Hash {
				return from, fmt.Errorf("%w: entry %d altered", ErrBroken, pos)
			}
			from = head{Seq: pos, Hash: r.Hash}
		}
	}
	return from, nil
}

// Unplaced counts the entries written but not yet placed in the chain.
func Unplaced(db *gorm.DB) (int64, error) {
	var n int64
	if err := db.Model(&Record{}).Where("hash IS NULL").Count(&n).Error; err != nil {
		return 0, fmt.Errorf("audit: count unplaced entries: %w", err)
	}
	return n, nil
}

// List returns the newest entries first, at most limit, optionally only
// those whose subject is subject.
func List(db *gorm.DB, subject string, limit int) ([]Record, error) {
	q := db.Order("seq DESC").Limit(limit)
	if subject != "" {
		q = q.Where("subject = ?", subject)
	}
	var out []Record
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	return out, nil
}

// Reader gives read access to the log to code that holds no database
// handle of its own (the web layer).
type Reader struct{ db *gorm.DB }

// NewReader returns a Reader on db.
func NewReader(db *gorm.DB) *Reader { return &Reader{db: db} }

// List is List on the reader's database.
func (r *Reader) List(ctx context.Context, subject string, limit int) ([]Record, error) {
	return List(r.db.WithContext(ctx), subject, limit)
}

// Verify is Verify on the reader's database.
func (r *Reader) Verify(ctx context.Context) error { return Verify(r.db.WithContext(ctx)) }

// Unplaced is Unplaced on the reader's database.
func (r *Reader) Unplaced(ctx context.Context) (int64, error) { return Unplaced(r.db.WithContext(ctx)) }
