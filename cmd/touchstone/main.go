// Command touchstone runs the Touchstone assessment server and its tools.
//
//	touchstone [serve]          run the server (the default)
//	touchstone migrate up       apply pending database migrations
//	touchstone migrate status   list migrations and whether they are applied
//	touchstone psych …          psychometric analyses of CSV files (see psych --help)
//	touchstone verify FILE      verify an Open Badges 3.0 credential (JSON, VC-JWT, baked PNG or SVG)
//	touchstone keys rotate      replace the issuer's signing keys, keeping the old ones published
//	touchstone keys reissue KEY --reason TEXT   re-issue what a compromised key signed
//	touchstone backup --out FILE   archive the database, files and issuer keys (- for stdout), while servers run
//	touchstone restore FILE        restore an archive into an empty database and file store
//	touchstone loadtest setup …  create load-test accounts (one shared password hash)
//	touchstone loadtest …        simulate candidates against a server (see loadtest --help)
//
// Every setting has a flag and an environment variable; `touchstone --help`
// lists them. With none set, the server runs on an embedded SQLite file and
// in-process shared state in ./data, and loads the demo program.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/touchstone-assess/touchstone/cmd/touchstone/psych"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "touchstone:", err)
		os.Exit(exitCode(err))
	}
}

// run is the whole program: it parses args (falling back on getenv for
// settings), and runs the subcommand until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd, rest := "serve", args
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		cfg, err := parseConfig("serve", rest, getenv, stdout)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stdout)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout)
	case "psych":
		return psych.Run(rest, stdout)
	case "verify":
		return verify(ctx, rest, stdout)
	case "keys":
		return keys(ctx, rest, getenv, stdout)
	case "backup":
		return backupCmd(ctx, rest, getenv, stdout)
	case "restore":
		return restoreCmd(ctx, rest, getenv, stdout)
	case "loadtest":
		return runLoadtest(ctx, rest, stdout)
	case "help":
		_, _ = parseConfig("serve", []string{"--help"}, getenv, stdout)
		return nil
	default:
		return usageError(fmt.Sprintf("unknown command %q (commands: serve, migrate, psych, verify, keys, backup, restore, loadtest)", cmd))
	}
}
