package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/assess"
)

// waitRuns waits for every run of the exam to finish.
func (f *fixture) waitRuns(examID string) []assess.CalibrationRun {
	f.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runs, err := f.assess.CalibrationRuns(ctx, examID)
	if err != nil {
		f.tb.Fatal(err)
	}
	for i, r := range runs {
		if runs[i], err = f.assess.WaitCalibration(ctx, r.ID); err != nil {
			f.tb.Fatal(err)
		}
	}
	return runs
}

// wantPage checks that a page holds every want.
func wantPage(t *testing.T, what string, r response, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(r.Body, w) {
			t.Errorf("%s: body lacks %q", what, w)
		}
	}
}

func TestCalibrationPages(t *testing.T) {
	f := newFixture(t, fixtureOptions{Items: 8, Pilots: 300})
	base := "/psychometrics/exams/" + f.exam.ID + "/calibrations"
	psych := f.as("psychometrician")

	r := psych.get(base)
	wantCode(t, "empty list", r, http.StatusOK)
	wantPage(t, "empty list", r, "No calibration has been run", `id="calibration-form"`, `aria-current="page">Calibrations`)

	r = psych.post(base, url.Values{"model": {"4pl"}})
	wantCode(t, "unknown model", r, http.StatusUnprocessableEntity)
	wantPage(t, "unknown model", r, `id="start-error"`, `<strong>model</strong>`)
	if r := f.as("candidate").post(base, url.Values{"model": {"2pl"}}); r.Status != http.StatusForbidden {
		t.Errorf("a candidate starts a run: got %d, want 403", r.Status)
	}

	r = psych.post(base, url.Values{"model": {"2pl"}, "note": {"pilot"}})
	wantCode(t, "start", r, http.StatusSeeOther)
	runPath := r.Location
	if !strings.HasPrefix(runPath, "/psychometrics/calibrations/") {
		t.Fatalf("start redirects to %q, want the run page", runPath)
	}
	first := f.waitRuns(f.exam.ID)[0]
	if first.Status != assess.RunDone {
		t.Fatalf("run: %s %s", first.Status, first.Error)
	}
	r = psych.get(runPath)
	wantCode(t, "run page", r, http.StatusOK)
	wantPage(t, "run page", r, `id="item-params"`, `id="figure-wright"`, `id="figure-icc"`, `id="figure-info"`,
		`<details class="data-table">`, runPath+"/figures/wright.svg", runPath+"/figures/wright.png", runPath+"/figures/wright.csv",
		runPath+"/parameters.csv", runPath+"/parameters.json", "S-X²")
	if strings.Contains(r.Body, "refresh.js") {
		t.Error("a finished run's page reloads itself")
	}

	for _, fig := range []struct{ file, ctype, start string }{
		{"wright.svg", "image/svg+xml", "<?xml"}, {"icc.svg", "image/svg+xml", "<?xml"}, {"info.png", "image/png", "\x89PNG"},
		{"wright.csv", "text/csv", "From (logits)"},
	} {
		r := psych.get(runPath + "/figures/" + fig.file)
		wantCode(t, fig.file, r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, fig.ctype) {
			t.Errorf("%s: Content-Type %q, want %s", fig.file, ct, fig.ctype)
		}
		if !strings.HasPrefix(r.Body, fig.start) && !strings.Contains(r.Body[:min(len(r.Body), 300)], fig.start) {
			t.Errorf("%s: starts %q, want %q", fig.file, r.Body[:min(len(r.Body), 40)], fig.start)
		}
	}
	if r := psych.get(runPath + "/figures/wright.png?width=5"); r.Status != http.StatusBadRequest {
		t.Errorf("PNG 5 px wide: got %d, want 400", r.Status)
	}
	if r := psych.get(runPath + "/figures/nothing.svg"); r.Status != http.StatusNotFound {
		t.Errorf("unknown figure: got %d, want 404", r.Status)
	}

	r = psych.get(runPath + "/parameters.csv")
	wantCode(t, "parameters.csv", r, http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil || len(rows) != 9 || rows[0][0] != "item" || rows[1][0] != f.exam.ItemIDs[0] {
		t.Errorf("parameters.csv: got %d rows (%v), want a header and 8 items in exam order", len(rows), err)
	}
	r = psych.getJSON(runPath + "/parameters.json")
	var doc struct {
		Version int                      `json:"version"`
		Result  assess.CalibrationResult `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.Body), &doc); err != nil || doc.Version != 1 || len(doc.Result.Items) != 8 || doc.Result.Persons != 300 {
		t.Errorf("parameters.json: %v; got version %d with %d items, %d persons", err, doc.Version, len(doc.Result.Items), doc.Result.Persons)
	}

	// A second run, linked to the first; the list compares the two.
	r = psych.post(base, url.Values{"model": {"rasch"}, "anchor_run_id": {first.ID}})
	wantCode(t, "start linked", r, http.StatusSeeOther)
	runs := f.waitRuns(f.exam.ID)
	if len(runs) != 2 || runs[0].Status != assess.RunDone || runs[0].Result.Linking == nil {
		t.Fatalf("linked run: got %d runs, newest %s %s", len(runs), runs[0].Status, runs[0].Error)
	}
	r = psych.get(base)
	wantPage(t, "list", r, "Version 2", "version 1", `id="comparison"`, "compare.csv?a="+first.ID, "Rasch (conditional ML)")
	r = psych.get("/psychometrics/calibrations/" + runs[0].ID)
	wantPage(t, "linked run page", r, `id="linking"`, "Linked to version 1", "shift of the mean difficulty")
	r = psych.get(base + "/compare.csv?a=" + first.ID + "&b=" + runs[0].ID)
	wantCode(t, "compare.csv", r, http.StatusOK)
	if rows, _ := csv.NewReader(strings.NewReader(r.Body)).ReadAll(); len(rows) != 9 || rows[0][7] != "b_diff" {
		t.Errorf("compare.csv: got %d rows, want a header and 8 items", len(rows))
	}
	r = psych.getJSON(base + "/compare.json?a=" + first.ID + "&b=" + runs[0].ID)
	wantCode(t, "compare.json", r, http.StatusOK)
	r = psych.get(base + "/runs.csv")
	if rows, _ := csv.NewReader(strings.NewReader(r.Body)).ReadAll(); len(rows) != 3 || rows[1][0] != "2" || rows[1][5] != "1" {
		t.Errorf("runs.csv: got %v, want two runs, the newest linked to version 1", rows)
	}
	r = psych.getJSON(base + "/runs.json")
	wantCode(t, "runs.json", r, http.StatusOK)

	// The API.
	r = psych.api(http.MethodPost, "/api/v1/exams/"+f.exam.ID+"/calibrations", map[string]any{"model": "3pl", "note": "api"})
	wantCode(t, "API start", r, http.StatusAccepted)
	var started struct {
		ID      string `json:"id"`
		Version int    `json:"version"`
		Status  string `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.Body), &started); err != nil || started.Version != 3 || started.Status != "running" {
		t.Errorf("API start: %v, got %+v, want version 3 running", err, started)
	}
	f.waitRuns(f.exam.ID)
	r = psych.api(http.MethodGet, "/api/v1/calibrations/"+started.ID, nil)
	wantCode(t, "API run", r, http.StatusOK)
	wantPage(t, "API run", r, `"status":"done"`, `"model":"3pl"`, `"s_x2"`)
	r = psych.api(http.MethodGet, "/api/v1/exams/"+f.exam.ID+"/calibrations", nil)
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.Body), &list); err != nil || len(list) != 3 {
		t.Errorf("API list: %v, got %d runs, want 3", err, len(list))
	}
	r = psych.api(http.MethodPost, "/api/v1/exams/"+f.exam.ID+"/calibrations", map[string]any{"model": "2pl", "anchor_run_id": "nope"})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"field":"anchor_run_id"`) {
		t.Errorf("API unknown anchor: got %d %s, want 422 naming anchor_run_id", r.Status, r.Body)
	}
}

// demographicPilots gives the fixture's pilots answers to gender:
// alternately woman and man, the last few non-binary.
func (f *fixture) demographicPilots(n, nonBinary int) {
	f.tb.Helper()
	ctx := context.Background()
	for i := range n {
		u, err := f.auth.UserByEmail(ctx, fmt.Sprintf("pilot-%03d@example.invalid", i+1))
		if err != nil {
			f.tb.Fatal(err)
		}
		g := []string{"woman", "man"}[i%2]
		if i >= n-nonBinary {
			g = "non_binary"
		}
		if err := f.assess.SetDemographics(ctx, u.ID, map[string]string{"gender": g}); err != nil {
			f.tb.Fatal(err)
		}
	}
}

func TestDIFPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{Items: 8, Pilots: 200})
	f.demographicPilots(200, 10)
	path := "/psychometrics/exams/" + f.exam.ID + "/dif"
	psych := f.as("psychometrician")

	r := psych.get(path)
	wantCode(t, "form", r, http.StatusOK)
	wantPage(t, "form", r, `id="dif-form"`, `aria-current="page">DIF`, "Woman (95)", "Man (95)", "Non-binary (10)")

	q := "?variable=gender&reference=man&focal=woman"
	r = psych.get(path + q)
	wantCode(t, "report", r, http.StatusOK)
	wantPage(t, "report", r, `id="dif-items"`, "Man (reference, 95) and Woman (focal, 95)", `id="count-a"`, "dif.csv?variable=gender&amp;reference=man&amp;focal=woman")

	r = psych.get(path + "?variable=gender&reference=man&focal=non_binary")
	wantCode(t, "too small", r, http.StatusUnprocessableEntity)
	wantPage(t, "too small", r, `<strong>focal</strong>`, "has 10 attempts")

	r = psych.get(path + ".csv" + q)
	wantCode(t, "dif.csv", r, http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
	if err != nil || len(rows) != 9 || rows[0][12] != "ets_class" {
		t.Errorf("dif.csv: %v, got %d rows", err, len(rows))
	}
	r = psych.api(http.MethodGet, "/api/v1/exams/"+f.exam.ID+"/dif"+q, nil)
	wantCode(t, "API", r, http.StatusOK)
	wantPage(t, "API", r, `"n_reference":95`, `"n_focal":95`, `"ets_class"`)
	r = psych.api(http.MethodGet, "/api/v1/exams/"+f.exam.ID+"/dif?variable=gender&reference=man", nil)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `"field":"focal"`) {
		t.Errorf("API without focal: got %d %s, want 400 naming focal", r.Status, r.Body)
	}
	r = psych.api(http.MethodGet, "/api/v1/exams/"+f.exam.ID+"/dif?variable=gender&reference=man&focal=prefer_not_to_say", nil)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"field":"focal"`) {
		t.Errorf("API prefer not to say: got %d %s, want 422 naming focal", r.Status, r.Body)
	}
}

