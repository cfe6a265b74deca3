package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/touchstone-assess/touchstone/assess"
)

// Metrics is what one server instance reports to Prometheus: request
// latency, counts of what it did, the backlog read from the database at
// each scrape, and the Go runtime's and the process's own metrics. Its
// Handler is served on a listener of its own (see cmd/touchstone), never
// by the app.
type Metrics struct {
	registry          *prometheus.Registry
	requests          *prometheus.HistogramVec
	answersSaved      prometheus.Counter
	credentialsIssued prometheus.Counter
	eventsIngested    prometheus.Counter
	liveStreams       prometheus.Gauge
}

// NewMetrics returns a set of metrics on a registry of its own.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		// By route template, never by raw path: a path holds ids, and a
		// label value per attempt would grow without bound.
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "touchstone_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by route template, method and status class (2xx, 4xx, 5xx).",
		}, []string{"route", "method", "status"}),
		answersSaved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstone_answers_saved_total",
			Help: "Answers stored by the answer-save API (a repeated or out-of-order save that changes nothing is not counted).",
		}),
		credentialsIssued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstone_credentials_issued_total",
			Help: "Credentials issued: badges for passes, pathway certificates and re-issues.",
		}),
		eventsIngested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "touchstone_proctoring_events_ingested_total",
			Help: "Proctoring events received from candidates' pages and stored.",
		}),
		liveStreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "touchstone_live_streams",
			Help: "Server-sent event streams open on this instance: candidates' pages, proctors' consoles, candidates waiting at check-in.",
		}),
	}
	m.registry.MustRegister(m.requests, m.answersSaved, m.credentialsIssued, m.eventsIngested, m.liveStreams,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchPool adds the database connection pool's figures (go_sql_…: open,
// in use, idle, and the requests that waited for a connection and how
// long): the queue every request that needs the database stands in.
func (m *Metrics) WatchPool(db *sql.DB) {
	m.registry.MustRegister(collectors.NewDBStatsCollector(db, "touchstone"))
}

// CredentialIssued counts one credential issued. The credential service
// calls it (credential.WithIssued), whichever path issued the credential.
func (m *Metrics) CredentialIssued() { m.credentialsIssued.Inc() }

// Handler serves the metrics in Prometheus' text format. A backlog the
// database cannot count is left out of the answer, which still carries the
// rest.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// watch adds the backlog of a, read at each scrape. Watching again (a
// second server on the same metrics) changes nothing.
func (m *Metrics) watch(a *assess.Service) error {
	err := m.registry.Register(backlogCollector{assess: a})
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		return nil
	}
	return err
}

// unmatchedRoute is the route label of a request no route answered, so
// that probes for random paths all fall under one label.
const unmatchedRoute = "unmatched"

// measureRequests observes each request's duration under its route
// template. It runs before logRequests, which has turned any error into
// the response by the time it returns, so the status is final.
func (s *Server) measureRequests(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	route := c.Route().Path
	if unmatched, _ := c.Locals(unmatchedRoute).(bool); unmatched {
		route = unmatchedRoute
	}
	class := statusClass(c.Response().StatusCode())
	s.cfg.Metrics.requests.WithLabelValues(route, c.Method(), class).Observe(time.Since(start).Seconds())
	return err
}

// statusClasses are the status classes as labels, built once rather than
// on every request.
var statusClasses = [...]string{"0xx", "1xx", "2xx", "3xx", "4xx", "5xx"}

// statusClass is the label of status's class: "2xx" for 201.
func statusClass(status int) string {
	if i := status / 100; i >= 0 && i < len(statusClasses) {
		return statusClasses[i]
	}
	return strconv.Itoa(status/100) + "xx"
}

// notFound answers every request no route matched.
func notFound(c *fiber.Ctx) error {
	c.Locals(unmatchedRoute, true)
	return fiber.ErrNotFound
}

// backlogScrapeTimeout bounds the database counts of one scrape.
const backlogScrapeTimeout = 5 * time.Second

// backlogCollector reads assess.Backlog at each scrape, so that every
// instance reports the deployment's backlog as the database holds it.
type backlogCollector struct{ assess *assess.Service }

var backlogGauges = []struct {
	desc *prometheus.Desc
	read func(assess.Backlog) int64
}{
	{prometheus.NewDesc("touchstone_attempts_in_progress", "Attempts being taken.", nil, nil),
		func(b assess.Backlog) int64 { return b.InProgress }},
	{prometheus.NewDesc("touchstone_attempts_overdue", "Attempts in progress past their deadline and grace, waiting for the sweeper to submit them.", nil, nil),
		func(b assess.Backlog) int64 { return b.Overdue }},
	{prometheus.NewDesc("touchstone_passes_unissued", "Passes without a credential yet: the sweeper issues them unless a pending review holds them.", nil, nil),
		func(b assess.Backlog) int64 { return b.UnissuedPasses }},
	{prometheus.NewDesc("touchstone_reviews_pending", "Proctoring reviews waiting for a reviewer's decision.", nil, nil),
		func(b assess.Backlog) int64 { return b.PendingReviews }},
	{prometheus.NewDesc("touchstone_checkins_pending", "Check-ins waiting for a proctor to admit the candidate.", nil, nil),
		func(b assess.Backlog) int64 { return b.PendingCheckins }},
	{prometheus.NewDesc("touchstone_calibrations_running", "IRT calibration runs not yet finished.", nil, nil),
		func(b assess.Backlog) int64 { return b.RunningCalibrations }},
}

func (backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, g := range backlogGauges {
		ch <- g.desc
	}
}

func (bc backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), backlogScrapeTimeout)
	defer cancel()
	b, err := bc.assess.Backlog(ctx)
	for _, g := range backlogGauges {
		if err != nil {
			ch <- prometheus.NewInvalidMetric(g.desc, err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(g.read(b)))
	}
}
