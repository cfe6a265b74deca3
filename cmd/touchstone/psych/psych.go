// Package psych is the `touchstone psych` command line: a thin shell over
// package psychometrics that reads CSV files, runs one analysis and writes
// the result as JSON (field names in snake_case, stable) or as a table.
//
// Inputs are CSV files with a header row. Response files have an optional
// first column "person" and one column per item; a problem in any input is
// reported with its file, line and column, and the command exits non-zero.
package psych

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
)

// UsageError is a mistake in the command line itself (an unknown
// subcommand, a missing or invalid flag); callers exit with status 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// command is one `touchstone psych` subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout io.Writer) error
}

func commands() []command {
	return []command{
		{"ctt", "classical item and test analysis (scored data, or raw data with a key)", runCTT},
		{"irt", "IRT calibration: Rasch (CML), 1PL, 2PL, 3PL (MML)", runIRT},
		{"theta", "person scores (MLE, WLE, EAP) with standard errors and person fit", runTheta},
		{"dif", "Mantel–Haenszel DIF with ETS classes", runDIF},
		{"angoff", "modified or Yes/No Angoff cut score", runAngoff},
		{"bookmark", "Bookmark cut score from an ordered item booklet", runBookmark},
		{"hofstee", "Hofstee compromise cut score", runHofstee},
		{"beuk", "Beuk compromise cut score", runBeuk},
		{"groups", "borderline-group and contrasting-groups cut scores", runGroups},
		{"consistency", "decision consistency and accuracy at a cut", runConsistency},
		{"equate", "linking constants, IRT true-score and equipercentile equating", runEquate},
		{"simulate", "simulate responses from item and person parameters", runSimulate},
		{"forensics", "statistical forensics: person fit, response-time anomalies, answer similarity (timed with answer times), ranked by risk", runForensics},
		{"cat-sim", "adaptive (CAT) versus fixed-form test length at equal reliability, by simulation", runCATSim},
	}
}

// Run runs `touchstone psych <subcommand> [flags]` with args after "psych".
func Run(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return usagef("psych: want a subcommand")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(args[1:], stdout)
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	return usagef("psych: unknown subcommand %q (try touchstone psych --help)", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: touchstone psych <subcommand> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Psychometric analyses of CSV files. Output is JSON unless --format table.")
	fmt.Fprintln(w, "Each subcommand lists its flags with --help.")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
}

// flags is a subcommand's flag set with the options every subcommand shares.
type flags struct {
	*flag.FlagSet
	format   string
	csv      bool // the subcommand can also write --format csv
	synopsis string
	stdout   io.Writer
}

func newFlags(name, synopsis string, stdout io.Writer) *flags {
	fs := flag.NewFlagSet("psych "+name, flag.ContinueOnError)
	f := &flags{FlagSet: fs, synopsis: synopsis, stdout: stdout}
	fs.StringVar(&f.format, "format", "json", "output `format`: json or table")
	return f
}

// parse parses args and checks the shared flags and that every required flag
// was given. With -h or --help it prints the usage to stdout and returns
// flag.ErrHelp.
func (f *flags) parse(args []string, required ...string) error {
	f.SetOutput(io.Discard)
	f.Usage = func() {}
	err := f.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		f.SetOutput(f.stdout)
		fmt.Fprintf(f.stdout, "usage: touchstone psych %s\n\n", f.synopsis)
		f.PrintDefaults()
		return err
	}
	if err != nil {
		return usagef("%s: %v", f.Name(), err)
	}
	if f.NArg() > 0 {
		return usagef("%s: unexpected argument %q", f.Name(), f.Arg(0))
	}
	if f.format != "json" && f.format != "table" && !(f.csv && f.format == "csv") {
		want := "json or table"
		if f.csv {
			want = "json, table or csv"
		}
		return usagef("%s: --format %q: want %s", f.Name(), f.format, want)
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, name := range required {
		if !set[name] {
			return usagef("%s: --%s is required (see --help)", f.Name(), name)
		}
	}
	return nil
}

// output writes v as indented JSON, or calls table to print it for reading.
func (f *flags) output(w io.Writer, v any, table func(*tabwriter.Writer)) error {
	if f.format == "table" {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		table(tw)
		return tw.Flush()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// num is a float that encodes NaN and ±Inf (an undefined statistic) as JSON
// null.
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	v := float64(n)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// String formats n for tables: four decimals, "NA" when undefined.
func (n num) String() string {
	v := float64(n)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "NA"
	}
	return fmt.Sprintf("%.4f", v)
}

func nums(xs []float64) []num {
	out := make([]num, len(xs))
	for i, x := range xs {
		out[i] = num(x)
	}
	return out
}

// row prints tab-separated cells followed by a tab, as tabwriter's right
// alignment wants.
func row(tw *tabwriter.Writer, cells ...any) {
	var b strings.Builder
	for _, c := range cells {
		fmt.Fprint(&b, c, "\t")
	}
	fmt.Fprintln(tw, b.String())
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// inputErrorf reports a problem with the data of a file as a whole (one the
// analysis found, rather than the parser).
func inputErrorf(file, format string, args ...any) error {
	return &InputError{File: file, Msg: fmt.Sprintf(format, args...)}
}

// ceilScore is the lowest integer raw score at or above cut: the passing
// score when candidates pass at score ≥ cut.
func ceilScore(cut float64) int {
	if math.IsNaN(cut) {
		return -1
	}
	return int(math.Ceil(cut - 1e-9))
}

func nan() float64 { return math.NaN() }
