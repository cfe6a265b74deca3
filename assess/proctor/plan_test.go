package proctor

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// TestAppendPlanNeedsNoStatistics: the plans PostgreSQL keeps for a batch
// of appends read each chain by its primary key, and each attempt too when
// webcam snapshots ask whether it is open, whatever the statistics say
// (see the save's TestSavePlanNeedsNoStatistics): none, or stale ones
// taken while no attempt was in progress. A plan that hashed the whole
// table of chains instead, as PostgreSQL chose below a few thousand
// chains, read every chain of the window for each batch once kept.
func TestAppendPlanNeedsNoStatistics(t *testing.T) {
	db := dbtest.Postgres(t)
	a := newAttempt(t, db)
	if _, err := NewLog(db, time.Now).Record(t.Context(), a, []Event{{Kind: Heartbeat}}); err != nil {
		t.Fatal(err)
	}
	dbtest.HoldStatistics(t, db, "attempts", "proctor_chains")
	dbtest.CloneAttempt(t, db, a, 3000)

	plans := map[string]struct {
		sql  string
		args int
	}{
		"events":                {batchAppendSQL, 14},
		"events with snapshots": {batchAppendSnapshotsSQL, 28},
	}
	check := func(statistics string) {
		t.Helper()
		for name, p := range plans {
			args := slices.Repeat([]string{"'{}'"}, p.args) // empty columns: the plan is generic
			plan := dbtest.GenericPlan(t, db, p.sql, args...)
			for _, table := range []string{"attempts", "proctor_chains"} {
				if table == "attempts" && p.sql == batchAppendSQL {
					continue // events alone do not ask whether the attempt is open
				}
				if scans := dbtest.ScansOf(plan, table); !dbtest.ByPrimaryKey(scans, table) {
					t.Errorf("%s, %s: %s read by %q, want its primary key only; plan:\n%s", statistics, name, table, scans, strings.Join(plan, "\n"))
				}
			}
		}
	}
	check("never analyzed")
	dbtest.AnalyzeWithNoAttemptOpen(t, db, "attempts", "proctor_chains")
	check("analyzed while none was in progress")
}
