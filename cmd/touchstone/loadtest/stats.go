package loadtest

import (
	"math/bits"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// histogram records latencies in log-linear buckets, as HDR histograms
// do: values below 2^subBits microseconds exactly, larger ones with
// 2^subBits buckets per power of two (a relative error under 1/64). Its
// memory is fixed (a few thousand counters) however many values it holds.
type histogram struct {
	counts []int64
	n      int64
	max    int64 // microseconds
}

const subBits = 6

// histBuckets covers up to 2^40 µs (12 days).
const histBuckets = (40 - subBits + 1) << subBits

func newHistogram() *histogram { return &histogram{counts: make([]int64, histBuckets)} }

func bucketOf(us int64) int {
	if us < 1<<subBits {
		return int(max(us, 0))
	}
	shift := bits.Len64(uint64(us)) - subBits - 1
	i := (shift+1)<<subBits + int(us>>shift) - 1<<subBits
	return min(i, histBuckets-1)
}

// bucketHigh is the largest value that falls in bucket i.
func bucketHigh(i int) int64 {
	if i < 1<<subBits {
		return int64(i)
	}
	shift := i>>subBits - 1
	mant := int64(i&(1<<subBits-1)) + 1<<subBits
	return (mant+1)<<shift - 1
}

func (h *histogram) record(d time.Duration) {
	us := d.Microseconds()
	h.counts[bucketOf(us)]++
	h.n++
	h.max = max(h.max, us)
}

// quantile returns the q-quantile (0 < q ≤ 1): the upper bound of the
// bucket holding the ⌈q·n⌉-th smallest value, capped at the maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.999999)
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketHigh(i), h.max)) * time.Microsecond
		}
	}
	return time.Duration(h.max) * time.Microsecond
}

// endpoint is what one endpoint's calls have measured so far.
type endpoint struct {
	mu   sync.Mutex
	hist *histogram
	// recent holds the latencies since the last progress line.
	recent      *histogram
	errors      map[string]int64
	unavailable int64
	// steady and steadyErrors are the calls that ended in the steady
	// window (recorder.steady).
	steady       *histogram
	steadyErrors map[string]int64
}

// recorder collects every endpoint's latencies and errors.
type recorder struct {
	mu        sync.Mutex
	endpoints map[string]*endpoint
	// outages counts calls that failed for want of the server apart from
	// the errors: the run crosses a planned outage (Config.Outages).
	outages bool
	// steady is where the run is in its steady window, the time when every
	// candidate of a paced run is in the exam: from the last start to the
	// first candidate's time up. Its figures have neither ramp in them.
	steady               atomic.Int32
	steadyFrom, steadyTo time.Time
}

// The steady window's states, in order.
const (
	steadyNotYet int32 = iota
	steadyNow
	steadyOver
)

func newRecorder(outages bool) *recorder {
	return &recorder{endpoints: map[string]*endpoint{}, outages: outages}
}

// beginSteady opens the steady window: every candidate is in the exam.
func (r *recorder) beginSteady(at time.Time) {
	if r.steady.CompareAndSwap(steadyNotYet, steadyNow) {
		r.mu.Lock()
		r.steadyFrom = at
		r.mu.Unlock()
	}
}

// endSteady closes it when a candidate leaves the exam; a candidate who
// leaves before the last one starts means there is no such window.
func (r *recorder) endSteady(at time.Time) {
	if r.steady.CompareAndSwap(steadyNow, steadyOver) {
		r.mu.Lock()
		r.steadyTo = at
		r.mu.Unlock()
		return
	}
	r.steady.CompareAndSwap(steadyNotYet, steadyOver)
}

// unavailable reports whether a failure's reason says the server, or what
// it stands on, was not there: no connection, a reset, a timeout, or a
// 502, 503 or 504 from it or a proxy in front.
func unavailable(reason string) bool {
	return strings.HasPrefix(reason, "transport: ") || strings.HasPrefix(reason, "502 ") ||
		strings.HasPrefix(reason, "503 ") || strings.HasPrefix(reason, "504 ")
}

func (r *recorder) endpoint(name string) *endpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.endpoints[name]
	if !ok {
		e = &endpoint{hist: newHistogram(), recent: newHistogram(), errors: map[string]int64{},
			steady: newHistogram(), steadyErrors: map[string]int64{}}
		r.endpoints[name] = e
	}
	return e
}

