package items_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// Until item_versions holds every kind's key, the store must refuse other
// kinds rather than save them without their keys.
func TestStoreRefusesKindsItCannotKeep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		store := items.NewStore(db, func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) })
		numeric := items.Content{Kind: items.Numeric, Domain: "D", Stem: "2 + 2?", Numeric: &items.NumericKey{Value: 4}}
		if err := numeric.Validate(); err != nil {
			t.Fatalf("the numeric item itself is valid: %v", err)
		}
		_, err := store.Create(context.Background(), "system", "00000000-0000-0000-0000-000000000000", numeric)
		var v *valid.Error
		if !errors.As(err, &v) || v.Field != "kind" {
			t.Fatalf("got %v, want a validation error on kind", err)
		}
	})
}
