package items

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Paging limits of List.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Filter selects items for List. Zero fields select everything; fields
// combine with AND. The field names in errors are the query parameters of
// the items API.
type Filter struct {
	ProgramID string
	Status    string // one of Statuses
	Domain    string // exact blueprint domain code
	Kind      Kind
	// AuthorID keeps items with at least one version written by this user.
	AuthorID string
	// Query keeps items whose working stem contains it, ignoring case
	// (ILIKE on PostgreSQL; LIKE, which ignores ASCII case, on SQLite).
	Query string
	// IDs, when not nil, keeps only these items (an exam's, say).
	IDs []string
	// Offset skips that many items; Limit is the page size, DefaultLimit
	// when 0, at most MaxLimit.
	Offset, Limit int
}

// Page is one page of List: the items at their working versions, newest
// change first, and how many items match in all.
type Page struct {
	Items  []Item
	Total  int
	Offset int
	Limit  int
}

func (f *Filter) validate() error {
	switch {
	case f.ProgramID != "" && !isUUID(f.ProgramID):
		return valid.Errorf("program", "is not a program id")
	case f.Status != "" && !slices.Contains(Statuses, f.Status):
		return valid.Errorf("status", "must be one of %s", strings.Join(Statuses, ", "))
	case f.Kind != "" && !f.Kind.Known():
		return valid.Errorf("kind", "is not an item kind")
	case f.AuthorID != "" && !isUUID(f.AuthorID):
		return valid.Errorf("author", "is not a user id")
	case f.Offset < 0:
		return valid.Errorf("offset", "must not be negative")
	case f.Limit < 0 || f.Limit > MaxLimit:
		return valid.Errorf("limit", "must be 1 to %d", MaxLimit)
	case len(f.Query) > 200:
		return valid.Errorf("q", "must be at most 200 bytes")
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	return nil
}

// List returns the page of items that f selects, at their working
// versions. A bad filter field is a *valid.Error naming it.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	if err := f.validate(); err != nil {
		return Page{}, err
	}
	page := Page{Offset: f.Offset, Limit: f.Limit, Items: []Item{}}
	q := s.db.WithContext(ctx).Model(&itemRow{})
	if f.ProgramID != "" {
		q = q.Where("items.program_id = ?", f.ProgramID)
	}
	if f.Status != "" {
		q = q.Where("items.status = ?", f.Status)
	}
	if f.Domain != "" {
		q = q.Where("items.domain = ?", f.Domain)
	}
	if f.Kind != "" {
		q = q.Where("items.kind = ?", string(f.Kind))
	}
	if f.IDs != nil {
		ids := slices.DeleteFunc(slices.Clone(f.IDs), func(id string) bool { return !isUUID(id) })
		if len(ids) == 0 {
			return page, nil
		}
		q = q.Where("items.id IN ?", ids)
	}
	if f.AuthorID != "" {
		q = q.Where("EXISTS (SELECT 1 FROM item_versions a WHERE a.item_id = items.id AND a.author_id = ?)", f.AuthorID)
	}
	if words := strings.TrimSpace(f.Query); words != "" {
		like := "LIKE"
		if s.db.Dialector.Name() == "postgres" {
			like = "ILIKE"
		}
		q = q.Where("EXISTS (SELECT 1 FROM item_versions w WHERE w.item_id = items.id AND w.version = items.current_version AND w.stem "+
			like+" ? ESCAPE '\\')", "%"+escapeLike(words)+"%")
	}
	var total int64
	if err := q.Session(&gorm.Session{}).Count(&total).Error; err != nil {
		return Page{}, fmt.Errorf("items: list: %w", err)
	}
	page.Total = int(total)
	var ids []string
	if err := q.Order("items.updated_at DESC, items.id").Offset(f.Offset).Limit(f.Limit).Pluck("items.id", &ids).Error; err != nil {
		return Page{}, fmt.Errorf("items: list: %w", err)
	}
	got, err := s.Working(ctx, ids)
	if err != nil {
		return Page{}, err
	}
	if got != nil {
		page.Items = got
	}
	return page, nil
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
