// Command psychbench measures the psychometrics package against the R
// reference implementations on the same data, in one run, and checks that
// both agree. It writes the data sets to a directory, times the Go functions
// in this process (testing.Benchmark) and the R functions with Rscript
// (bench.R, beside this file), and prints a Markdown table of the figures.
//
//	go run ./cmd/psychbench [-reps 3] [-only ctt,rasch,dif,mml,cat] [-dir DIR]
//
// It needs Debian's r-base-core, r-cran-psych and r-cran-psychotools for
// the R side; tasks without an R reference report the Go figure alone.
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "psychbench:", err)
		os.Exit(1)
	}
}

// result is one row of the report.
type result struct {
	task, data string
	goTime     time.Duration
	rName      string
	rTime      time.Duration // 0 when there is no R reference
	agreement  string
	target     string
}

type bench struct {
	name string
	run  func(b *bencher) (result, error)
}

// bencher holds what every task needs.
type bencher struct {
	dir  string
	reps int
	r    string // path of bench.R
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("psychbench", flag.ContinueOnError)
	reps := fs.Int("reps", 3, "repetitions of each R timing (the median is reported)")
	only := fs.String("only", "ctt,rasch,dif,mml,cat", "comma-separated tasks to run")
	dir := fs.String("dir", "", "directory for the data sets (default: a temporary directory, removed afterwards)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b := &bencher{dir: *dir, reps: *reps}
	if b.dir == "" {
		d, err := os.MkdirTemp("", "psychbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		b.dir = d
	}
	_, self, _, _ := runtime.Caller(0)
	b.r = filepath.Join(filepath.Dir(self), "bench.R")

	all := []bench{{"ctt", benchCTT}, {"rasch", benchRasch}, {"dif", benchDIF}, {"mml", benchMML}, {"cat", benchCAT}}
	var results []result
	for _, name := range strings.Split(*only, ",") {
		found := false
		for _, t := range all {
			if t.name == strings.TrimSpace(name) {
				found = true
				fmt.Fprintf(os.Stderr, "psychbench: %s…\n", t.name)
				res, err := t.run(b)
				if err != nil {
					return fmt.Errorf("%s: %w", t.name, err)
				}
				results = append(results, res)
			}
		}
		if !found {
			return fmt.Errorf("unknown task %q", name)
		}
	}
	fmt.Fprintf(stdout, "Measured %s on %s/%s, %d CPUs, Go %s.\n\n", time.Now().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintln(stdout, "| task | data | Touchstone | R | R / Touchstone | target | agreement |")
	fmt.Fprintln(stdout, "| --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range results {
		rcol, ratio := "—", "—"
		if r.rTime > 0 {
			rcol = fmt.Sprintf("%s: %s", r.rName, round(r.rTime))
			ratio = fmt.Sprintf("%.1f×", float64(r.rTime)/float64(r.goTime))
		}
		fmt.Fprintf(stdout, "| %s | %s | %s | %s | %s | %s | %s |\n", r.task, r.data, round(r.goTime), rcol, ratio, r.target, r.agreement)
	}
	return nil
}

func round(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// timeGo returns the time per call of f, by testing.Benchmark.
func timeGo(f func()) time.Duration {
	r := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			f()
		}
	})
	return time.Duration(r.NsPerOp())
}

// timeR runs bench.R on task and returns its median time and its estimates.
func (b *bencher) timeR(task string) (time.Duration, map[string]float64, error) {
	cmd := exec.Command("Rscript", b.r, task, b.dir, strconv.Itoa(b.reps))
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return 0, nil, fmt.Errorf("the R reference needs Rscript: install r-base-core, r-cran-psych and r-cran-psychotools")
		}
		return 0, nil, fmt.Errorf("rscript %s: %w", task, err)
	}
	f, err := os.Open(filepath.Join(b.dir, task+"_r.csv"))
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return 0, nil, err
	}
	out := map[string]float64{}
	for _, row := range rows[1:] {
		v, err := strconv.ParseFloat(row[1], 64)
		if err != nil {
			v = math.NaN()
		}
		out[row[0]] = v
	}
	return time.Duration(out["seconds"] * float64(time.Second)), out, nil
}

// writeMatrix writes x as CSV with a person column and items i1..ik.
func (b *bencher) writeMatrix(name string, x *mat.Dense) error {
	f, err := os.Create(filepath.Join(b.dir, name))
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r, k := x.Dims()
	w.WriteString("person")
	for j := range k {
		fmt.Fprintf(w, ",i%d", j+1)
	}
	w.WriteByte('\n')
	for i := range r {
		w.WriteString(strconv.Itoa(i + 1))
		for j := range k {
			w.WriteByte(',')
			w.WriteString(strconv.Itoa(int(x.At(i, j))))
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// simulate returns persons × len(items) responses with θ ~ N(mean, 1).
func simulate(seed uint64, persons int, items []psychometrics.Item3PL, mean float64) *mat.Dense {
	rng := rand.New(rand.NewPCG(seed, 1))
	theta := make([]float64, persons)
	for i := range theta {
		theta[i] = mean + rng.NormFloat64()
	}
	return psychometrics.Simulate3PL(rng, theta, items)
}

// bank returns k items: a log-normal(0, 0.3), b ~ N(0, 1), c as given.
func bank(seed uint64, k int, rasch bool, c float64) []psychometrics.Item3PL {
	rng := rand.New(rand.NewPCG(seed, 2))
	items := make([]psychometrics.Item3PL, k)
	for j := range items {
		items[j] = psychometrics.Item3PL{A: 1, B: rng.NormFloat64(), C: c}
		if !rasch {
			items[j].A = math.Exp(0.3 * rng.NormFloat64())
		}
	}
	return items
}

func maxAbsDiff(got []float64, want func(j int) float64) float64 {
	var m float64
	for j, g := range got {
		m = math.Max(m, math.Abs(g-want(j)))
	}
	return m
}
