package migrations

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// A whole database moves between deployments as JSON Lines, one file per
// table: Snapshot reads every table in one consistent transaction, Loader
// writes them into an empty database in one transaction. Both read the
// schema from the database's own catalog, so every table a migration adds
// is carried without a list to keep up to date, and values are written in
// a form both dialects read (see Kind), so a SQLite deployment can move to
// PostgreSQL.

var (
	// ErrNotEmpty: the database a restore was asked to fill already holds
	// data. Errors wrapping it name the table.
	ErrNotEmpty = errors.New("migrations: the database is not empty")
	// ErrNewerSchema: the data comes from a newer schema than this
	// program knows.
	ErrNewerSchema = errors.New("migrations: the data comes from a newer schema")
	// ErrIncompatible: the data's tables or columns do not match the
	// database's at the same schema version.
	ErrIncompatible = errors.New("migrations: the data does not fit this database")
	// ErrBadRow: a row of dumped data cannot be read.
	ErrBadRow = errors.New("migrations: bad row")
)

// Kind is a column's type as dumped data carries it, the same in both
// dialects.
type Kind string

// The kinds of column. In JSON Lines, text and json columns are strings
// (json columns hold the JSON text), integer columns integers, real
// columns numbers (or the strings "NaN", "+Inf", "-Inf"), bool columns
// booleans, time columns RFC 3339 strings in UTC with up to nanoseconds,
// and bytes columns base64 strings; NULL is null.
const (
	KindText    Kind = "text"
	KindInteger Kind = "integer"
	KindReal    Kind = "real"
	KindBool    Kind = "bool"
	KindTime    Kind = "time"
	KindJSON    Kind = "json"
	KindBytes   Kind = "bytes"
)

// kindOf maps a declared column type (PostgreSQL's information_schema
// data_type, or SQLite's declared type) to its Kind.
func kindOf(declared string) (Kind, bool) {
	switch strings.ToLower(strings.TrimSpace(declared)) {
	case "text", "uuid", "character varying", "varchar", "character", "char", "citext":
		return KindText, true
	case "integer", "bigint", "smallint", "int", "int2", "int4", "int8":
		return KindInteger, true
	case "real", "double precision", "double", "float", "float4", "float8":
		return KindReal, true
	case "boolean", "bool":
		return KindBool, true
	case "timestamp with time zone", "timestamptz", "timestamp without time zone", "timestamp", "datetime":
		return KindTime, true
	case "json", "jsonb":
		return KindJSON, true
	case "bytea", "blob":
		return KindBytes, true
	}
	return "", false
}

// compatible reports whether data dumped from a column of kind a loads into
// a column of kind b: the same kind, or JSON kept as text (SQLite) and as
// json (PostgreSQL).
func compatible(a, b Kind) bool {
	return a == b || (a == KindText || a == KindJSON) && (b == KindText || b == KindJSON)
}

// Column is one column of a table.
type Column struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// collateC sorts a PostgreSQL text key bytewise, as SQLite does, so
	// that both dialects dump rows in the same order.
	collateC bool
}

// Table is one table of the schema as a dump sees it.
type Table struct {
	Name    string
	Columns []Column
	// Key lists the primary key's columns: rows are dumped in its order.
	Key []string
	// SelfRefs lists the columns that reference this same table: they are
	// loaded once every row is in, whatever the rows' order.
	SelfRefs []string
	// serial lists integer columns filled by a PostgreSQL sequence.
	serial []string
}

// seeded tables have rows that the migrations themselves insert (the audit
// chain's head): a database is empty with them, and a load replaces them.
var seeded = map[string]bool{"audit_head": true}

// gooseTable is goose's record of applied migrations: never dumped.
const gooseTable = "goose_db_version"

// derived tables are filled by triggers from the others (the cache tokens
// of exams and items, the attempts of each form): never dumped, refilled
// as a load inserts the rows they derive from, and no sign that a
// database holds data.
var derived = map[string]bool{"exam_revisions": true, "item_revisions": true, "form_deliveries": true}

