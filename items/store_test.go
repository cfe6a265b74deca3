package items_test

import (
	"cmp"
	"context"
	"errors"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

var storeClock = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// newStore returns a Store on db and the id of a program to put items in.
func newStore(t *testing.T, db *gorm.DB) (*items.Store, string) {
	t.Helper()
	program := uuid.NewString()
	if err := db.Exec("INSERT INTO programs (id, slug, name, description, created_at) VALUES (?, ?, ?, '', ?)",
		program, "p-"+program[:8], "Program", storeClock).Error; err != nil {
		t.Fatalf("program: %v", err)
	}
	return items.NewStore(db, func() time.Time { return storeClock }), program
}

// Every kind keeps every field, key material included, in the version it
// was written to; a later edit leaves that version as it was.
func TestStoreKeepsEveryKind(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		names := make([]string, 0, len(allKinds()))
		for name := range allKinds() {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			want := allKinds()[name]
			created, err := store.Create(ctx, "system", program, want)
			if err != nil {
				t.Fatalf("%s: create: %v", name, err)
			}
			got, err := store.Get(ctx, created.ID)
			if err != nil {
				t.Fatalf("%s: get: %v", name, err)
			}
			if !reflect.DeepEqual(got.Content, want) {
				t.Errorf("%s: stored content\n got %+v\nwant %+v", name, got.Content, want)
			}
			edited := want
			edited.Stem += " (edited)"
			if _, err := store.Update(ctx, "system", created.ID, edited); err != nil {
				t.Fatalf("%s: update: %v", name, err)
			}
			old, err := store.Versions(ctx, []string{created.VersionID})
			if err != nil {
				t.Fatalf("%s: versions: %v", name, err)
			}
			if !reflect.DeepEqual(old[created.VersionID].Content, want) {
				t.Errorf("%s: version 1 changed after an edit: got %+v", name, old[created.VersionID].Content)
			}
		}
	})
}

func TestStoreRefusesInvalidContent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		store, program := newStore(t, db)
		bad := numeric(3.14, 0.005, false)
		bad.Numeric = nil
		_, err := store.Create(context.Background(), "system", program, bad)
		var v *valid.Error
		if !errors.As(err, &v) {
			t.Fatalf("got %v, want a validation error", err)
		}
	})
}

func TestStoreParamsAndExposures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		it, err := store.Create(ctx, "system", program, singleChoice())
		if err != nil {
			t.Fatal(err)
		}
		if it.Params != nil {
			t.Fatalf("a new item has params %+v, want none", it.Params)
		}
		want := items.Params{Model: "3PL", A: 1.25, B: -0.5, C: 0.2, N: 1200, CalibratedAt: storeClock.Add(-time.Hour)}
		if err := store.SetParams(ctx, "system", it.ID, want); err != nil {
			t.Fatalf("set params: %v", err)
		}
		for range 3 {
			if err := store.AddExposures(ctx, []string{it.ID}); err != nil {
				t.Fatalf("exposures: %v", err)
			}
		}
		got, err := store.Get(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Params == nil || *got.Params != want {
			t.Errorf("params: got %+v, want %+v", got.Params, want)
		}
		if got.Exposures != 3 {
			t.Errorf("exposures: got %d, want 3", got.Exposures)
		}
		for _, tc := range []struct {
			field string
			p     items.Params
		}{
			{"model", items.Params{Model: "4PL", A: 1}},
			{"a", items.Params{Model: "2PL", A: 0}},
			{"c", items.Params{Model: "3PL", A: 1, C: 1}},
		} {
			var v *valid.Error
			if err := store.SetParams(ctx, "system", it.ID, tc.p); !errors.As(err, &v) || v.Field != tc.field {
				t.Errorf("params %+v: got %v, want an error on %s", tc.p, err, tc.field)
			}
		}
		if err := store.SetParams(ctx, "system", uuid.NewString(), want); !errors.Is(err, items.ErrNotFound) {
			t.Errorf("unknown item: got %v, want ErrNotFound", err)
		}
	})
}

func TestStoreEnemies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		var ids []string
		for range 4 {
			it, err := store.Create(ctx, "system", program, singleChoice())
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, it.ID)
		}
		if err := store.SetEnemies(ctx, "system", ids[0], []string{ids[1], ids[2]}); err != nil {
			t.Fatalf("set enemies: %v", err)
		}
		if err := store.SetEnemies(ctx, "system", ids[3], []string{ids[1]}); err != nil {
			t.Fatalf("set enemies: %v", err)
		}
		got, err := store.Enemies(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			ids[0]: sorted(ids[1], ids[2]),
			ids[1]: sorted(ids[0], ids[3]),
			ids[2]: {ids[0]},
			ids[3]: {ids[1]},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("enemies:\n got %v\nwant %v", got, want)
		}
		// Replacing a list drops the pairs no longer named, from both sides.
		if err := store.SetEnemies(ctx, "system", ids[0], []string{ids[2]}); err != nil {
			t.Fatal(err)
		}
		got, err = store.Enemies(ctx, []string{ids[1]})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[ids[1]], []string{ids[3]}) {
			t.Errorf("enemies of item 2 after the change: got %v, want [%s]", got[ids[1]], ids[3])
		}
		var v *valid.Error
		if err := store.SetEnemies(ctx, "system", ids[0], []string{ids[0]}); !errors.As(err, &v) || v.Field != "enemies[0]" {
			t.Errorf("self enemy: got %v, want an error on enemies[0]", err)
		}
		if err := store.SetEnemies(ctx, "system", ids[0], []string{uuid.NewString()}); !errors.Is(err, items.ErrNotFound) {
			t.Errorf("unknown enemy: got %v, want ErrNotFound", err)
		}
	})
}

func sorted(s ...string) []string { sort.Strings(s); return s }

// TestCurrentParams: the parameters of the published, calibrated items
// among those asked for, exactly as Current gives them.
func TestCurrentParams(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		var ids []string
		add := func(draft bool, p *items.Params) {
			t.Helper()
			create := store.Create
			if draft {
				create = store.Draft
			}
			it, err := create(ctx, "system", program, singleChoice())
			if err != nil {
				t.Fatal(err)
			}
			if p != nil {
				if err := store.SetParams(ctx, "system", it.ID, *p); err != nil {
					t.Fatal(err)
				}
			}
			ids = append(ids, it.ID)
		}
		add(false, &items.Params{Model: "3PL", A: 1.25, B: -0.5, C: 0.2, N: 1200, CalibratedAt: storeClock.Add(-time.Hour)})
		add(false, nil)
		add(true, &items.Params{Model: "2PL", A: 0.8, B: 1.5, N: 300, CalibratedAt: storeClock.Add(-time.Hour)})
		add(false, &items.Params{Model: "Rasch", A: 1, B: 0.3, N: 500, CalibratedAt: storeClock.Add(-2 * time.Hour)})
		got, err := store.CurrentParams(ctx, append(slices.Clone(ids), "not-an-id", uuid.NewString()))
		if err != nil {
			t.Fatal(err)
		}
		current, err := store.Current(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		var want []items.Params
		for _, it := range current {
			if it.Params != nil {
				want = append(want, *it.Params)
			}
		}
		sortParams := func(ps []items.Params) {
			slices.SortFunc(ps, func(a, b items.Params) int { return cmp.Compare(a.B, b.B) })
		}
		sortParams(got)
		sortParams(want)
		if len(want) != 2 || !slices.Equal(got, want) {
			t.Errorf("got %+v, want %+v (the two published, calibrated items)", got, want)
		}
	})
}
