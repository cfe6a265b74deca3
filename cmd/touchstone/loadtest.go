package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/touchstone-assess/touchstone/cmd/touchstone/loadtest"
)

const loadtestUsage = `usage:
  touchstone loadtest setup --database-url URL --candidates N [--exam TITLE --snapshot-seconds 30]
  touchstone loadtest --url URL --candidates N [--ramp 5m --duration 10m …] [--database-url URL]
  touchstone loadtest --mode saturate --workers C --duration 30s --url URL --database-url URL [--pgbench]
  touchstone loadtest floor [--addr 127.0.0.1:8081 --ping 25s]

setup creates the load accounts (load-000001@loadtest.invalid, …) with one
shared password, hashed once. The run simulates candidates against the
server; start the server with TOUCHSTONE_TRUSTED_PROXIES=127.0.0.1 so that
each candidate's X-Forwarded-For address counts for the login limits.
The command exits 1 when any request failed or an acknowledged answer is
not in the database. floor serves the run's requests with fixed answers
and no work behind them: a run against it measures what the machine
spends on HTTP alone.
`

// runLoadtest runs `touchstone loadtest [setup] [flags]`.
func runLoadtest(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "setup" {
		return loadtestSetup(ctx, args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "floor" {
		return loadtestFloor(ctx, args[1:], stdout)
	}
	fs := loadtestFlags("loadtest", "a run", stdout)
	var cfg loadtest.Config
	var jsonOut, quiet bool
	var cpuProfile string
	var procs int
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "the server's base URL, or several instances' separated by commas (requests go to each in turn)")
	fs.StringVar(&cfg.Mode, "mode", loadtest.ModePaced, "paced (candidates at the player's pace) or saturate (workers save back to back)")
	fs.IntVar(&cfg.Candidates, "candidates", 10, "candidates in a paced run (load accounts first-account…)")
	fs.IntVar(&cfg.Workers, "workers", 8, "candidates saving back to back in a saturating run")
	fs.IntVar(&cfg.FirstAccount, "first-account", 1, "number of the first load account used")
	fs.StringVar(&cfg.Password, "password", loadtest.DefaultPassword, "the load accounts' password")
	fs.DurationVar(&cfg.Ramp, "ramp", 0, "spread the candidates' sign-ins and starts over this long")
	fs.DurationVar(&cfg.Duration, "duration", 0, "time each candidate spends in the exam (saturate: time the workers save) (default 1m)")
	fs.DurationVar(&cfg.SaveEvery, "save-every", 0, "a candidate saves an answer this often (default 20s)")
	fs.DurationVar(&cfg.EventEvery, "event-every", 0, "a candidate posts proctoring events this often (default 10s)")
	fs.DurationVar(&cfg.SnapshotEvery, "snapshot-every", 0, "a candidate posts a webcam snapshot this often, when the exam takes them; at least half the exam's interval (default 30s)")
	fs.Float64Var(&cfg.Disconnect, "disconnect", 0, "share of candidates (0 to 1) that drop their connection once mid-exam and resume")
	fs.BoolVar(&cfg.Outages, "outages", false, "a fault drill: the server or its database goes away during the run; calls that find them unavailable are counted apart, not as errors, and candidates wait as the player does")
	fs.DurationVar(&cfg.Offline, "offline", 0, "how long a dropped candidate stays away (default 5s)")
	fs.StringVar(&cfg.Exam, "exam", "", "title or id of the exam (default: the fixed-form exam with a standard, no prerequisite and the fewest items)")
	fs.BoolVar(&cfg.Live, "live", true, "hold each attempt's server-sent event stream open, as the player does")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "the server's database (postgres://… or the SQLite file), to check the acknowledged answers")
	fs.BoolVar(&cfg.Pgbench, "pgbench", false, "after a saturating run, run pgbench with as many clients on the same PostgreSQL and report the ratio")
	fs.BoolVar(&cfg.ForwardedFor, "forwarded-for", true, "give each candidate its own X-Forwarded-For address (10.x.y.z)")
	fs.IntVar(&cfg.MaxConns, "max-conns", 512, "connections for requests, shared by the candidates as a load balancer's are (event streams have their own)")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "bound on one request (default 30s)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the candidates' choices")
	fs.BoolVar(&jsonOut, "json", false, "write the report as JSON")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write the load tool's own CPU profile to this file: its share of the machine is part of every figure measured on one")
	fs.IntVar(&procs, "procs", 0, "CPUs the tool runs its candidates on, as GOMAXPROCS (default: 1 for a paced run, which needs a fraction of one and spends a fifth more CPU on scheduling with more; every CPU for a saturating run)")
	if help, err := parseLoadtestFlags(fs, args); help || err != nil {
		return err
	}
	if procs < 0 {
		return usageError(fmt.Sprintf("loadtest: --procs %d: must be at least 1", procs))
	}
	if procs == 0 && cfg.Mode != loadtest.ModeSaturate {
		procs = 1
	}
	if procs > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	}
	for name, n := range map[string]int{"candidates": cfg.Candidates, "workers": cfg.Workers, "first-account": cfg.FirstAccount, "max-conns": cfg.MaxConns} {
		if n < 1 {
			return usageError(fmt.Sprintf("loadtest: --%s %d: must be at least 1", name, n))
		}
	}
	if !jsonOut && !quiet {
		cfg.Progress = stdout
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return fmt.Errorf("loadtest: --cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("loadtest: --cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		var ce *loadtest.ConfigError
		if errors.As(err, &ce) {
			return usageError("loadtest: --" + err.Error())
		}
		return fmt.Errorf("loadtest: %w", err)
	}
	if jsonOut {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("loadtest: the run failed: %d request errors, %d lost answers, %d other problems", rep.Errors, lost(rep), len(rep.Problems))
	}
	return nil
}

