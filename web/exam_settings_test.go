package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestExamSettingsPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	path := "/manage/exams/" + f.exam.ID
	for _, who := range []string{"", "candidate", "author", "proctor", "psychometrician"} {
		r := f.as(who).get(path)
		if r.Status == http.StatusOK {
			t.Errorf("%q may open the exam's delivery settings, want refused", who)
		}
	}
	admin := f.as("admin").get(path)
	wantCode(t, "admin views", admin, http.StatusOK)
	if strings.Contains(admin.Body, `id="policy-form"`) || strings.Contains(admin.Body, `id="grant-form"`) {
		t.Error("an admin sees the policy and grant forms, want a read-only page (program managers decide)")
	}
	if r := f.as("admin").post(path+"/policy", url.Values{"max_attempts": {"2"}}); r.Status != http.StatusForbidden {
		t.Errorf("admin sets the policy: status %d, want 403", r.Status)
	}

	manager := f.as("manager")
	r := manager.get(path)
	wantCode(t, "manager views", r, http.StatusOK)
	for _, want := range []string{`id="policy-form"`, `id="grant-form"`, "Fixed form", "Delivery &amp; policy"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("manager's page lacks %q", want)
		}
	}

	r = manager.post(path+"/policy", url.Values{"max_attempts": {"3"}, "retake_wait_hours": {"48"},
		"opens_at": {"2026-01-05T09:00"}, "closes_at": {"2026-12-20T17:00"}, "different_form_on_retake": {"1"}})
	wantCode(t, "save the policy", r, http.StatusSeeOther)
	exam, err := f.assess.Exam(context.Background(), f.exam.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := exam.Policy
	if p.MaxAttempts != 3 || p.RetakeWait != 48*time.Hour || !p.DifferentFormOnRetake ||
		p.OpensAt == nil || !p.OpensAt.Equal(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)) ||
		p.ClosesAt == nil || !p.ClosesAt.Equal(time.Date(2026, 12, 20, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("saved policy: got %+v", p)
	}
	r = manager.post(path+"/policy", url.Values{"opens_at": {"2026-12-20T17:00"}, "closes_at": {"2026-01-05T09:00"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "closes_at") {
		t.Errorf("a window that closes before it opens: got %d, want 422 naming closes_at", r.Status)
	}
	if exam, _ := f.assess.Exam(context.Background(), f.exam.ID); exam.Policy.MaxAttempts != 3 {
		t.Errorf("a refused change altered the policy: %+v", exam.Policy)
	}

	candidate := f.users["candidate"]
	r = manager.post(path+"/accommodations", url.Values{"email": {candidate.Email}, "time_multiplier": {"1.5"},
		"extra_break_minutes": {"10"}, "note": {"Request 114"}})
	wantCode(t, "grant", r, http.StatusSeeOther)
	a, err := f.assess.Accommodation(context.Background(), f.exam.ID, candidate.ID)
	if err != nil {
		t.Fatalf("the granted accommodation: %v", err)
	}
	if a.TimeMultiplier != 1.5 || a.ExtraBreak != 10*time.Minute || a.Note != "Request 114" {
		t.Errorf("granted: got %+v", a)
	}
	page := manager.get(path).Body
	if !strings.Contains(page, candidate.Name) || !strings.Contains(page, "Request 114") {
		t.Error("the page does not list the granted accommodation")
	}
	for _, tc := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"email": {f.users["author"].Email}, "time_multiplier": {"1.5"}}, "email"},
		{url.Values{"email": {candidate.Email}, "time_multiplier": {"9"}}, "time_multiplier"},
		{url.Values{"email": {candidate.Email}, "time_multiplier": {"1"}, "extra_break_minutes": {"2.5"}}, "extra_break_minutes"},
	} {
		r := manager.post(path+"/accommodations", tc.form)
		if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="`+tc.field+`" name="`+tc.field+`"`) || !strings.Contains(r.Body, "<strong>"+tc.field+"</strong>") {
			t.Errorf("grant %v: got %d, want 422 naming %s", tc.form, r.Status, tc.field)
		}
	}
	wantCode(t, "remove", manager.post(path+"/accommodations/"+candidate.ID+"/remove", nil), http.StatusSeeOther)
	if _, err := f.assess.Accommodation(context.Background(), f.exam.ID, candidate.ID); err == nil {
		t.Error("the accommodation is still there after removal")
	}
}

// The item's page shows its latest classical statistics from the exams
// that deliver it.
func TestItemPageShowsStatistics(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	r := f.as("author").get("/authoring/items/" + f.items[0].ID)
	wantCode(t, "item page", r, http.StatusOK)
	st, err := f.assess.Statistics(context.Background(), f.exam.ID)
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, is := range st.Items {
		if is.Item.ID == f.items[0].ID {
			want = fmt.Sprintf("%s:</span> p %.2f", f.exam.Title, is.Mean)
		}
	}
	if want == "" || !strings.Contains(r.Body, want) {
		t.Errorf("the item page lacks %q", want)
	}
}

func TestNewExamPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	if r := f.as("author").get("/manage/exams/new"); r.Status != http.StatusForbidden {
		t.Errorf("an author opens the new-exam page: status %d, want 403", r.Status)
	}
	manager := f.as("manager")
	newPage := manager.get("/manage/exams/new")
	wantCode(t, "new exam page", newPage, http.StatusOK)
	wantContains(t, "new exam page", newPage, `name="achievement_id"`, f.exam.AchievementID, "Spreadsheet Formulas (Badge)")
	var lines []string
	for _, d := range f.exam.Domains {
		lines = append(lines, d.Code+" | "+d.Name+" | 1 |")
	}
	form := url.Values{"program_id": {f.exam.ProgramID}, "title": {"Formulas on the fly"}, "slug": {"formulas-loft"},
		"duration_minutes": {"20"}, "mode": {"loft"}, "domains": {strings.Join(lines, "\n")}, "loft.max_exposure": {"0.5"},
		"scale.basis": {"raw"}, "scale.name": {"Points scale"}, "scale.slope": {"10"}, "scale.intercept": {"100"},
		"scale.min": {"100"}, "scale.max": {"200"}, "scale.step": {"1"}, "achievement_id": {"00000000-0000-4000-8000-000000000000"}}
	if r := manager.post("/manage/exams", form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "is not an achievement") {
		t.Errorf("an unknown achievement: status %d, want 422 naming it", r.Status)
	}
	form.Set("achievement_id", f.exam.AchievementID)
	r := manager.post("/manage/exams", form)
	wantCode(t, "create", r, http.StatusSeeOther)
	id, ok := strings.CutPrefix(r.Location, "/manage/exams/")
	if !ok {
		t.Fatalf("created: redirected to %q, want the exam's settings page", r.Location)
	}
	id, _, _ = strings.Cut(id, "?")
	exam, err := f.assess.Exam(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if exam.Mode != "loft" || len(exam.ItemIDs) != len(f.exam.ItemIDs) || exam.LOFT.MaxExposure != 0.5 ||
		exam.Scale.Basis != "raw" || exam.Duration != 20*time.Minute || exam.Domains[0].Count != 1 || exam.AchievementID != f.exam.AchievementID {
		t.Errorf("defined exam: %+v", exam)
	}
	wantContains(t, "settings after creation", manager.get(r.Location), "The exam is defined", "Linear on the fly")

	form.Set("slug", "formulas-bad")
	form.Set("domains", "ONLY-CODE")
	if r := manager.post("/manage/exams", form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "line 1") {
		t.Errorf("a blueprint line without a name: status %d, want 422 naming line 1", r.Status)
	}
	form.Set("domains", "NOPE | Not in the bank | 1 |")
	if r := manager.post("/manage/exams", form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "no approved item") {
		t.Errorf("domains without items: status %d, want 422 saying there is no item", r.Status)
	}
}
