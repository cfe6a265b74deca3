package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsListener: the metrics are served on their own listener, to a
// scrape with the token only, and never on the app's port.
func TestMetricsListener(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) { metricsListener(t, backend) })
	}
}

func metricsListener(t *testing.T, backend string) {
	const token = "scrape-token-0f3a"
	s := startServerWith(t, backend, map[string]string{"TOUCHSTONE_DEMO": "false",
		"TOUCHSTONE_METRICS_ADDR": "127.0.0.1:0", "TOUCHSTONE_METRICS_TOKEN": token})
	if s.MetricsURL == "" {
		t.Fatal("the server did not say where its metrics are served")
	}
	if got := s.call(t, "GET", "/healthz", "", nil, nil); got != http.StatusOK {
		t.Fatalf("healthz: got %d, want 200", got)
	}

	for _, tc := range []struct {
		name, url, authorization string
		want                     int
	}{
		{"no token", s.MetricsURL, "", http.StatusUnauthorized},
		{"wrong token", s.MetricsURL, "Bearer not-" + token, http.StatusUnauthorized},
		{"token not as a bearer", s.MetricsURL, token, http.StatusUnauthorized},
		{"the token", s.MetricsURL, "Bearer " + token, http.StatusOK},
		{"the app's port", s.URL + "/metrics", "Bearer " + token, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := getWith(t, tc.url, tc.authorization)
			if status != tc.want {
				t.Fatalf("got status %d, want %d; body: %.300s", status, tc.want, body)
			}
			if status != http.StatusOK {
				if strings.Contains(body, "touchstone_") {
					t.Errorf("a refused scrape shows metrics: %.300s", body)
				}
				return
			}
			for _, want := range []string{
				`touchstone_http_request_duration_seconds_count{method="GET",route="/healthz",status="2xx"} 1`,
				"touchstone_attempts_in_progress 0", "touchstone_credentials_issued_total 0", "go_goroutines", "process_cpu_seconds_total",
				`go_sql_in_use_connections{db_name="touchstone"}`, `go_sql_wait_duration_seconds_total{db_name="touchstone"}`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	}
}

// TestProfilesOnTheMetricsListener: the Go runtime's profiles are served
// beside the metrics, to a request with the token only, never on the app's
// port, and without the command line (flags can carry a password).
func TestProfilesOnTheMetricsListener(t *testing.T) {
	const token = "profile-token-7c21"
	s := startServerWith(t, "sqlite", map[string]string{"TOUCHSTONE_DEMO": "false",
		"TOUCHSTONE_METRICS_ADDR": "127.0.0.1:0", "TOUCHSTONE_METRICS_TOKEN": token})
	base := strings.TrimSuffix(s.MetricsURL, "/metrics")
	for _, tc := range []struct {
		name, url, authorization string
		want                     int
		body                     string
	}{
		{"index without the token", base + "/debug/pprof/", "", http.StatusUnauthorized, ""},
		{"profile without the token", base + "/debug/pprof/profile?seconds=1", "", http.StatusUnauthorized, ""},
		{"index", base + "/debug/pprof/", "Bearer " + token, http.StatusOK, "goroutine"},
		{"goroutines", base + "/debug/pprof/goroutine?debug=1", "Bearer " + token, http.StatusOK, "goroutine profile: total"},
		{"cpu profile", base + "/debug/pprof/profile?seconds=1", "Bearer " + token, http.StatusOK, ""},
		{"command line", base + "/debug/pprof/cmdline", "Bearer " + token, http.StatusNotFound, ""},
		{"the app's port", s.URL + "/debug/pprof/", "Bearer " + token, http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := getWith(t, tc.url, tc.authorization)
			if status != tc.want {
				t.Fatalf("got status %d, want %d; body: %.300s", status, tc.want, body)
			}
			if !strings.Contains(body, tc.body) {
				t.Errorf("body lacks %q: %.300s", tc.body, body)
			}
			if status == http.StatusOK && strings.Contains(tc.url, "/profile") && len(body) == 0 {
				t.Error("empty CPU profile")
			}
		})
	}
}

// getWith fetches url with the Authorization header given (none when empty).
func getWith(t *testing.T, url, authorization string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
