package migrations_test

import (
	"sync"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/assess/proctor"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web/auth"
)

func allModels() []any {
	var out []any
	for _, ms := range [][]any{auth.Models(), items.Models(), assess.Models(), proctor.Models(), credential.Models(), {audit.Record{}}} {
		out = append(out, ms...)
	}
	return out
}

// TestModelsMatchTables checks every GORM model against the migrated schema
// of each dialect: each field has a column, and each column that must be
// written (NOT NULL without a default) has a field.
func TestModelsMatchTables(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		for _, m := range allModels() {
			s, err := schema.Parse(m, &sync.Map{}, db.NamingStrategy)
			if err != nil {
				t.Fatalf("parse %T: %v", m, err)
			}
			if !db.Migrator().HasTable(s.Table) {
				t.Errorf("%T: no table %s", m, s.Table)
				continue
			}
			cols, err := db.Migrator().ColumnTypes(s.Table)
			if err != nil {
				t.Fatalf("columns of %s: %v", s.Table, err)
			}
			byName := map[string]gorm.ColumnType{}
			for _, c := range cols {
				byName[c.Name()] = c
			}
			fields := map[string]bool{}
			for _, f := range s.Fields {
				if f.DBName == "" {
					continue
				}
				fields[f.DBName] = true
				if _, ok := byName[f.DBName]; !ok {
					t.Errorf("%T.%s: table %s has no column %s", m, f.Name, s.Table, f.DBName)
				}
			}
			for name, c := range byName {
				nullable, _ := c.Nullable()
				_, hasDefault := c.DefaultValue()
				pk, _ := c.PrimaryKey()
				if !fields[name] && !nullable && !hasDefault && !pk {
					t.Errorf("%s.%s is NOT NULL without a default but %T has no field for it", s.Table, name, m)
				}
			}
		}
	})
}
