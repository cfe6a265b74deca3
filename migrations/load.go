package migrations

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Version returns the schema (goose) version db is at: 0 for a database
// without migrations.
func Version(ctx context.Context, db *gorm.DB) (int64, error) {
	statuses, err := Statuses(ctx, db)
	if err != nil {
		return 0, err
	}
	var v int64
	for _, s := range statuses {
		if s.Applied && s.Version > v {
			v = s.Version
		}
	}
	return v, nil
}

// UpTo applies the migrations up to and including version v.
func UpTo(ctx context.Context, db *gorm.DB, v int64) error {
	p, err := provider(db)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.UpTo(ctx, v); err != nil {
		return fmt.Errorf("migrations: up to %d: %w", v, err)
	}
	return nil
}

// CheckEmpty returns ErrNotEmpty, naming the first table (in name order)
// that holds a row, unless no table but the migrations' own seeded ones
// does.
func CheckEmpty(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	tables, err := catalog(ctx, sqlDB, dialectOf(db))
	if err != nil {
		return err
	}
	names := make([]string, 0, len(tables))
	for _, t := range tables {
		if !seeded[t.Name] {
			names = append(names, t.Name)
		}
	}
	sortStrings(names)
	for _, name := range names {
		var one int
		err := sqlDB.QueryRowContext(ctx, "SELECT 1 FROM "+quote(name)+" LIMIT 1").Scan(&one)
		if err == nil {
			return fmt.Errorf("%w: table %s has rows", ErrNotEmpty, name)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("migrations: check %s is empty: %w", name, err)
		}
	}
	return nil
}

// PrepareLoad makes db ready to receive data dumped at schema version v:
// it refuses a version newer than this program's (ErrNewerSchema) and a
// database that holds data (ErrNotEmpty), then brings the empty database's
// schema to exactly v — applying migrations to a new database, or undoing
// the newer ones of an empty one — so that the data loads into the schema
// it was dumped from. Once loaded, Up brings it to the latest version,
// migrating the data like any other.
func PrepareLoad(ctx context.Context, db *gorm.DB, v int64) error {
	latest, err := Latest(dialectOf(db))
	if err != nil {
		return err
	}
	if v > latest {
		return fmt.Errorf("%w: it is at schema version %d, this program knows up to %d: restore it with a newer Touchstone", ErrNewerSchema, v, latest)
	}
	if v < 1 {
		return fmt.Errorf("%w: schema version %d", ErrIncompatible, v)
	}
	cur, err := Version(ctx, db)
	if err != nil {
		return err
	}
	if cur > 0 {
		if err := CheckEmpty(ctx, db); err != nil {
			return err
		}
	}
	p, err := provider(db)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	switch {
	case cur < v:
		_, err = p.UpTo(ctx, v)
	case cur > v:
		_, err = p.DownTo(ctx, v)
	}
	if err != nil {
		return fmt.Errorf("migrations: bring the schema to version %d: %w", v, err)
	}
	return nil
}

// Loader writes dumped tables into an empty database (see PrepareLoad) in
// one transaction: nothing is visible, and nothing stays, unless Commit
// succeeds. It is not safe for concurrent use.
type Loader struct {
	tx      *sql.Tx
	dialect Dialect
	tables  map[string]Table
	loaded  map[string]bool
}

// BeginLoad begins loading into db.
func BeginLoad(ctx context.Context, db *gorm.DB) (*Loader, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("migrations: load: %w", err)
	}
	l := &Loader{tx: tx, dialect: dialectOf(db), tables: map[string]Table{}, loaded: map[string]bool{}}
	tables, err := catalog(ctx, tx, l.dialect)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	for _, t := range tables {
		l.tables[t.Name] = t
	}
	return l, nil
}

// maxParams keeps a batch's placeholders under both engines' limits.
const maxParams = 30000