// querier is what catalog and dump queries run on: a connection holding a
// snapshot, or a load's transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// strings1 runs a query whose rows are one string each.
func strings1(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// catalog reads every table of the database, in an order in which rows can
// be inserted: a table comes after the tables it references.
func catalog(ctx context.Context, q querier, d Dialect) ([]Table, error) {
	var names []string
	var err error
	if d == Postgres {
		names, err = strings1(ctx, q, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	} else {
		names, err = strings1(ctx, q, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
	}
	if err != nil {
		return nil, fmt.Errorf("migrations: list tables: %w", err)
	}
	sort.Strings(names)
	tables := map[string]*Table{}
	refs := map[string][]string{} // table → tables it references
	var order []string
	for _, name := range names {
		if name == gooseTable || derived[name] {
			continue
		}
		t := &Table{Name: name}
		if err := describe(ctx, q, d, t, refs); err != nil {
			return nil, fmt.Errorf("migrations: table %s: %w", name, err)
		}
		tables[name] = t
		order = append(order, name)
	}
	// Kahn's algorithm, smallest name first, so the order is stable.
	var out []Table
	done := map[string]bool{}
	for len(out) < len(order) {
		progress := false
		for _, name := range order {
			if done[name] {
				continue
			}
			ready := true
			for _, r := range refs[name] {
				if _, known := tables[r]; known && !done[r] {
					ready = false
					break
				}
			}
			if ready {
				done[name] = true
				out = append(out, *tables[name])
				progress = true
				break
			}
		}
		if !progress {
			return nil, errors.New("migrations: the tables' foreign keys form a cycle")
		}
	}
	return out, nil
}

// describe fills t's columns, key, self references and serial columns, and
// records the other tables it references.
func describe(ctx context.Context, q querier, d Dialect, t *Table, refs map[string][]string) error {
	type col struct{ name, typ string }
	var cols []col
	var key []string
	if d == Postgres {
		rows, err := q.QueryContext(ctx, `SELECT column_name, data_type, COALESCE(column_default, ''), is_identity
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1
			ORDER BY ordinal_position`, t.Name)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c col
			var def, identity string
			if err := rows.Scan(&c.name, &c.typ, &def, &identity); err != nil {
				rows.Close()
				return err
			}
			if strings.HasPrefix(def, "nextval(") || identity == "YES" {
				t.serial = append(t.serial, c.name)
			}
			cols = append(cols, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rel := quote(t.Name)
		if key, err = strings1(ctx, q, `SELECT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indisprimary AND i.indrelid = $1::regclass
			ORDER BY array_position(i.indkey::int2[], a.attnum)`, rel); err != nil {
			return err
		}
		rows, err = q.QueryContext(ctx, `SELECT f.relname, a.attname FROM pg_constraint c
			JOIN pg_class f ON f.oid = c.confrelid
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
			WHERE c.contype = 'f' AND c.conrelid = $1::regclass`, rel)
		if err != nil {
			return err
		}
		if err := scanRefs(rows, t, refs); err != nil {
			return err
		}
	} else {
		rows, err := q.QueryContext(ctx, `SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid`, t.Name)
		if err != nil {
			return err
		}
		pk := map[int]string{}
		for rows.Next() {
			var c col
			var n int
			if err := rows.Scan(&c.name, &c.typ, &n); err != nil {
				rows.Close()
				return err
			}
			if n > 0 {
				pk[n] = c.name
			}
			cols = append(cols, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := 1; i <= len(pk); i++ {
			key = append(key, pk[i])
		}
		rows, err = q.QueryContext(ctx, `SELECT "table", "from" FROM pragma_foreign_key_list(?)`, t.Name)
		if err != nil {
			return err
		}
		if err := scanRefs(rows, t, refs); err != nil {
			return err
		}
	}
	for _, c := range cols {
		k, ok := kindOf(c.typ)
		if !ok {
			return fmt.Errorf("column %s has type %q, which a dump cannot carry", c.name, c.typ)
		}
		t.Columns = append(t.Columns, Column{Name: c.name, Kind: k, collateC: d == Postgres && k == KindText && !strings.EqualFold(c.typ, "uuid")})
	}
	t.Key = key
	if len(t.Key) == 0 { // no primary key: order by every column
		for _, c := range t.Columns {
			t.Key = append(t.Key, c.Name)
		}
	}
	return nil
}

// scanRefs reads the rows of a foreign-key catalogue query, each a
// referenced table and the referencing column of t, into t and refs as
// addRef does, and closes rows.
func scanRefs(rows *sql.Rows, t *Table, refs map[string][]string) error {
	defer rows.Close()
	for rows.Next() {
		var ref, from string
		if err := rows.Scan(&ref, &from); err != nil {
			return err
		}
		addRef(t, refs, ref, from)
	}
	return rows.Err()
}

func addRef(t *Table, refs map[string][]string, ref, from string) {
	if ref == t.Name {
		if !slices.Contains(t.SelfRefs, from) {
			t.SelfRefs = append(t.SelfRefs, from)
		}
		return
	}
	if !slices.Contains(refs[t.Name], ref) {
		refs[t.Name] = append(refs[t.Name], ref)
	}
}

func (t Table) column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Snapshot is a consistent, read-only view of a whole database: on
// PostgreSQL a REPEATABLE READ READ ONLY transaction, on SQLite one read
// transaction (which, in WAL mode, never blocks the server's writers).
// It is not safe for concurrent use.
type Snapshot struct {
	conn    *sql.Conn
	dialect Dialect
	version int64
	tables  []Table
}

// OpenSnapshot begins a snapshot of db. The view is fixed before it
// returns: rows committed later are not in it. The caller closes it.
func OpenSnapshot(ctx context.Context, db *gorm.DB) (*Snapshot, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	d := dialectOf(db)
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: snapshot: %w", err)
	}
	begin := "BEGIN DEFERRED" // a reader: no write lock
	if d == Postgres {
		begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		conn.Close()
		return nil, fmt.Errorf("migrations: snapshot: %w", err)
	}
	s := &Snapshot{conn: conn, dialect: d}
	// The first read fixes the snapshot.
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version_id), 0) FROM "+gooseTable).Scan(&s.version); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrations: snapshot: schema version: %w", err)
	}
	if s.tables, err = catalog(ctx, conn, d); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func dialectOf(db *gorm.DB) Dialect {
	if db.Dialector.Name() == "postgres" {
		return Postgres
	}
	return SQLite
}

// Dialect is the snapshot's database engine.
func (s *Snapshot) Dialect() Dialect { return s.dialect }

// Version is the schema (goose) version of the snapshot.
func (s *Snapshot) Version() int64 { return s.version }

// Tables lists every table, in an order in which Loader can insert them.
func (s *Snapshot) Tables() []Table { return slices.Clone(s.tables) }

// Dump writes every row of t to w as JSON Lines, one object per row with
// the columns in t's order, in primary-key order, and returns how many.
func (s *Snapshot) Dump(ctx context.Context, t Table, w io.Writer) (int64, error) {
	var cols, order []string
	for _, c := range t.Columns {
		cols = append(cols, quote(c.Name))
	}
	for _, k := range t.Key {
		o := quote(k)
		if c, _ := t.column(k); c.collateC {
			o += ` COLLATE "C"`
		}
		order = append(order, o)
	}
	rows, err := s.conn.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+quote(t.Name)+" ORDER BY "+strings.Join(order, ", "))
	if err != nil {
		return 0, fmt.Errorf("migrations: dump %s: %w", t.Name, err)
	}
	defer rows.Close()
	vals := make([]any, len(t.Columns))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	var line bytes.Buffer
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("migrations: dump %s: %w", t.Name, err)
		}
		line.Reset()
		line.WriteByte('{')
		for i, c := range t.Columns {
			v, err := normalise(c.Kind, vals[i])
			if err != nil {
				return n, fmt.Errorf("migrations: dump %s.%s (row %d): %w", t.Name, c.Name, n+1, err)
			}
			b, err := json.Marshal(v)
			if err != nil {
				return n, fmt.Errorf("migrations: dump %s.%s (row %d): %w", t.Name, c.Name, n+1, err)
			}
			if i > 0 {
				line.WriteByte(',')
			}
			name, _ := json.Marshal(c.Name)
			line.Write(name)
			line.WriteByte(':')
			line.Write(b)
		}
		line.WriteString("}\n")
		if _, err := w.Write(line.Bytes()); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("migrations: dump %s: %w", t.Name, err)
	}
	return n, nil
}

