package web_test

import (
	"bytes"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

type apiStudy struct {
	ID            string `json:"id"`
	Method        string `json:"method"`
	CurrentRound  int    `json:"current_round"`
	ReleasedRound int    `json:"released_round"`
	Status        string `json:"status"`
	Panelists     []struct {
		ID             string `json:"id"`
		Name           string `json:"name"`
		Qualification  string `json:"qualification"`
		SubmittedRound int    `json:"submitted_round"`
	} `json:"panelists"`
}

// TestStudyThroughTheAPI runs a study through the API with its roles: only
// program managers create and facilitate, only the study's own panelists
// judge, analysts read the recommendation and the report, and adoption
// makes a new standard version.
func TestStudyThroughTheAPI(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		p1 := f.NewUser(t, "", "Ada Panel", auth.Panelist)
		p2 := f.NewUser(t, "", "Bo Panel", auth.Panelist)
		outsider := f.NewUser(t, "", "Cy Elsewhere", auth.Panelist)
		pm, psy := f.Token(t, f.Users.Manager), f.Token(t, f.Users.Psychometrician)
		body := map[string]any{"title": "Cut score study", "mcc": "Knows the basics.",
			"panelists": []map[string]string{{"user_id": p1.ID}, {"user_id": p2.ID}}}

		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/exams/"+f.Exam.ID+"/studies", psy, body)), http.StatusForbidden)
		bad := apiCall(t, f, apiReq("POST", "/api/v1/exams/"+f.Exam.ID+"/studies", pm, map[string]any{"title": "x",
			"panelists": []map[string]string{{"user_id": f.Users.Candidate.ID}}}))
		wantAPIStatus(t, bad, http.StatusUnprocessableEntity)
		if !strings.Contains(string(bad.Body), "panelists[0].user_id") {
			t.Fatalf("a candidate on the panel: %s, want the field named", bad.Body)
		}
		resp := apiCall(t, f, apiReq("POST", "/api/v1/exams/"+f.Exam.ID+"/studies", pm, body))
		wantAPIStatus(t, resp, http.StatusCreated)
		var st apiStudy
		resp.JSON(t, &st)
		if st.Method != "modified-Angoff" || st.CurrentRound != 1 || len(st.Panelists) != 2 {
			t.Fatalf("study = %+v", st)
		}

		rate := func(u webtest.User, value float64) {
			t.Helper()
			token := f.Token(t, u)
			for _, it := range f.Items {
				wantAPIStatus(t, apiCall(t, f, apiReq("PUT", "/api/v1/studies/"+st.ID+"/ratings/"+it.ID, token, map[string]any{"value": value})), http.StatusOK)
			}
		}
		item := "/api/v1/studies/" + st.ID + "/ratings/" + f.Items[0].ID
		wantAPIStatus(t, apiCall(t, f, apiReq("PUT", item, f.Token(t, f.Users.Candidate), map[string]any{"value": 0.5})), http.StatusForbidden)
		wantAPIStatus(t, apiCall(t, f, apiReq("PUT", item, f.Token(t, outsider), map[string]any{"value": 0.5})), http.StatusNotFound)
		tooBig := apiCall(t, f, apiReq("PUT", item, f.Token(t, p1), map[string]any{"value": 1.5}))
		wantAPIStatus(t, tooBig, http.StatusUnprocessableEntity)
		if !strings.Contains(string(tooBig.Body), `"value"`) {
			t.Fatalf("rating 1.5: %s, want the field named", tooBig.Body)
		}
		rate(p1, 0.5)
		rate(p2, 0.7)
		resp = apiCall(t, f, apiReq("POST", "/api/v1/studies/"+st.ID+"/submit", f.Token(t, p1), nil))
		wantAPIStatus(t, resp, http.StatusOK)
		wantAPIStatus(t, apiCall(t, f, apiReq("PUT", item, f.Token(t, p1), map[string]any{"value": 0.9})), http.StatusConflict)

		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/studies/"+st.ID+"/rounds", pm, nil)), http.StatusConflict)
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/studies/"+st.ID+"/release", psy, nil)), http.StatusForbidden)
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/studies/"+st.ID+"/release", pm, nil)), http.StatusOK)
		resp = apiCall(t, f, apiReq("POST", "/api/v1/studies/"+st.ID+"/rounds", pm, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &st)
		if st.CurrentRound != 2 || st.ReleasedRound != 1 {
			t.Fatalf("after opening round 2: %+v", st)
		}

		// Round 2 starts from round 1: panel cuts 3.0 and 4.2 on six items.
		var rec struct {
			Cut     *float64              `json:"cut"`
			Rounds  []struct{ Round int } `json:"rounds"`
			Methods []struct {
				Method    string `json:"method"`
				Available bool   `json:"available"`
			} `json:"methods"`
		}
		resp = apiCall(t, f, apiReq("GET", "/api/v1/studies/"+st.ID+"/recommendation", psy, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &rec)
		if rec.Cut == nil || math.Abs(*rec.Cut-3.6) > 1e-9 || len(rec.Rounds) != 2 || len(rec.Methods) < 3 {
			t.Fatalf("recommendation = %+v", rec)
		}

		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/studies/"+st.ID+"/adopt", pm, map[string]any{"cut": 4})), http.StatusUnprocessableEntity)
		resp = apiCall(t, f, apiReq("POST", "/api/v1/studies/"+st.ID+"/adopt", pm, map[string]any{"cut": 4, "reason": "Rounded up to whole points."}))
		wantAPIStatus(t, resp, http.StatusOK)
		var std struct {
			Version        int      `json:"version"`
			Status         string   `json:"status"`
			RecommendedCut *float64 `json:"recommended_cut"`
			AdoptionReason string   `json:"adoption_reason"`
		}
		resp.JSON(t, &std)
		if std.Version != 2 || std.Status != "approved" || std.RecommendedCut == nil || math.Abs(*std.RecommendedCut-3.6) > 1e-9 || std.AdoptionReason == "" {
			t.Fatalf("adopted = %+v", std)
		}

		// The report, as a page and a PDF, for analysts only.
		page := f.Do(t, webtest.WithBearer(webtest.NewRequest("GET", "/studies/"+st.ID+"/report", nil), psy))
		if page.StatusCode != http.StatusOK || !bytes.Contains(page.Body, []byte("Adopted as version 2")) || !bytes.Contains(page.Body, []byte("Rounded up to whole points.")) {
			t.Fatalf("report page %d: %.400s", page.StatusCode, page.Body)
		}
		pdf := f.Do(t, webtest.WithBearer(webtest.NewRequest("GET", "/studies/"+st.ID+"/report.pdf", nil), psy))
		if pdf.StatusCode != http.StatusOK || pdf.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf.Body, []byte("%PDF-")) {
			t.Fatalf("report PDF: %d %s %.20q", pdf.StatusCode, pdf.Header.Get("Content-Type"), pdf.Body)
		}
		if r := f.Do(t, webtest.WithBearer(webtest.NewRequest("GET", "/studies/"+st.ID+"/report.pdf", nil), f.Token(t, p1))); r.StatusCode != http.StatusForbidden {
			t.Fatalf("a panelist reads the report: %d, want 403", r.StatusCode)
		}
	})
}