// observe records one call: its latency, and its failure when reason is
// not empty.
func (r *recorder) observe(name string, d time.Duration, reason string) {
	steady := r.steady.Load() == steadyNow
	e := r.endpoint(name)
	e.mu.Lock()
	e.hist.record(d)
	e.recent.record(d)
	if steady {
		e.steady.record(d)
	}
	switch {
	case reason == "":
	case r.outages && unavailable(reason):
		e.unavailable++
	default:
		e.errors[reason]++
		if steady {
			e.steadyErrors[reason]++
		}
	}
	e.mu.Unlock()
}

// recentQuantile returns the q-quantile of an endpoint's latencies since
// the last call, and starts a new interval.
func (r *recorder) recentQuantile(name string, q float64) time.Duration {
	e := r.endpoint(name)
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.recent.quantile(q)
	clear(e.recent.counts)
	e.recent.n, e.recent.max = 0, 0
	return d
}

// EndpointStats is one endpoint's figures over a run. Latencies are in
// milliseconds; Errors counts failed calls by status and reason (e.g.
// "409 closed", "transport: timeout").
type EndpointStats struct {
	Name      string           `json:"name"`
	Count     int64            `json:"count"`
	PerSecond float64          `json:"per_second"`
	P50       float64          `json:"p50_ms"`
	P90       float64          `json:"p90_ms"`
	P99       float64          `json:"p99_ms"`
	Max       float64          `json:"max_ms"`
	Errors    map[string]int64 `json:"errors"`
	ErrorSum  int64            `json:"error_count"`
	// Unavailable counts calls that failed during a planned outage
	// (Config.Outages): not errors.
	Unavailable int64 `json:"unavailable,omitempty"`
}

// endpointOrder is the order of the report: a candidate's path through
// the exam.
var endpointOrder = []string{EndpointLogin, EndpointStart, EndpointView, EndpointSave, EndpointEvents, EndpointSnapshot,
	EndpointLive, EndpointMessages, EndpointResume, EndpointSubmit}

// stats returns every endpoint's figures over elapsed.
func (r *recorder) stats(elapsed time.Duration) []EndpointStats {
	return r.figures(elapsed, false)
}

// Window is a part of a run and its endpoints' figures.
type Window struct {
	From      float64         `json:"from_seconds"`
	To        float64         `json:"to_seconds"`
	Endpoints []EndpointStats `json:"endpoints"`
}

// steadyWindow returns the figures of the steady window, in seconds from
// started; it ends at now if no candidate has left yet. Nil when the run
// never had every candidate in the exam at once.
func (r *recorder) steadyWindow(started, now time.Time) *Window {
	state := r.steady.Load()
	if state == steadyNotYet {
		return nil
	}
	r.mu.Lock()
	from, to := r.steadyFrom, r.steadyTo
	r.mu.Unlock()
	if from.IsZero() {
		return nil
	}
	if state == steadyNow {
		to = now
	}
	return &Window{From: from.Sub(started).Seconds(), To: to.Sub(started).Seconds(), Endpoints: r.figures(to.Sub(from), true)}
}

// figures returns every endpoint's figures over elapsed: the whole run's,
// or the steady window's.
func (r *recorder) figures(elapsed time.Duration, steady bool) []EndpointStats {
	r.mu.Lock()
	names := make([]string, 0, len(r.endpoints))
	for n := range r.endpoints {
		names = append(names, n)
	}
	r.mu.Unlock()
	rank := func(n string) int {
		for i, o := range endpointOrder {
			if o == n {
				return i
			}
		}
		return len(endpointOrder)
	}
	sort.Slice(names, func(i, j int) bool {
		if rank(names[i]) != rank(names[j]) {
			return rank(names[i]) < rank(names[j])
		}
		return names[i] < names[j]
	})
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	out := make([]EndpointStats, 0, len(names))
	for _, n := range names {
		e := r.endpoint(n)
		e.mu.Lock()
		h, errs, unavailable := e.hist, e.errors, e.unavailable
		if steady {
			h, errs, unavailable = e.steady, e.steadyErrors, 0
		}
		if steady && h.n == 0 {
			e.mu.Unlock()
			continue // sign-ins, starts and submits fall outside the window
		}
		s := EndpointStats{Name: n, Count: h.n, P50: ms(h.quantile(0.5)), P90: ms(h.quantile(0.9)),
			P99: ms(h.quantile(0.99)), Max: float64(h.max) / 1000, Errors: map[string]int64{}, Unavailable: unavailable}
		for k, v := range errs {
			s.Errors[k] = v
			s.ErrorSum += v
		}
		e.mu.Unlock()
		if elapsed > 0 {
			s.PerSecond = float64(s.Count) / elapsed.Seconds()
		}
		out = append(out, s)
	}
	return out
}
