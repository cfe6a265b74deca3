// Package audit keeps Touchstone's append-only, hash-chained audit log: one
// entry for every decision a court could ask about (approving a standard,
// changing an item, issuing or revoking a credential).
//
// Append writes in the caller's transaction, so an entry exists exactly when
// the change it describes was committed. Each entry's hash covers the
// previous entry's hash, so editing or removing an entry breaks the chain,
// and Verify finds the break. The database refuses UPDATE and DELETE on the
// log (a trigger in both dialects).
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

// Record is an entry as stored.
type Record struct {
	Seq      int64     `gorm:"column:seq;primaryKey"`
	At       time.Time `gorm:"column:at"`
	Actor    string    `gorm:"column:actor"`
	Action   string    `gorm:"column:action"`
	Subject  string    `gorm:"column:subject"`
	Before   string    `gorm:"column:before"`
	After    string    `gorm:"column:after"`
	PrevHash string    `gorm:"column:prev_hash"`
	Hash     string    `gorm:"column:hash"`
}

// TableName is the table Record lives in.
func (Record) TableName() string { return "audit_log" }

type head struct {
	ID   int    `gorm:"column:id;primaryKey"`
	Seq  int64  `gorm:"column:seq"`
	Hash string `gorm:"column:hash"`
}

func (head) TableName() string { return "audit_head" }

// Append adds e to the log inside tx, which must be a transaction: the
// update of the chain head serializes concurrent appenders on both
// PostgreSQL (row lock) and SQLite (write lock).
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
	at := e.At.UTC().Truncate(time.Microsecond)
	if tx.Dialector.Name() == "postgres" {
		return appendPostgres(tx, Record{At: at, Actor: e.Actor, Action: e.Action, Subject: e.Subject, Before: before, After: after})
	}
	// Taking the next place returns the head in the same statement; the
	// row lock it takes serializes appenders until the caller commits.
	var h head
	if err := tx.Raw("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash").Find(&h).Error; err != nil {
		return fmt.Errorf("audit: lock head: %w", err)
	}
	if h.Seq == 0 {
		return errors.New("audit: head row missing")
	}
	r := Record{
		Seq: h.Seq, At: at, Actor: e.Actor, Action: e.Action, Subject: e.Subject,
		Before: before, After: after, PrevHash: h.Hash,
	}
	r.Hash = r.digest()
	if err := tx.Create(&r).Error; err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	if err := tx.Model(&head{}).Where("id = 1").Update("hash", r.Hash).Error; err != nil {
		return fmt.Errorf("audit: advance head: %w", err)
	}
	return nil
}

// appendPostgres appends r in one statement: it locks the head, writes the
// entry chained to it and moves the head. Every appender of the deployment
// waits on the head until this transaction commits, so each round trip
// made while holding it is everyone's; the hash is computed by the
// database (sha256 of the same lines digest writes: the place and the
// previous hash, which only the database knows here, then r's fields,
// passed ready).
func appendPostgres(tx *gorm.DB, r Record) error {
	var placed []struct{ Seq int64 }
	err := tx.Raw(`WITH head AS (SELECT seq + 1 AS seq, hash AS prev FROM audit_head WHERE id = 1 FOR UPDATE),
entry AS (INSERT INTO audit_log (seq, at, actor, action, subject, before, after, prev_hash, hash)
	SELECT seq, ?, ?, ?, ?, ?, ?, prev, encode(sha256(convert_to(
		length(prev) || ':' || prev || E'\n' || length(seq::text) || ':' || seq::text || E'\n' || ?, 'UTF8')), 'hex')
	FROM head RETURNING seq, hash)
UPDATE audit_head SET seq = entry.seq, hash = entry.hash FROM entry WHERE audit_head.id = 1 RETURNING audit_head.seq`,
		r.At, r.Actor, r.Action, r.Subject, r.Before, r.After, r.fieldLines()).Find(&placed).Error
	if err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	if len(placed) != 1 {
		return errors.New("audit: head row missing")
	}
	return nil
}

func encode(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// digest is SHA-256 over the previous hash and every field, each on its own
// line with its length, so that no two different entries share an input.
func (r Record) digest() string {
	sum := sha256.Sum256([]byte(lines(r.PrevHash, strconv.FormatInt(r.Seq, 10)) + r.fieldLines()))
	return hex.EncodeToString(sum[:])
}

// fieldLines are the lines of digest after the previous hash and the place.
func (r Record) fieldLines() string {
	return lines(r.At.UTC().Format(time.RFC3339Nano), r.Actor, r.Action, r.Subject, r.Before, r.After)
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

// Verify walks the whole log and returns ErrBroken (wrapped, naming the
// first bad entry) when an entry's hash or link does not hold, or when the
// head does not point at the last entry.
func Verify(db *gorm.DB) error {
	var records []Record
	prev := ""
	var seq int64
	err := db.Order("seq").FindInBatches(&records, 1000, func(_ *gorm.DB, _ int) error {
		for _, r := range records {
			seq++
			if r.Seq != seq {
				return fmt.Errorf("%w: entry %d missing", ErrBroken, seq)
			}
			if r.PrevHash != prev || r.digest() != r.Hash {
				return fmt.Errorf("%w: entry %d altered", ErrBroken, r.Seq)
			}
			prev = r.Hash
		}
		return nil
	}).Error
	if err != nil {
		return err
	}
	var h head
	if err := db.First(&h, 1).Error; err != nil {
		return fmt.Errorf("audit: read head: %w", err)
	}
	if h.Seq != seq || h.Hash != prev {
		return fmt.Errorf("%w: head at %d, log ends at %d", ErrBroken, h.Seq, seq)
	}
	return nil
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
