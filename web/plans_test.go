package web_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// statement is one SQL statement as the app sent it.
type statement struct {
	sql  string
	vars []any
}

// recordStatements captures every statement that goes through GORM on db
// from now on, until the returned stop is called.
func recordStatements(t *testing.T, db *gorm.DB) (stop func() []statement) {
	t.Helper()
	var (
		mu  sync.Mutex
		on  = true
		got []statement
	)
	record := func(tx *gorm.DB) {
		mu.Lock()
		defer mu.Unlock()
		if on && tx.Statement.SQL.Len() > 0 {
			got = append(got, statement{sql: tx.Statement.SQL.String(), vars: append([]any(nil), tx.Statement.Vars...)})
		}
	}
	dbtest.OnStatements(t, db, record)
	return func() []statement {
		mu.Lock()
		defer mu.Unlock()
		on = false
		return got
	}
}

// explain returns the database's plan of s, one node per line.
func explain(t *testing.T, db *gorm.DB, s statement) string {
	t.Helper()
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	prefix := "EXPLAIN "
	if db.Dialector.Name() == "sqlite" {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := sqlDB.QueryContext(context.Background(), prefix+s.sql, s.vars...)
	if err != nil {
		t.Fatalf("explain %s: %v", s.sql, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for rows.Next() {
		cells := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range cells {
			ptrs[i] = &cells[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		// PostgreSQL gives one column, SQLite's detail is the last.
		fmt.Fprintf(&plan, "%s\n", cells[len(cells)-1])
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

// windowTables grow with a testing window: a statement of a candidate's
// request that reads one of them whole, or by an index that is not the
// candidate's own, costs more with every candidate who sat before.
const windowTables = `(responses|attempts|proctor_snapshots|proctor_events|proctor_chains|sessions|audit_log|users)`

var badPlans = map[string]*regexp.Regexp{
	// ANDing two bitmaps means that neither index finds the rows alone.
	// PostgreSQL may well read a small table whole: only the tables the
	// test fills are too big for that.
	"postgres": regexp.MustCompile(`BitmapAnd|Seq Scan on (responses|attempts|proctor_snapshots|proctor_events|proctor_chains)\b`),
	// SQLite picks one index: it must not be one of the window-wide ones.
	"sqlite": regexp.MustCompile(`\bSCAN ` + windowTables + `\b|USING (COVERING )?INDEX (responses_item|proctor_snapshots_retention)\b`),
}

// TestCandidateRequestsReadByTheirKeys sends a candidate's requests (sign-in
// aside) after many others have sat the exam, and checks the plan of every
// statement they made: each reads the window's tables by the candidate's
// or the attempt's own key. On PostgreSQL it checks each plan twice: with
// no statistics, as in a window that fills the tables faster than they are
// gathered, and after ANALYZE. Three such plans were found under load: the
// start's look-up of earlier attempts, a save's read of its response and
// the snapshot rate limit; each read every row of the window that shared
// an exam, an item or a kept image.
func TestCandidateRequestsReadByTheirKeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := webtest.New(t, db)
		if _, err := f.Assess.SetProctoring(ctx, f.Users.Manager.ID, f.Exam.ID, assess.ProctoringPolicy{SnapshotSeconds: 10}); err != nil {
			t.Fatal(err)
		}
		sit := func() {
			id, items, token := openAttempt(t, f)
			path := "/api/v1/attempts/" + id
			wantAPIStatus(t, apiCall(t, f, apiReq("GET", path, token, nil)), http.StatusOK)
			for i, item := range items[:3] {
				body := map[string]any{"answer": map[string]string{"choice": f.Keys[item]}, "seq": i + 1}
				wantAPIStatus(t, apiCall(t, f, apiReq("PUT", path+"/responses/"+item, token, body)), http.StatusOK)
			}
			wantAPIStatus(t, apiCall(t, f, apiReq("POST", path+"/events", token, consoleEvents("focus_lost", "heartbeat"))), http.StatusNoContent)
			wantAPIStatus(t, apiCall(t, f, apiReq("POST", path+"/events", token, consoleEvents("focus_gained"))), http.StatusNoContent)
			wantAPIStatus(t, apiCall(t, f, captureUpload(id, "faces=1", token, "image/jpeg", consoleJPEG(t, 1))), http.StatusCreated)
			wantAPIStatus(t, apiCall(t, f, apiReq("POST", path+"/submit", token, nil)), http.StatusOK)
		}
		sit()
		if db.Dialector.Name() == "postgres" {
			fillWindow(t, db, 400)
		}

		stop := recordStatements(t, db)
		sit()
		statements := stop()
		if len(statements) < 20 {
			t.Fatalf("recorded %d statements; the recorder missed the requests", len(statements))
		}
		bad := badPlans[db.Dialector.Name()]
		check := func(when string) {
			for _, s := range statements {
				if plan := explain(t, db, s); bad.MatchString(plan) {
					t.Errorf("%s, %s\nreads the window's tables beyond the candidate's keys:\n%s", when, s.sql, plan)
				}
			}
		}
		check("without statistics")
		if db.Dialector.Name() == "postgres" {
			if err := db.Exec("ANALYZE").Error; err != nil {
				t.Fatal(err)
			}
			check("after ANALYZE")
		}
	})
}

// fillWindow copies the submitted attempt of the exam n times, with its
// responses, events and snapshots, as if n candidates had sat before.
func fillWindow(t *testing.T, db *gorm.DB, n int) {
	t.Helper()
	// Each copy is the row with a new id, through its JSON form: the
	// tables' columns need not be named here.
	statements := []string{
		`CREATE TEMP TABLE copies ON COMMIT DROP AS
SELECT a.id AS original, gen_random_uuid() AS id FROM attempts a, generate_series(1, ` + fmt.Sprint(n) + `) WHERE a.status = 'submitted'`,
		`INSERT INTO attempts SELECT (jsonb_populate_record(NULL::attempts, to_jsonb(a) || jsonb_build_object('id', c.id))).*
FROM attempts a JOIN copies c ON c.original = a.id`,
		`INSERT INTO responses SELECT (jsonb_populate_record(NULL::responses, to_jsonb(r) || jsonb_build_object('attempt_id', c.id))).*
FROM responses r JOIN copies c ON c.original = r.attempt_id`,
		`INSERT INTO proctor_chains SELECT (jsonb_populate_record(NULL::proctor_chains, to_jsonb(h) || jsonb_build_object('attempt_id', c.id))).*
FROM proctor_chains h JOIN copies c ON c.original = h.attempt_id`,
		`INSERT INTO proctor_events SELECT (jsonb_populate_record(NULL::proctor_events,
  to_jsonb(e) || jsonb_build_object('attempt_id', c.id, 'id', nextval(pg_get_serial_sequence('proctor_events', 'id'))))).*
FROM proctor_events e JOIN copies c ON c.original = e.attempt_id`,
		`INSERT INTO proctor_snapshots SELECT (jsonb_populate_record(NULL::proctor_snapshots, to_jsonb(s) || jsonb_build_object('id', gen_random_uuid(), 'attempt_id', c.id))).*
FROM proctor_snapshots s JOIN copies c ON c.original = s.attempt_id`,
	}
	err := db.Transaction(func(tx *gorm.DB) error {
		for _, s := range statements {
			if err := tx.Exec(s).Error; err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("fill the window: %v", err)
	}
}