// TestPanelistPages: a panelist sees only their own studies, saves a round
// through the page's form (the way without scripts) and submits it; a
// form with a bad number keeps what was saved and names the field.
func TestPanelistPages(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		p1 := f.NewUser(t, "", "Ada Panel", auth.Panelist)
		outsider := f.NewUser(t, "", "Cy Elsewhere", auth.Panelist)
		resp := apiCall(t, f, apiReq("POST", "/api/v1/exams/"+f.Exam.ID+"/studies", f.Token(t, f.Users.Manager), map[string]any{
			"title": "Yes/No study", "method": "yes-no-Angoff", "panelists": []map[string]string{{"user_id": p1.ID}}}))
		wantAPIStatus(t, resp, http.StatusCreated)
		var st apiStudy
		resp.JSON(t, &st)

		// The manager's form: a study needs a panel; each panelist's
		// qualification is kept.
		mgr := f.Session(t, f.Users.Manager)
		postStudy := func(form url.Values) *webtest.Response {
			req := webtest.NewRequest("POST", "/standards/exams/"+f.Exam.ID+"/studies", form.Encode())
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return f.Do(t, webtest.WithCookie(req, mgr, true))
		}
		if r := postStudy(url.Values{"title": {"No panel"}, "method": {"modified-Angoff"}, "planned_rounds": {"2"}}); r.StatusCode != http.StatusUnprocessableEntity || !bytes.Contains(r.Body, []byte("panelists")) {
			t.Fatalf("a study without a panel: %d, want 422 naming the panelists", r.StatusCode)
		}
		r := postStudy(url.Values{"title": {"With a panel"}, "method": {"modified-Angoff"}, "planned_rounds": {"2"},
			"panelists": {p1.ID}, "qualification-" + p1.ID: {"Auditor, 12 years"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("create a study from the form: %d %.300s", r.StatusCode, r.Body)
		}
		var made apiStudy
		loc := r.Header.Get("Location")
		resp = apiCall(t, f, apiReq("GET", "/api/v1"+loc, f.Token(t, f.Users.Psychometrician), nil))
		wantAPIStatus(t, resp, http.StatusOK)
		resp.JSON(t, &made)
		if len(made.Panelists) != 1 || made.Panelists[0].Qualification != "Auditor, 12 years" {
			t.Fatalf("study from the form: %+v", made)
		}

		sess := f.Session(t, p1)
		get := func(u webtest.User, path string) *webtest.Response {
			return f.Do(t, webtest.WithCookie(webtest.NewRequest("GET", path, nil), f.Session(t, u), false))
		}
		post := func(form url.Values) *webtest.Response {
			req := webtest.NewRequest("POST", "/panel/studies/"+st.ID, form.Encode())
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return f.Do(t, webtest.WithCookie(req, sess, true))
		}
		if r := get(p1, "/panel"); r.StatusCode != http.StatusOK || !bytes.Contains(r.Body, []byte("Yes/No study")) {
			t.Fatalf("panel home %d: %.300s", r.StatusCode, r.Body)
		}
		if r := get(outsider, "/panel"); bytes.Contains(r.Body, []byte("Yes/No study")) {
			t.Fatal("a panelist sees a study they are not on")
		}
		if r := get(outsider, "/panel/studies/"+st.ID); r.StatusCode != http.StatusNotFound {
			t.Fatalf("outsider opens the study: %d, want 404", r.StatusCode)
		}
		if r := get(f.Users.Candidate, "/panel/studies/"+st.ID); r.StatusCode != http.StatusForbidden {
			t.Fatalf("candidate opens the study: %d, want 403", r.StatusCode)
		}
		page := get(p1, "/panel/studies/"+st.ID)
		if page.StatusCode != http.StatusOK || !bytes.Contains(page.Body, []byte("Would the minimally competent candidate answer this item correctly?")) {
			t.Fatalf("panelist page %d: %.300s", page.StatusCode, page.Body)
		}
		if bytes.Contains(page.Body, []byte(`"key"`)) {
			t.Fatal("the item JSON drawn by question.js carries the key field")
		}

		form := url.Values{}
		for i, it := range f.Items {
			form.Set("rating-"+it.ID, []string{"1", "0"}[i%2])
		}
		form.Set("rating-"+f.Items[1].ID, "maybe")
		if r := post(form); r.StatusCode != http.StatusUnprocessableEntity || !bytes.Contains(r.Body, []byte("rating-"+f.Items[1].ID)) {
			t.Fatalf("bad number: %d, want 422 naming the field", r.StatusCode)
		}
		form.Set("rating-"+f.Items[1].ID, "0")
		form.Set("submit", "round")
		if r := post(form); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("save and submit: %d %.300s", r.StatusCode, r.Body)
		}
		if r := get(p1, "/panel/studies/"+st.ID); !bytes.Contains(r.Body, []byte("You submitted round 1")) {
			t.Fatalf("after submitting: %.300s", r.Body)
		}
		resp = apiCall(t, f, apiReq("GET", "/api/v1/studies/"+st.ID, f.Token(t, f.Users.Psychometrician), nil))
		resp.JSON(t, &st)
		if st.Panelists[0].SubmittedRound != 1 {
			t.Fatalf("study after the form: %+v", st)
		}
	})
}
