package items

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// MaxImport is the most items one Import takes.
const MaxImport = 5000

// Imported is one item of an import (a QTI package, a CSV bank).
type Imported struct {
	// Key identifies the item within the import, so that Enemies can name
	// it; a QTI identifier, a CSV identifier, or empty.
	Key     string
	Content Content
	// Enemies are the Keys of other items of the same import, or the ids
	// of items already in the bank.
	Enemies []string
	// Params are the item's IRT parameters, when the package carries them.
	Params *Params
}

// Import adds list to the program as drafts written by actor, with their
// enemies and parameters, in one transaction: an error anywhere leaves the
// bank as it was. Imported items reach candidates only after review, like
// any draft. Errors name the item by its position ("items[3].enemies").
func (s *Store) Import(ctx context.Context, actor, programID string, list []Imported) ([]Item, error) {
	switch {
	case len(list) == 0:
		return nil, valid.Errorf("items", "the import holds no item")
	case len(list) > MaxImport:
		return nil, valid.Errorf("items", "the import holds %d items; the limit is %d", len(list), MaxImport)
	}
	byKey := map[string]int{}
	for i, im := range list {
		if err := im.Content.Validate(); err != nil {
			return nil, prefixed(fmt.Sprintf("items[%d].content", i), err)
		}
		if im.Params != nil {
			if err := im.Params.validate(); err != nil {
				return nil, prefixed(fmt.Sprintf("items[%d].params", i), err)
			}
		}
		if im.Key == "" {
			continue
		}
		if _, dup := byKey[im.Key]; dup {
			return nil, valid.Errorf(fmt.Sprintf("items[%d].key", i), "%q names two items of the import", im.Key)
		}
		byKey[im.Key] = i
	}
	out := make([]Item, len(list))
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		store := s.In(tx)
		for i, im := range list {
			it, err := store.create(ctx, actor, programID, im.Content, StatusDraft)
			if err != nil {
				return prefixed(fmt.Sprintf("items[%d]", i), err)
			}
			out[i] = it
		}
		// Enemy pairs are symmetric: gather every pair first, so that
		// setting one item's list does not drop a pair another item named.
		pairs := make([]map[string]bool, len(list))
		for i := range pairs {
			pairs[i] = map[string]bool{}
		}
		for i, im := range list {
			for j, e := range im.Enemies {
				if k, ok := byKey[e]; ok {
					if k == i {
						return valid.Errorf(fmt.Sprintf("items[%d].enemies[%d]", i, j), "an item cannot be its own enemy")
					}
					pairs[i][out[k].ID] = true
					pairs[k][out[i].ID] = true
					continue
				}
				if !isUUID(e) {
					return valid.Errorf(fmt.Sprintf("items[%d].enemies[%d]", i, j), "%q names no item of the import", e)
				}
				pairs[i][e] = true
			}
		}
		for i, set := range pairs {
			if len(set) == 0 {
				continue
			}
			enemies := make([]string, 0, len(set))
			for id := range set {
				enemies = append(enemies, id)
			}
			if err := store.SetEnemies(ctx, actor, out[i].ID, enemies); err != nil {
				return prefixed(fmt.Sprintf("items[%d].enemies", i), err)
			}
		}
		for i, im := range list {
			if im.Params == nil {
				continue
			}
			if err := store.SetParams(ctx, actor, out[i].ID, *im.Params); err != nil {
				return prefixed(fmt.Sprintf("items[%d].params", i), err)
			}
			p := *im.Params
			out[i].Params = &p
		}
		ids := make([]string, len(out))
		for i, it := range out {
			ids[i] = it.ID
		}
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "item.import", Subject: "program:" + programID,
			After: map[string]any{"items": ids}, At: s.now().UTC()})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// prefixed puts prefix before the field a validation error names, so that
// an import's error says which item is at fault; other errors are wrapped.
func prefixed(prefix string, err error) error {
	var v *valid.Error
	if errors.As(err, &v) {
		field := prefix
		if v.Field != "" {
			field += "." + v.Field
		}
		return valid.Errorf(field, "%s", v.Message)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}