// Close ends the snapshot.
func (s *Snapshot) Close() error {
	_, err := s.conn.ExecContext(context.Background(), "ROLLBACK")
	if cerr := s.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// timeLayouts are the ways SQLite files hold times: the driver's own, and
// what CURRENT_TIMESTAMP and hand-written SQL give.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999-07",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// normalise turns a value read from the database into its dump form.
func normalise(k Kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case KindText, KindJSON:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case [16]byte: // a uuid
			return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16]), nil
		}
	case KindInteger:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case int:
			return int64(x), nil
		case float64:
			if x == math.Trunc(x) {
				return int64(x), nil
			}
		}
	case KindReal:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		case int64:
			f = float64(x)
		default:
			return nil, fmt.Errorf("%T is not a number", v)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 64), nil
		}
		return f, nil
	case KindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case KindTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		case string:
			for _, l := range timeLayouts {
				if t, err := time.Parse(l, x); err == nil {
					return t.UTC().Format(time.RFC3339Nano), nil
				}
			}
			return nil, fmt.Errorf("%q is not a time", x)
		}
	case KindBytes:
		switch x := v.(type) {
		case []byte:
			return x, nil // base64 in JSON
		case string:
			return []byte(x), nil
		}
	}
	return nil, fmt.Errorf("a %T cannot be a %s value", v, k)
}

// denormalise turns a dumped value into what the database driver takes for
// a column of kind k.
func denormalise(k Kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case KindText, KindJSON:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case KindInteger:
		if n, ok := v.(json.Number); ok {
			return n.Int64()
		}
	case KindReal:
		switch x := v.(type) {
		case json.Number:
			return x.Float64()
		case string:
			return strconv.ParseFloat(x, 64)
		}
	case KindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case KindTime:
		if s, ok := v.(string); ok {
			t, err := time.Parse(time.RFC3339Nano, s)
			return t.UTC(), err
		}
	case KindBytes:
		if s, ok := v.(string); ok {
			return base64.StdEncoding.DecodeString(s)
		}
	}
	return nil, fmt.Errorf("%v is not a %s value", v, k)
}
