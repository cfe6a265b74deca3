package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

// TestHistogramQuantiles compares the histogram's quantiles with exact
// ones from the sorted samples: within the bucket width (1/64).
func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := newHistogram()
	var exact []int64
	for range 100000 {
		us := int64(rng.ExpFloat64() * 20000) // mean 20 ms
		exact = append(exact, us)
		h.record(time.Duration(us) * time.Microsecond)
	}
	slices.Sort(exact)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := exact[int(q*float64(len(exact))+0.999999)-1]
		got := h.quantile(q).Microseconds()
		if got < want || float64(got) > float64(want)*(1+1.0/64)+1 {
			t.Errorf("q%g: got %d µs, want %d µs to within 1/64 above", q, got, want)
		}
	}
	if h.quantile(1).Microseconds() != exact[len(exact)-1] {
		t.Errorf("max: got %v, want %d µs", h.quantile(1), exact[len(exact)-1])
	}
	for _, us := range []int64{0, 1, 63, 64, 127, 128, 1000, 123456, 1 << 39} {
		if b := bucketOf(us); bucketHigh(b) < us || (b > 0 && bucketHigh(b-1) >= us) {
			t.Errorf("value %d µs in bucket %d of [%d, %d]", us, b, bucketHigh(b-1)+1, bucketHigh(b))
		}
	}
}

func TestPickExam(t *testing.T) {
	all := []examInfo{
		{ID: "a", Title: "Adaptive", Mode: "cat", Items: 5, HasStandard: true},
		{ID: "b", Title: "Big", Mode: "fixed", Items: 30, HasStandard: true},
		{ID: "c", Title: "Small but gated", Mode: "fixed", Items: 10, HasStandard: true, Prerequisites: 1},
		{ID: "d", Title: "Small", Mode: "fixed", Items: 12, HasStandard: true},
		{ID: "e", Title: "No standard", Mode: "fixed", Items: 3},
	}
	for _, tc := range []struct{ name, want, err string }{
		{"", "d", ""},
		{"big", "b", ""},
		{"a", "a", ""},
		{"Nope", "", `no exam titled or with id "Nope"`},
	} {
		got, err := pickExam(all, tc.name)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("pickExam(%q): got %v, want an error with %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || got.ID != tc.want {
			t.Errorf("pickExam(%q) = %q, %v; want %q", tc.name, got.ID, err, tc.want)
		}
	}
	if _, err := pickExam(all[:1], ""); err == nil {
		t.Error("only an adaptive exam: got one, want an error saying to name one")
	}
}

func TestConfigErrorsNameTheFlag(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "localhost:8080"}, "url:"},
		{Config{URL: "http://x", Disconnect: 1.5}, "disconnect:"},
		{Config{URL: "http://x", Mode: "fast"}, "mode:"},
		{Config{URL: "http://x", Pgbench: true}, "pgbench:"},
		{Config{URL: "http://x", Mode: ModeSaturate, Pgbench: true, DatabaseURL: "data/touchstone.db"}, "pgbench: needs --database-url"},
	} {
		_, err := Run(context.Background(), tc.cfg)
		if _, ok := err.(*ConfigError); !ok || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want a ConfigError starting %q", tc.cfg, err, tc.want)
		}
	}
}

// TestJudge: a stored answer passes only when it is the acknowledged one
// or a later one the candidate sent, with the answer that seq carried.
func TestJudge(t *testing.T) {
	it := itemDesc{ID: "item", Kind: "single_choice", Options: []string{"o1", "o2", "o3", "o4"}}
	js := func(seq int64) *string {
		a := answerFor("att", it, seq)
		s := `{"choice":"` + a.Choice + `"}`
		return &s
	}
	other := `{"choice":"elsewhere"}`
	for _, tc := range []struct {
		name  string
		s     storedResponse
		found bool
		want  string
	}{
		{"the acknowledged answer", storedResponse{Seq: 5, AnswerJSON: js(5)}, true, ""},
		{"a later one", storedResponse{Seq: 7, AnswerJSON: js(7)}, true, ""},
		{"missing row", storedResponse{}, false, "no stored response"},
		{"older", storedResponse{Seq: 4, AnswerJSON: js(4)}, true, "below acknowledged"},
		{"from nobody", storedResponse{Seq: 9, AnswerJSON: js(9)}, true, "above any the candidate sent"},
		{"wrong answer", storedResponse{Seq: 5, AnswerJSON: &other}, true, "but seq 5 carried"},
		{"no answer", storedResponse{Seq: 5}, true, "without its answer"},
	} {
		got := judge("att", it, 5, 8, tc.s, tc.found)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	mr := itemDesc{ID: "m", Kind: "multiple_response", Options: []string{"a", "b", "c"}}
	for seq := range int64(50) {
		if a := answerFor("att", mr, seq); len(a.Choices) == 0 || a.Choice != "" {
			t.Fatalf("multiple response answer %+v: want choices", a)
		}
	}
}

func TestParsePgbench(t *testing.T) {
	out := `transaction type: save.sql
number of clients: 4
number of transactions actually processed: 12345
number of failed transactions: 0 (0.000%)
latency average = 0.648 ms
tps = 6170.5 (without initial connection time)
`
	got, err := parsePgbench(out)
	if err != nil || got.PerSecond != 6170.5 || got.Updates != 12345 {
		t.Fatalf("got %+v, %v; want 6170.5 tps, 12345 updates", got, err)
	}
	if _, err := parsePgbench(strings.Replace(out, "failed transactions: 0", "failed transactions: 3", 1)); err == nil {
		t.Error("3 failed transactions: got no error")
	}
	env, err := libpqEnv("postgres://u:secret@db:5433/x?sslmode=disable&search_path=t_1")
	if err != nil || !slices.Contains(env, "PGPASSWORD=secret") || !slices.Contains(env, "PGOPTIONS=-c search_path=t_1") || !slices.Contains(env, "PGPORT=5433") {
		t.Errorf("libpq environment %v, %v", env, err)
	}
}

// TestPgbenchUpdatesTheScratchTable runs pgbench for a second on a fresh
// PostgreSQL schema: the store's UPDATE applies, and the scratch tables
// are gone afterwards.
func TestPgbenchUpdatesTheScratchTable(t *testing.T) {
	db, url := dbtest.PostgresURL(t)
	res, err := RunPgbench(context.Background(), url, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.PerSecond <= 0 || res.Updates == 0 || !strings.Contains(res.Statement, "UPDATE loadtest_bench_responses_") {
		t.Errorf("pgbench result %+v", res)
	}
	var left int64
	if err := db.Raw("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'loadtest_bench_%' AND table_schema = current_schema()").Scan(&left).Error; err != nil || left != 0 {
		t.Errorf("scratch tables left: %d (%v)", left, err)
	}
}

// runAgainstFloor runs cfg against a floor server of its own.
func runAgainstFloor(t *testing.T, cfg Config) Report {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeFloor(ctx, ln, FloorConfig{Ping: 100 * time.Millisecond, SnapshotSeconds: 1}) }()
	cfg.URL = "http://" + ln.Addr().String()
	rep, err := Run(context.Background(), cfg)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("floor: %v", err)
	}
	return rep
}