func TestDemographicsPage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	cand := f.as("candidate")
	r := cand.get("/me/demographics")
	wantCode(t, "form", r, http.StatusOK)
	wantPage(t, "form", r, "voluntary", "only in aggregate", `name="_csrf"`, `id="gender-woman"`, `id="region-prefer_not_to_say"`)
	r = cand.post("/me/demographics", url.Values{"gender": {"woman"}, "age_band": {"25_34"}})
	wantCode(t, "save", r, http.StatusSeeOther)
	got, err := f.assess.Demographics(context.Background(), f.users["candidate"].ID)
	if err != nil || len(got) != 2 || got["gender"] != "woman" {
		t.Errorf("stored: %v %v", got, err)
	}
	r = cand.get("/me/demographics?saved=1")
	wantPage(t, "saved", r, `id="saved"`, `id="gender-woman" name="gender" value="woman" checked`)
	r = cand.post("/me/demographics", url.Values{"gender": {"robot"}})
	wantCode(t, "bad value", r, http.StatusUnprocessableEntity)
	if r := f.as("psychometrician").get("/me/demographics"); r.Status != http.StatusForbidden {
		t.Errorf("staff open the candidates' form: got %d, want 403", r.Status)
	}

	r = cand.api(http.MethodPut, "/api/v1/me/demographics", map[string]any{"answers": map[string]string{"region": "europe"}})
	wantCode(t, "API put", r, http.StatusOK)
	wantPage(t, "API put", r, `"answers":{"region":"europe"}`)
	r = cand.api(http.MethodPut, "/api/v1/me/demographics", map[string]any{"answers": map[string]string{"shoe": "44"}})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"field":"shoe"`) {
		t.Errorf("API unknown question: got %d %s, want 422 naming it", r.Status, r.Body)
	}
	r = cand.api(http.MethodGet, "/api/v1/me/demographics", nil)
	wantPage(t, "API get", r, `"answers":{"region":"europe"}`, `"name":"first_language"`)
}