// Load inserts the rows of table name, read from r as Snapshot.Dump wrote
// them with the columns cols, and returns how many. Tables must come in an
// order in which their references resolve (Snapshot.Tables' order). cols
// must match the table's columns at this schema version, by name and
// compatible kind (ErrIncompatible otherwise); a row that does not read is
// ErrBadRow, naming its line.
func (l *Loader) Load(ctx context.Context, name string, cols []Column, r io.Reader) (int64, error) {
	t, ok := l.tables[name]
	if !ok {
		return 0, fmt.Errorf("%w: this database has no table %s", ErrIncompatible, name)
	}
	if l.loaded[name] {
		return 0, fmt.Errorf("%w: table %s comes twice", ErrIncompatible, name)
	}
	l.loaded[name] = true
	target := make([]Column, len(cols))
	for i, c := range cols {
		tc, ok := t.column(c.Name)
		if !ok {
			return 0, fmt.Errorf("%w: this database has no column %s.%s", ErrIncompatible, name, c.Name)
		}
		if !compatible(c.Kind, tc.Kind) {
			return 0, fmt.Errorf("%w: column %s.%s holds %s values here but %s values in the data", ErrIncompatible, name, c.Name, tc.Kind, c.Kind)
		}
		target[i] = tc
	}
	for _, tc := range t.Columns {
		if !containsColumn(cols, tc.Name) {
			return 0, fmt.Errorf("%w: the data has no column %s.%s", ErrIncompatible, name, tc.Name)
		}
	}
	if seeded[name] {
		if _, err := l.tx.ExecContext(ctx, "DELETE FROM "+quote(name)); err != nil {
			return 0, fmt.Errorf("migrations: load %s: %w", name, err)
		}
	}
	selfRef := map[int]bool{}
	for i, c := range target {
		for _, s := range t.SelfRefs {
			if c.Name == s {
				selfRef[i] = true
			}
		}
	}
	keyIdx := make([]int, len(t.Key))
	for j, k := range t.Key {
		keyIdx[j] = -1
		for i, c := range target {
			if c.Name == k {
				keyIdx[j] = i
			}
		}
		if keyIdx[j] < 0 && len(selfRef) > 0 {
			return 0, fmt.Errorf("%w: the data has no key column %s.%s", ErrIncompatible, name, k)
		}
	}
	type later struct {
		col int
		val any
		key []any
	}
	var deferred []later

	batchRows := max(1, min(500, maxParams/max(1, len(target))))
	var batch []any
	rowsInBatch := 0
	// Full batches share one prepared statement: SQLite would otherwise
	// parse the same long INSERT again for every batch.
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	flush := func() error {
		if rowsInBatch == 0 {
			return nil
		}
		var err error
		if rowsInBatch == batchRows {
			if full == nil {
				if full, err = l.tx.PrepareContext(ctx, l.insertSQL(name, target, batchRows)); err != nil {
					return fmt.Errorf("migrations: load %s: %w", name, err)
				}
			}
			_, err = full.ExecContext(ctx, batch...)
		} else {
			_, err = l.tx.ExecContext(ctx, l.insertSQL(name, target, rowsInBatch), batch...)
		}
		if err != nil {
			return fmt.Errorf("migrations: load %s: %w", name, err)
		}
		batch, rowsInBatch = batch[:0], 0
		return nil
	}
	br := bufio.NewReaderSize(r, 1<<16)
	var n int64
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			n++
			row, derr := decodeRow(line)
			if derr != nil {
				return n, fmt.Errorf("%w: %s line %d: %v", ErrBadRow, name, n, derr)
			}
			if len(row) != len(target) {
				return n, fmt.Errorf("%w: %s line %d has %d columns, want %d", ErrBadRow, name, n, len(row), len(target))
			}
			vals := make([]any, len(target))
			for i, c := range target {
				raw, ok := row[c.Name]
				if !ok {
					return n, fmt.Errorf("%w: %s line %d has no %s", ErrBadRow, name, n, c.Name)
				}
				v, err := denormalise(cols[i].Kind, raw)
				if err != nil {
					return n, fmt.Errorf("%w: %s line %d, column %s: %v", ErrBadRow, name, n, c.Name, err)
				}
				vals[i] = v
			}
			for i := range selfRef {
				if vals[i] != nil {
					key := make([]any, len(keyIdx))
					for j, k := range keyIdx {
						key[j] = vals[k]
					}
					deferred = append(deferred, later{i, vals[i], key})
					vals[i] = nil
				}
			}
			batch = append(batch, vals...)
			if rowsInBatch++; rowsInBatch == batchRows {
				if err := flush(); err != nil {
					return n, err
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
	}
	if err := flush(); err != nil {
		return n, err
	}
	for _, d := range deferred {
		var where []string
		args := []any{d.val}
		for j, k := range t.Key {
			where = append(where, quote(k)+" = "+l.param(j+2))
			args = append(args, d.key[j])
		}
		q := "UPDATE " + quote(name) + " SET " + quote(target[d.col].Name) + " = " + l.param(1) + " WHERE " + strings.Join(where, " AND ")
		if _, err := l.tx.ExecContext(ctx, q, args...); err != nil {
			return n, fmt.Errorf("migrations: load %s.%s: %w", name, target[d.col].Name, err)
		}
	}
	return n, nil
}

func containsColumn(cols []Column, name string) bool {
	for _, c := range cols {
		if c.Name == name {
			return true
		}
	}
	return false
}

func decodeRow(line []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var row map[string]any
	if err := dec.Decode(&row); err != nil {
		return nil, err
	}
	if row == nil {
		return nil, errors.New("not a JSON object")
	}
	return row, nil
}

// param is the i-th (1-based) placeholder in the loader's dialect.
func (l *Loader) param(i int) string {
	if l.dialect == Postgres {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

func (l *Loader) insertSQL(name string, cols []Column, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + quote(name) + " (")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.Name))
	}
	b.WriteString(") VALUES ")
	p := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for i := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			p++
			b.WriteString(l.param(p))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Commit checks that every table of the database was loaded, moves
// PostgreSQL's sequences past the loaded rows, and commits. On an error
// nothing is kept.
func (l *Loader) Commit(ctx context.Context) error {
	var missing []string
	for name := range l.tables {
		if !l.loaded[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sortStrings(missing)
		l.tx.Rollback()
		return fmt.Errorf("%w: the data has no table %s", ErrIncompatible, strings.Join(missing, ", "))
	}
	if l.dialect == Postgres {
		for _, t := range l.tables {
			for _, c := range t.serial {
				q := "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX(" + quote(c) + "), 0) + 1, false) FROM " + quote(t.Name)
				if _, err := l.tx.ExecContext(ctx, q, quote(t.Name), c); err != nil {
					l.tx.Rollback()
					return fmt.Errorf("migrations: reset the sequence of %s.%s: %w", t.Name, c, err)
				}
			}
		}
	}
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("migrations: load: commit: %w", err)
	}
	return nil
}

// Rollback abandons the load; after Commit it does nothing.
func (l *Loader) Rollback() { _ = l.tx.Rollback() }

func sortStrings(s []string) { sort.Strings(s) }