// TestRunAgainstTheFloor: a paced run against the floor server calls every
// endpoint of a candidate's exam, with no error and every candidate done.
func TestRunAgainstTheFloor(t *testing.T) {
	rep := runAgainstFloor(t, Config{Candidates: 6, Duration: 2 * time.Second,
		SaveEvery: 200 * time.Millisecond, EventEvery: 100 * time.Millisecond, SnapshotEvery: 500 * time.Millisecond,
		Disconnect: 0.5, Offline: 200 * time.Millisecond, Live: true})
	if !rep.OK() || rep.Completed != 6 || rep.Exam != FloorExam {
		t.Fatalf("run: %d errors, problems %v, %d of 6 submitted, exam %q", rep.Errors, rep.Problems, rep.Completed, rep.Exam)
	}
	if rep.InExamPeak != 6 {
		t.Errorf("at most %d candidates in the exam at once, want all 6 (no ramp)", rep.InExamPeak)
	}
	// The steady window: from the last start to the first candidate's
	// time up, with saves in it and no start or submit.
	if s := rep.Steady; s == nil {
		t.Error("no steady window, though every candidate was in the exam at once")
	} else {
		if s.From < 0 || s.To <= s.From || s.To > rep.Elapsed || s.To-s.From > 2 {
			t.Errorf("steady window from %.2f s to %.2f s of a %.2f s run with 2 s in the exam", s.From, s.To, rep.Elapsed)
		}
		steady := map[string]EndpointStats{}
		for _, e := range s.Endpoints {
			steady[e.Name] = e
		}
		if e := steady[EndpointSave]; e.Count == 0 || e.PerSecond <= 0 {
			t.Errorf("steady window: saves %+v, want some", e)
		}
		for _, name := range []string{EndpointStart, EndpointSubmit} {
			if e, ok := steady[name]; ok {
				t.Errorf("steady window holds %d %s calls", e.Count, name)
			}
		}
		var text strings.Builder
		if err := rep.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text.String(), "with every candidate in the exam, from ") {
			t.Errorf("report does not give the steady window:\n%s", text.String())
		}
	}
	calls := map[string]int64{}
	for _, e := range rep.Endpoints {
		calls[e.Name] = e.Count
	}
	for _, e := range []string{EndpointLogin, EndpointStart, EndpointView, EndpointSave, EndpointEvents, EndpointSnapshot,
		EndpointLive, EndpointMessages, EndpointResume, EndpointSubmit} {
		if calls[e] == 0 {
			t.Errorf("no %s call in the run: %v", e, calls)
		}
	}
}

// TestConcurrencyFollowsTheRamp: a ramp longer than the time in the exam
// never has every candidate in it at once, and the report says how many
// were: the figure a claim of concurrent candidates rests on.
func TestConcurrencyFollowsTheRamp(t *testing.T) {
	// Starts 600 ms apart, 300 ms in the exam each.
	rep := runAgainstFloor(t, Config{Candidates: 6,
		Ramp: 3600 * time.Millisecond, Duration: 300 * time.Millisecond, SaveEvery: 100 * time.Millisecond, Live: false})
	if !rep.OK() || rep.Completed != 6 {
		t.Fatalf("run: %d errors, problems %v, %d of 6 submitted", rep.Errors, rep.Problems, rep.Completed)
	}
	if rep.InExamPeak < 1 || rep.InExamPeak > 2 {
		t.Errorf("at most %d candidates in the exam at once, want 1 or 2 of 6", rep.InExamPeak)
	}
	if rep.Steady != nil {
		t.Errorf("steady window from %.2f s to %.2f s, though the candidates were never all in the exam", rep.Steady.From, rep.Steady.To)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("at most %d in the exam at once", rep.InExamPeak); !strings.Contains(text.String(), want) {
		t.Errorf("report does not say %q:\n%s", want, text.String())
	}
}
