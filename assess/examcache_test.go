package assess_test

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// countStatements counts the statements made through db from now on.
func countStatements(t *testing.T, db *gorm.DB) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	count := func(*gorm.DB) { n.Add(1) }
	dbtest.OnStatements(t, db, count)
	return &n
}

// TestExamRemembersItsPartsUntilTheyChange: a server reads an exam's
// parts (blueprint, pool, prerequisites, forms) once, and again whenever
// any of them changed, through this server, another one or plain SQL.
func TestExamRemembersItsPartsUntilTheyChange(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		other := assess.NewService(db, f.bank, f.clock.Now) // another instance
		id := f.exam.ID
		exam := func(svc *assess.Service) assess.Exam {
			t.Helper()
			e, err := svc.Exam(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		reads := countStatements(t, db)

		want := exam(f.svc)
		before := reads.Load()
		got := exam(f.svc)
		if n := reads.Load() - before; n != 1 {
			t.Errorf("a second read of the exam made %d statements, want 1 (the row and its revision)", n)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("remembered exam %+v, want %+v", got, want)
		}
		// What a caller does to its copy stays its own.
		got.ItemIDs[0], got.Domains[0].Name = "changed", "Changed"
		if again := exam(f.svc); !reflect.DeepEqual(again, want) {
			t.Fatalf("after a caller changed its copy: %+v, want %+v", again, want)
		}

		// A change through another instance.
		achievement := uuid.NewString()
		if _, err := other.SetPolicy(ctx, "pm", id, assess.Policy{Prerequisites: []string{achievement}}); err != nil {
			t.Fatal(err)
		}
		if got := exam(f.svc).Policy.Prerequisites; len(got) != 1 || got[0] != achievement {
			t.Errorf("prerequisites after another instance set them: %v, want [%s]", got, achievement)
		}

		// Changes in plain SQL, to each part.
		change := func(what, sql string, args ...any) {
			t.Helper()
			if err := db.Exec(sql, args...).Error; err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		change("rename a domain", "UPDATE exam_domains SET name = 'Renamed' WHERE exam_id = ? AND code = 'D1'", id)
		if got := exam(f.svc).Domains[0].Name; got != "Renamed" {
			t.Errorf("domain after a rename: %q, want Renamed", got)
		}
		dropped := want.ItemIDs[5]
		change("drop an item from the pool", "DELETE FROM exam_items WHERE exam_id = ? AND item_id = ?", id, dropped)
		if got := exam(f.svc).ItemIDs; len(got) != 5 || reflect.DeepEqual(got[len(got)-1], dropped) {
			t.Errorf("pool after dropping %s: %v", dropped, got)
		}
		form := uuid.NewString()
		change("add a form", "INSERT INTO exam_forms (id, exam_id, name, position, created_at) VALUES (?, ?, 'A', 0, ?)", form, id, f.clock.Now())
		change("add its section", "INSERT INTO exam_form_sections (form_id, position, title) VALUES (?, 0, 'Part 1')", form)
		change("add its item", "INSERT INTO exam_form_items (form_id, position, item_id, section) VALUES (?, 0, ?, 0)", form, want.ItemIDs[0])
		if got := exam(f.svc).Forms; len(got) != 1 || got[0].Name != "A" || len(got[0].Sections) != 1 ||
			!reflect.DeepEqual(got[0].Sections[0].Items, []assess.FormItem{{ItemID: want.ItemIDs[0]}}) {
			t.Errorf("forms after adding one: %+v", got)
		}
		change("mark the form's item pretest", "UPDATE exam_form_items SET pretest = ? WHERE form_id = ?", true, form)
		if got := exam(f.svc).Forms[0].Sections[0].Items[0]; !got.Pretest {
			t.Errorf("form item after marking it pretest: %+v", got)
		}
		change("retitle the section", "UPDATE exam_form_sections SET title = 'Part one' WHERE form_id = ?", form)
		if got := exam(f.svc).Forms[0].Sections[0].Title; got != "Part one" {
			t.Errorf("section title: %q, want Part one", got)
		}
		change("delete the form", "DELETE FROM exam_forms WHERE id = ?", form)
		if got := exam(f.svc).Forms; len(got) != 0 {
			t.Errorf("forms after deleting the only one: %+v", got)
		}

		// The list of exams reads the same way, and agrees.
		list, err := f.svc.Exams(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || !reflect.DeepEqual(list[0], exam(other)) {
			t.Errorf("Exams = %+v, want the one exam as another instance reads it", list)
		}
	})
}
