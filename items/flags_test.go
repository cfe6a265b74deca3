package items_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// Flags are raised with a reason, listed open first, counted per item
// while open, resolved once with what was done, and audited both ways.
func TestFlags(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		pat := newUser(t, db, "Pat")
		ann := newUser(t, db, "Ann")
		it, err := store.Create(ctx, "system", program, singleChoice())
		if err != nil {
			t.Fatal(err)
		}
		other, err := store.Create(ctx, "system", program, singleChoice())
		if err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name, reason, field string
		}{
			{"blank", " \n", "reason"},
			{"too long", string(make([]byte, items.MaxCommentLength+1)), "reason"},
		} {
			var v *valid.Error
			if _, err := store.Flag(ctx, pat, it.ID, tc.reason); !errors.As(err, &v) || v.Field != tc.field {
				t.Errorf("%s: got %v, want an error on %s", tc.name, err, tc.field)
			}
		}
		if _, err := store.Flag(ctx, pat, uuid.NewString(), "x"); !errors.Is(err, items.ErrNotFound) {
			t.Errorf("flag on an unknown item: got %v, want ErrNotFound", err)
		}

		first, err := store.Flag(ctx, pat, it.ID, "  Option C is also defensible.  ")
		if err != nil {
			t.Fatal(err)
		}
		if first.Reason != "Option C is also defensible." || first.RaisedBy != pat || !first.RaisedAt.Equal(storeClock) || !first.Open() {
			t.Errorf("raised flag: got %+v", first)
		}
		second, err := store.Flag(ctx, pat, it.ID, "p-value .12: probable miskey")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Flag(ctx, "system", other.ID, "Outdated"); err != nil {
			t.Fatal(err)
		}

		counts, err := store.OpenFlagCounts(ctx, []string{it.ID, other.ID, uuid.NewString(), "not-an-id"})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(counts) != fmt.Sprint(map[string]int{it.ID: 2, other.ID: 1}) {
			t.Errorf("open flag counts: got %v, want 2 and 1", counts)
		}

		var v *valid.Error
		if _, err := store.ResolveFlag(ctx, ann, first.ID, ""); !errors.As(err, &v) || v.Field != "resolution" {
			t.Errorf("blank resolution: got %v, want an error on resolution", err)
		}
		if _, err := store.ResolveFlag(ctx, ann, uuid.NewString(), "x"); !errors.Is(err, items.ErrNotFound) {
			t.Errorf("resolve an unknown flag: got %v, want ErrNotFound", err)
		}
		resolved, err := store.ResolveFlag(ctx, ann, first.ID, "Reworded option C in version 2.")
		if err != nil {
			t.Fatal(err)
		}
		if resolved.Open() || resolved.ResolvedBy != ann || resolved.Resolution != "Reworded option C in version 2." ||
			!resolved.ResolvedAt.Equal(storeClock) || resolved.Reason != first.Reason {
			t.Errorf("resolved flag: got %+v", resolved)
		}
		if _, err := store.ResolveFlag(ctx, pat, first.ID, "again"); !errors.Is(err, items.ErrFlagResolved) {
			t.Errorf("resolve twice: got %v, want ErrFlagResolved", err)
		}
		if got, err := store.GetFlag(ctx, first.ID); err != nil || got.Resolution != resolved.Resolution {
			t.Errorf("get resolved flag: %+v (err %v)", got, err)
		}

		list, err := store.Flags(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range list {
			ids = append(ids, f.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint([]string{second.ID, first.ID}) {
			t.Errorf("flags: got %v, want the open one then the resolved one", ids)
		}
		counts, err = store.OpenFlagCounts(ctx, []string{it.ID})
		if err != nil || counts[it.ID] != 1 {
			t.Errorf("open flags after a resolution: %v (err %v), want 1", counts, err)
		}

		records, err := audit.NewReader(db).List(ctx, "item:"+it.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		var trail []string
		for i := len(records) - 1; i >= 0; i-- {
			r := records[i]
			var after struct {
				Reason     string `json:"reason"`
				Resolution string `json:"resolution"`
			}
			_ = json.Unmarshal([]byte(r.After), &after)
			trail = append(trail, r.Action+" "+r.Actor+" "+after.Reason+after.Resolution)
		}
		want := []string{
			"item.create system ",
			"item.flag " + pat + " Option C is also defensible.",
			"item.flag " + pat + " p-value .12: probable miskey",
			"item.flag.resolve " + ann + " Reworded option C in version 2.",
		}
		if fmt.Sprint(trail) != fmt.Sprint(want) {
			t.Errorf("audit trail:\n got %q\nwant %q", trail, want)
		}
		if n, err := audit.Chain(context.Background(), db); err != nil || n == 0 && db.Dialector.Name() == "postgres" {
			t.Errorf("placing the entries: %d placed, %v", n, err)
		}
		if err := audit.Verify(db); err != nil {
			t.Errorf("audit chain: %v", err)
		}
	})
}