func lost(r loadtest.Report) int {
	if r.Check == nil {
		return 0
	}
	return r.Check.Lost
}

// loadtestSetup runs `touchstone loadtest setup`.
func loadtestSetup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := loadtestFlags("loadtest setup", "setup", stdout)
	var cfg loadtest.SetupConfig
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "the server's database (postgres://… or the SQLite file); required")
	fs.IntVar(&cfg.Candidates, "candidates", 0, "how many load accounts; required")
	fs.IntVar(&cfg.FirstAccount, "first-account", 1, "number of the first load account")
	fs.StringVar(&cfg.Password, "password", loadtest.DefaultPassword, "their one password")
	fs.IntVar(&cfg.BcryptCost, "bcrypt-cost", 0, "cost of its hash (default: the product's, 12); lower only to measure everything but logins")
	fs.StringVar(&cfg.Exam, "exam", "", "with --snapshot-seconds: the exam (title or id) whose candidates send webcam snapshots")
	fs.IntVar(&cfg.SnapshotSeconds, "snapshot-seconds", 0, "make --exam take a webcam snapshot this often (10 to 600)")
	if help, err := parseLoadtestFlags(fs, args); help || err != nil {
		return err
	}
	if (cfg.Exam == "") != (cfg.SnapshotSeconds == 0) {
		return usageError("loadtest setup: --exam and --snapshot-seconds go together")
	}
	res, err := loadtest.Setup(ctx, cfg)
	if err != nil {
		return fmt.Errorf("loadtest setup: %w", err)
	}
	fmt.Fprintf(stdout, "load accounts: %d created, %d existing (%s …)\n", res.Created, res.Existing, loadtest.AccountEmail(max(cfg.FirstAccount, 1)))
	if res.Exam != "" {
		fmt.Fprintf(stdout, "exam %q takes a webcam snapshot every %d s\n", res.Exam, cfg.SnapshotSeconds)
	}
	return nil
}

// loadtestFloor runs `touchstone loadtest floor`.
func loadtestFloor(ctx context.Context, args []string, stdout io.Writer) error {
	fs := loadtestFlags("loadtest floor", "floor", stdout)
	var cfg loadtest.FloorConfig
	addr := fs.String("addr", "127.0.0.1:8081", "address to listen on")
	fs.DurationVar(&cfg.Ping, "ping", 25*time.Second, "how long an event stream stays silent before a ping, as the server's")
	fs.IntVar(&cfg.SnapshotSeconds, "snapshot-seconds", 30, "webcam snapshot interval of the floor's exam")
	if help, err := parseLoadtestFlags(fs, args); help || err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("loadtest floor: %w", err)
	}
	fmt.Fprintf(stdout, "floor: answering the load tool at http://%s (exam %q) until interrupted\n", ln.Addr(), loadtest.FloorExam)
	return loadtest.ServeFloor(ctx, ln, cfg)
}

// loadtestFlags is the flag set of `touchstone <name>`, whose usage shows
// the commands and then the flags of section.
func loadtestFlags(name, section string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprint(stdout, loadtestUsage, "\nflags of "+section+":\n")
		fs.PrintDefaults()
	}
	return fs
}

// parseLoadtestFlags parses args into fs; help is set when they asked for
// the usage, which has been shown.
func parseLoadtestFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return false, usageError(fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0)))
	}
	return false, nil
}
