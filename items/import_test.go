package items_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

func TestImportAddsDraftsWithEnemiesAndParams(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		inBank, err := store.Create(ctx, "system", program, trueFalse())
		if err != nil {
			t.Fatal(err)
		}
		params := &items.Params{Model: "2PL", A: 1.1, B: 0.4, N: 800, CalibratedAt: storeClock}
		list := []items.Imported{
			{Key: "q1", Content: singleChoice(), Enemies: []string{"q2"}, Params: params},
			{Key: "q2", Content: matching(items.Partial)},
			{Key: "q3", Content: numeric(3.14, 0.005, false), Enemies: []string{inBank.ID}},
		}
		got, err := store.Import(ctx, "system", program, list)
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		for i, it := range got {
			stored, err := store.Get(ctx, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != items.StatusDraft || stored.Deliverable() {
				t.Errorf("item %d: status %s (deliverable %v), want a draft that is not delivered", i, stored.Status, stored.Deliverable())
			}
			if !reflect.DeepEqual(stored.Content, list[i].Content) {
				t.Errorf("item %d: content\n got %+v\nwant %+v", i, stored.Content, list[i].Content)
			}
		}
		if p, _ := store.Get(ctx, got[0].ID); p.Params == nil || *p.Params != *params {
			t.Errorf("params of item 0: got %+v, want %+v", p.Params, params)
		}
		enemies, err := store.Enemies(ctx, []string{got[0].ID, got[1].ID, got[2].ID, inBank.ID})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			got[0].ID: {got[1].ID}, got[1].ID: {got[0].ID},
			got[2].ID: {inBank.ID}, inBank.ID: {got[2].ID},
		}
		if !reflect.DeepEqual(enemies, want) {
			t.Errorf("enemies:\n got %v\nwant %v", enemies, want)
		}
	})
}

// One bad item anywhere, even after good ones were written, leaves the
// bank as it was.
func TestImportIsAllOrNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, program := newStore(t, db)
		bad := shortText(false)
		for _, tc := range []struct {
			name  string
			list  []items.Imported
			field string
		}{
			{"invalid content", []items.Imported{{Content: singleChoice()}, {Content: bad}}, "items[1].content.accepted"},
			{"unknown enemy", []items.Imported{{Key: "a", Content: singleChoice()}, {Key: "b", Content: trueFalse(), Enemies: []string{"zz"}}}, "items[1].enemies[0]"},
			{"self enemy", []items.Imported{{Key: "a", Content: singleChoice(), Enemies: []string{"a"}}}, "items[0].enemies[0]"},
			{"duplicate key", []items.Imported{{Key: "a", Content: singleChoice()}, {Key: "a", Content: trueFalse()}}, "items[1].key"},
			{"bad params", []items.Imported{{Content: singleChoice()}, {Content: trueFalse(), Params: &items.Params{Model: "2PL", A: -1}}}, "items[1].params.a"},
			{"empty", nil, "items"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := store.Import(ctx, "system", program, tc.list)
				var v *valid.Error
				if !errors.As(err, &v) || v.Field != tc.field {
					t.Fatalf("got %v, want a validation error on %s", err, tc.field)
				}
				page, err := store.List(ctx, items.Filter{ProgramID: program})
				if err != nil {
					t.Fatal(err)
				}
				if page.Total != 0 {
					t.Errorf("the bank holds %d items after a failed import, want 0", page.Total)
				}
			})
		}
	})
}
