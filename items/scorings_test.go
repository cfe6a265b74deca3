package items_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/items"
)

// TestScoringsRememberVersionsUntilTheyChange: a Store reads what scoring
// needs of a version in full once, then only its revision, until a rekey
// or a calibration (through any Store, or plain SQL) changes it; delivery
// counts do not.
func TestScoringsRememberVersionsUntilTheyChange(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		other := items.NewStore(db, func() time.Time { return storeClock }) // another instance
		it, err := store.Create(ctx, "system", program, singleChoice())
		if err != nil {
			t.Fatal(err)
		}
		var statements atomic.Int64
		dbtest.OnStatements(t, db, func(*gorm.DB) { statements.Add(1) })
		scoring := func(wantStatements int64) items.Scoring {
			t.Helper()
			before := statements.Load()
			got, err := store.Scorings(ctx, []string{it.VersionID, "not-a-version"})
			if err != nil {
				t.Fatal(err)
			}
			if n := statements.Load() - before; n != wantStatements {
				t.Errorf("Scorings made %d statements, want %d", n, wantStatements)
			}
			if len(got) != 1 {
				t.Fatalf("Scorings = %+v, want the one version", got)
			}
			return got[it.VersionID]
		}
		// The revisions, then the version and its item.
		if got := scoring(3); got.Content.Key != "a" || got.Params != nil {
			t.Errorf("first read: %+v, want key a, no parameters", got)
		}
		if got := scoring(1); got.Content.Key != "a" {
			t.Errorf("remembered: key %q, want a", got.Content.Key)
		}

		corrected := singleChoice()
		corrected.Key = "b"
		if _, err := other.Rekey(ctx, "psychometrician", it.VersionID, corrected, "option b is also right"); err != nil {
			t.Fatal(err)
		}
		if got := scoring(3); got.Content.Key != "b" {
			t.Errorf("after another instance's rekey: key %q, want b", got.Content.Key)
		}

		if err := other.SetParams(ctx, "system", it.ID, items.Params{Model: "2PL", A: 1.2, B: -0.3, N: 500}); err != nil {
			t.Fatal(err)
		}
		if got := scoring(3); got.Params == nil || got.Params.A != 1.2 || got.Params.B != -0.3 {
			t.Errorf("after a calibration: parameters %+v, want a 1.2, b -0.3", got.Params)
		}

		if err := db.Exec("UPDATE items SET irt_b = 0.4 WHERE id = ?", it.ID).Error; err != nil {
			t.Fatal(err)
		}
		if got := scoring(3); got.Params == nil || got.Params.B != 0.4 {
			t.Errorf("after plain SQL: parameters %+v, want b 0.4", got.Params)
		}

		// Deliveries change the item's row, not what scoring needs.
		if err := other.AddExposures(ctx, []string{it.ID}); err != nil {
			t.Fatal(err)
		}
		if got := scoring(1); got.Params == nil || got.Params.B != 0.4 || got.Content.Key != "b" {
			t.Errorf("after a delivery: %+v", got)
		}
	})
}

// TestDeliveredRemembersItemsUntilTheyChange: what a start reads of its
// items is read in full once, then only their revisions, until a new
// version is published or an item retired (through any Store); delivery
// counts do not count as a change.
func TestDeliveredRemembersItemsUntilTheyChange(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		other := items.NewStore(db, func() time.Time { return storeClock }) // another instance
		first, err := store.Create(ctx, "system", program, singleChoice())
		if err != nil {
			t.Fatal(err)
		}
		second, err := store.Create(ctx, "system", program, trueFalse())
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{second.ID, first.ID, "not-an-item"}
		var statements atomic.Int64
		dbtest.OnStatements(t, db, func(*gorm.DB) { statements.Add(1) })
		delivered := func(wantStatements int64) []items.Item {
			t.Helper()
			before := statements.Load()
			got, err := store.Delivered(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			if n := statements.Load() - before; n != wantStatements {
				t.Errorf("Delivered made %d statements, want %d", n, wantStatements)
			}
			current, err := other.Current(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(current) {
				t.Fatalf("Delivered = %d items, Current %d", len(got), len(current))
			}
			for i := range got {
				if got[i].ID != current[i].ID || got[i].VersionID != current[i].VersionID || got[i].Status != current[i].Status ||
					got[i].Deliverable() != current[i].Deliverable() || got[i].Content.Key != current[i].Content.Key {
					t.Errorf("Delivered[%d] = %+v, Current %+v", i, got[i], current[i])
				}
			}
			return got
		}
		// The revisions, then the items and their versions.
		if got := delivered(3); len(got) != 2 || got[0].ID != second.ID || got[1].ID != first.ID {
			t.Fatalf("first read: %+v, want the two items in the order asked", got)
		}
		delivered(1)

		edited := singleChoice()
		edited.Stem = "Which function sums a range?"
		if _, err := other.Update(ctx, "author", first.ID, edited); err != nil {
			t.Fatal(err)
		}
		if _, err := other.SubmitForReview(ctx, "author", first.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Approve(ctx, "reviewer", first.ID, "fine"); err != nil {
			t.Fatal(err)
		}
		if got := delivered(3); got[1].Version != 2 || got[1].Content.Stem != edited.Stem {
			t.Errorf("after another instance published version 2: %+v", got[1])
		}
		if _, err := other.Retire(ctx, "psychometrician", second.ID, "drifted"); err != nil {
			t.Fatal(err)
		}
		if got := delivered(3); got[0].Deliverable() {
			t.Errorf("a retired item is still deliverable: %+v", got[0])
		}
		if err := other.AddExposures(ctx, []string{first.ID, second.ID}); err != nil {
			t.Fatal(err)
		}
		delivered(1)
	})
}
