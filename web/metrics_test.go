package web_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/web/webtest"
)

// scrape reads the fixture's metrics as Prometheus does and returns every
// sample, keyed by its name and labels as exposed
// (`name{label="value",…}`).
func scrape(t *testing.T, f *webtest.Fixture) (map[string]float64, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	f.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: got status %d, want 200; body: %s", rec.Code, rec.Body)
	}
	body, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	samples := map[string]float64{}
	lines := bufio.NewScanner(bytes.NewReader(body))
	for lines.Scan() {
		line := lines.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		at := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[at+1:], 64)
		if err != nil {
			t.Fatalf("scrape: sample %q: %v", line, err)
		}
		samples[line[:at]] = v
	}
	return samples, string(body)
}

// wantSample checks one sample's value.
func wantSample(t *testing.T, samples map[string]float64, key string, want float64) {
	t.Helper()
	got, ok := samples[key]
	if !ok {
		t.Errorf("%s: not exposed", key)
		return
	}
	if got != want {
		t.Errorf("%s: got %v, want %v", key, got, want)
	}
}

// attemptsInProgress counts the attempts in progress straight from the
// database.
func attemptsInProgress(t *testing.T, f *webtest.Fixture) float64 {
	t.Helper()
	var n int64
	if err := f.DB.Table("attempts").Where("status = ?", "in_progress").Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return float64(n)
}

func TestMetrics(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		before, _ := scrape(t, f)
		for _, counter := range []string{"touchstone_answers_saved_total", "touchstone_credentials_issued_total", "touchstone_proctoring_events_ingested_total"} {
			wantSample(t, before, counter, 0)
		}
		wantSample(t, before, "touchstone_attempts_in_progress", 0)
		if _, ok := before["go_goroutines"]; !ok {
			t.Error("go_goroutines: the Go runtime's metrics are not exposed")
		}
		if _, ok := before["process_start_time_seconds"]; !ok {
			t.Error("process_start_time_seconds: the process's metrics are not exposed")
		}

		// One candidate is taking the exam and reports two events;
		// another passes it, saving six answers and earning a credential.
		token := f.Token(t, f.Users.Candidate)
		open := apiStart(t, f, token)
		resp := apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+open.ID+"/events", token, map[string]any{"events": []map[string]any{
			{"kind": "focus_lost"}, {"kind": "heartbeat"},
		}}))
		wantAPIStatus(t, resp, http.StatusNoContent)
		passed := apiPass(t, f, f.Users.Candidate2)
		// Saving an answer again with a sequence number already stored
		// changes nothing, and is not counted.
		item := open.Items[0].ID
		for range 2 {
			resp = apiCall(t, f, apiReq("PUT", "/api/v1/attempts/"+open.ID+"/responses/"+item, token, map[string]any{"answer": f.Keys[item], "seq": 1}))
			wantAPIStatus(t, resp, http.StatusOK)
		}
		resp = apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+passed.AttemptID+"/review", f.Token(t, f.Users.Proctor), map[string]any{"reasons": []string{"a second voice"}}))
		wantAPIStatus(t, resp, http.StatusOK)
		resp = apiCall(t, f, apiReq("GET", "/api/v1/no-such-thing/"+open.ID, "", nil))
		wantAPIStatus(t, resp, http.StatusNotFound)

		after, body := scrape(t, f)
		wantSample(t, after, "touchstone_answers_saved_total", 7)
		wantSample(t, after, "touchstone_credentials_issued_total", 1)
		wantSample(t, after, "touchstone_proctoring_events_ingested_total", 2)
		wantSample(t, after, "touchstone_attempts_in_progress", attemptsInProgress(t, f))
		wantSample(t, after, "touchstone_attempts_in_progress", 1)
		wantSample(t, after, "touchstone_reviews_pending", 1)
		for _, gauge := range []string{"touchstone_attempts_overdue", "touchstone_passes_unissued", "touchstone_checkins_pending", "touchstone_calibrations_running"} {
			wantSample(t, after, gauge, 0)
		}

		// Requests are measured by route template, never by raw path.
		const saves = `touchstone_http_request_duration_seconds_count{method="PUT",route="/api/v1/attempts/:id/responses/:itemId",status="2xx"}`
		wantSample(t, after, saves, 8)
		wantSample(t, after, `touchstone_http_request_duration_seconds_count{method="GET",route="unmatched",status="4xx"}`, 1)
		for _, id := range []string{open.ID, passed.AttemptID, item} {
			if strings.Contains(body, id) {
				t.Errorf("the metrics name %s: a raw path leaked into a label", id)
			}
		}

		// The server's own port does not serve them.
		wantAPIError(t, apiCall(t, f, apiReq("GET", "/metrics", "", nil)), http.StatusNotFound, "not_found", "")
		wantAPIError(t, apiCall(t, f, apiReq("GET", "/metrics", f.Token(t, f.Users.Admin), nil)), http.StatusNotFound, "not_found", "")

		// Past its deadline, the open attempt waits for the sweeper, which
		// submits it.
		f.Clock.Advance(f.Exam.Duration + f.Assess.Grace + time.Second)
		overdue, _ := scrape(t, f)
		wantSample(t, overdue, "touchstone_attempts_overdue", 1)
		wantSample(t, overdue, "touchstone_attempts_in_progress", 1)
		if _, err := f.Assess.SubmitExpired(context.Background()); err != nil {
			t.Fatal(err)
		}
		swept, _ := scrape(t, f)
		wantSample(t, swept, "touchstone_attempts_overdue", 0)
		wantSample(t, swept, "touchstone_attempts_in_progress", attemptsInProgress(t, f))
		wantSample(t, swept, "touchstone_attempts_in_progress", 0)
	})
}
