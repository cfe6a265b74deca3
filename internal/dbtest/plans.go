package dbtest

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// CloneAttempt copies the attempt attemptID n times on PostgreSQL, each
// copy with a candidate of its own and with the attempt's responses and
// proctoring chain, as a testing window of n more candidates leaves them:
// for tests of how statements behave on tables of a real size.
func CloneAttempt(tb testing.TB, db *gorm.DB, attemptID string, n int) {
	tb.Helper()
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`CREATE TEMP TABLE clones ON COMMIT DROP AS
  SELECT gen_random_uuid() AS id, gen_random_uuid() AS candidate_id FROM generate_series(1, ?)`, n).Error; err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO users (id, email, name, created_at)
  SELECT candidate_id, candidate_id || '@example.com', 'C', now() FROM clones`).Error; err != nil {
			return err
		}
		for _, q := range cloneRows {
			if err := tx.Exec(q, attemptID).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("clone attempt %s: %v", attemptID, err)
	}
}

// cloneRows copy an attempt's rows (the one argument) once for each row of
// clones, with only the keys replaced.
var cloneRows = []string{
	`INSERT INTO attempts SELECT (jsonb_populate_record(a, jsonb_build_object('id', c.id, 'candidate_id', c.candidate_id))).*
  FROM attempts a, clones c WHERE a.id = ?::uuid`,
	`INSERT INTO responses SELECT (jsonb_populate_record(r, jsonb_build_object('attempt_id', c.id))).*
  FROM responses r, clones c WHERE r.attempt_id = ?::uuid`,
	`INSERT INTO proctor_chains SELECT (jsonb_populate_record(p, jsonb_build_object('attempt_id', c.id))).*
  FROM proctor_chains p, clones c WHERE p.attempt_id = ?::uuid`,
}

// GenericPlan returns the lines of the plan PostgreSQL keeps for query
// once it stops planning each execution afresh (a generic plan), as a
// long-lived connection runs it, with args (SQL literals) for its
// parameters.
func GenericPlan(tb testing.TB, db *gorm.DB, query string, args ...string) []string {
	tb.Helper()
	ctx := context.Background()
	sqlDB, err := db.DB()
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"SET plan_cache_mode = force_generic_plan", "PREPARE generic_plan AS " + query} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
	defer conn.ExecContext(ctx, "DEALLOCATE generic_plan; RESET plan_cache_mode")
	rows, err := conn.QueryContext(ctx, "EXPLAIN EXECUTE generic_plan("+strings.Join(args, ", ")+")")
	if err != nil {
		tb.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			tb.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("explain: %v", err)
	}
	return plan
}

// scanLine matches a plan line that reads a table: its way ("Seq Scan",
// "Index Scan using attempts_pkey", …) and the table; bitmapIndexLine
// the index of a bitmap scan, on a line below it.
var (
	scanLine        = regexp.MustCompile(`^\s*(?:->\s*)?((?:Seq|Index|Index Only|Bitmap Heap|Tid|Tid Range) Scan(?: Backward)?(?: using \S+)?) on (\S+)`)
	bitmapIndexLine = regexp.MustCompile(`Bitmap Index Scan on (\S+)`)
)

// ScansOf returns how plan reads table: one entry per scan of it, such as
// "Index Scan using attempts_pkey", "Bitmap Heap Scan using attempts_pkey"
// or "Seq Scan".
func ScansOf(plan []string, table string) []string {
	var scans []string
	for i, line := range plan {
		m := scanLine.FindStringSubmatch(line)
		if m == nil || m[2] != table {
			continue
		}
		way := m[1]
		if way == "Bitmap Heap Scan" {
			for _, below := range plan[i+1:] {
				if b := bitmapIndexLine.FindStringSubmatch(below); b != nil {
					way += " using " + b[1]
					break
				}
			}
		}
		scans = append(scans, way)
	}
	return scans
}

// ByPrimaryKey reports whether scans, from ScansOf, are one or more and
// each a lookup in table's primary key.
func ByPrimaryKey(scans []string, table string) bool {
	for _, s := range scans {
		if !strings.HasSuffix(s, " using "+table+"_pkey") {
			return false
		}
	}
	return len(scans) > 0
}

// HoldStatistics turns autovacuum off for tables on PostgreSQL, so that
// their statistics stay as the test leaves them: none until it analyzes.
func HoldStatistics(tb testing.TB, db *gorm.DB, tables ...string) {
	tb.Helper()
	for _, t := range tables {
		if err := db.Exec("ALTER TABLE " + t + " SET (autovacuum_enabled = off)").Error; err != nil {
			tb.Fatalf("hold statistics of %s: %v", t, err)
		}
	}
}

// AnalyzeWithNoAttemptOpen analyzes tables while every attempt is
// submitted, then reopens the attempts: statistics that say no attempt is
// in progress, as those of a long history taken between testing windows.
func AnalyzeWithNoAttemptOpen(tb testing.TB, db *gorm.DB, tables ...string) {
	tb.Helper()
	qs := []string{"UPDATE attempts SET status = 'submitted' WHERE status = 'in_progress'"}
	for _, t := range tables {
		qs = append(qs, "ANALYZE "+t)
	}
	qs = append(qs, "UPDATE attempts SET status = 'in_progress' WHERE status = 'submitted'")
	for _, q := range qs {
		if err := db.Exec(q).Error; err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
}
