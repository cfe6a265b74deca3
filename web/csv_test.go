package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// Text that authors and candidates write reaches the CSV exports; a
// spreadsheet opening them must show it, not run it, while the statistics
// stay numbers.
func TestCSVExportsShowFormulasAsText(t *testing.T) {
	const domain, name = "=cmd|' /C calc'!A0", "@SUM(1)"
	f := webtest.New(t, dbtest.SQLite(t))
	ctx := context.Background()
	opts := []items.Option{{ID: "right", Text: "Right"}, {ID: "wrong", Text: "Wrong"}}
	formula, err := f.Bank.Create(ctx, f.Users.Author.ID, f.Program.ID, items.Content{Domain: domain,
		Stem: "Which is right?", Options: opts, Key: "right"})
	if err != nil {
		t.Fatal(err)
	}
	exam, err := f.Assess.CreateExam(ctx, assess.Exam{ProgramID: f.Program.ID, Slug: "formulas", Title: "Formulas",
		Duration: 30 * time.Minute, Domains: f.Exam.Domains, ItemIDs: append(slices.Clone(f.Exam.ItemIDs), formula.ID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{assess.StaffProctor, assess.StaffReviewer} {
		if err := f.Assess.AssignStaff(ctx, f.Users.Admin.ID, exam.ID, f.Users.Proctor.ID, role); err != nil {
			t.Fatal(err)
		}
	}
	// Candidate i answers the first i%7 fixture items right; only the
	// weakest half answer the formula item right, so that its
	// discrimination is negative.
	var past []assess.PastAttempt
	for i := range 20 {
		candidateName := fmt.Sprintf("Candidate %02d", i)
		if i == 0 {
			candidateName = name
		}
		u := f.NewUser(t, "", candidateName, auth.Candidate)
		answers := map[string]string{formula.ID: "wrong"}
		if i%7 < 3 {
			answers[formula.ID] = "right"
		}
		for j, it := range f.Items {
			answers[it.ID] = f.Wrong[it.ID]
			if j < i%7 {
				answers[it.ID] = f.Keys[it.ID]
			}
		}
		start := webtest.Start.Add(-time.Duration(i+1) * time.Hour)
		past = append(past, assess.PastAttempt{CandidateID: u.ID, StartedAt: start, SubmittedAt: start.Add(20 * time.Minute), Answers: answers})
	}
	if err := f.Assess.RecordHistory(ctx, exam.ID, past, false); err != nil {
		t.Fatal(err)
	}
	download := func(user webtest.User, path string) [][]string {
		t.Helper()
		r := f.Do(t, webtest.WithCookie(webtest.NewRequest(http.MethodGet, path, nil), f.Session(t, user), false))
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, r.StatusCode, r.Body)
		}
		rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return rows
	}

	itemRows := download(f.Users.Psychometrician, "/psychometrics/exams/"+exam.ID+"/items.csv")
	col := func(header []string, name string) int {
		t.Helper()
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("no column %q in %q", name, header)
		}
		return i
	}
	row := slices.IndexFunc(itemRows, func(r []string) bool { return r[col(itemRows[0], "item")] == formula.ID })
	if row < 0 {
		t.Fatalf("items.csv lacks the formula item: %q", itemRows)
	}
	if got, want := itemRows[row][col(itemRows[0], "domain")], "'"+domain; got != want {
		t.Errorf("items.csv: domain %q, want %q", got, want)
	}
	pbis := itemRows[row][col(itemRows[0], "point_biserial")]
	if _, err := strconv.ParseFloat(pbis, 64); err != nil || !strings.HasPrefix(pbis, "-") {
		t.Errorf("items.csv: point-biserial %q, want a negative number as it is", pbis)
	}

	forensics := download(f.Users.Proctor, "/proctor/exams/"+exam.ID+"/forensics.csv")
	candidate := col(forensics[0], "candidate")
	if !slices.ContainsFunc(forensics[1:], func(r []string) bool { return r[candidate] == "'"+name }) {
		t.Errorf("forensics.csv: no candidate %q, want the name quoted", "'"+name)
	}
}
