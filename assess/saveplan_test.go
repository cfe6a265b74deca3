package assess_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// TestSavePlanNeedsNoStatistics: the plan PostgreSQL keeps for a batch of
// saves looks each attempt and each response up by its primary key,
// whatever the tables' statistics say: none at all, as on a server without
// autovacuum, or stale ones taken while no attempt was in progress, as
// when a testing window opens on a large history. Driven from the partial
// index of open attempts instead, every batch read every open attempt.
func TestSavePlanNeedsNoStatistics(t *testing.T) {
	db := dbtest.Postgres(t)
	ctx := context.Background()
	f := newFixture(t, db)
	a, err := f.svc.Start(ctx, f.exam.ID, f.candidate)
	if err != nil {
		t.Fatal(err)
	}
	dbtest.HoldStatistics(t, db, "attempts", "responses")
	dbtest.CloneAttempt(t, db, a.ID, 3000)

	const batch = 8
	var args []string
	for i := range batch {
		args = append(args, fmt.Sprintf("'%s', %d, '', 0, true, 'x', NULL, false, false, NULL, now(), now()", a.ID, i))
	}
	check := func(statistics string) {
		t.Helper()
		plan := dbtest.GenericPlan(t, db, assess.SaveSQL(batch), args...)
		for _, table := range []string{"attempts", "responses"} {
			if scans := dbtest.ScansOf(plan, table); !dbtest.ByPrimaryKey(scans, table) {
				t.Errorf("%s: %s read by %q, want its primary key only; plan:\n%s", statistics, table, scans, strings.Join(plan, "\n"))
			}
		}
	}
	check("never analyzed")

	dbtest.AnalyzeWithNoAttemptOpen(t, db, "attempts", "responses")
	check("analyzed while none was in progress")
}
