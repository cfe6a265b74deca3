package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/touchstone-assess/touchstone/migrations"
)

// migrate runs `touchstone migrate up|status`.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		return usageError("usage: touchstone migrate up|status [flags]")
	}
	cfg, err := parseConfig("migrate "+args[0], args[1:], getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	db, err := migrations.Connect(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer migrations.Close(db)
	if args[0] == "up" {
		v, err := migrations.Up(ctx, db)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "database at version %d\n", v)
		return nil
	}
	statuses, err := migrations.Statuses(ctx, db)
	if err != nil {
		return err
	}
	for _, s := range statuses {
		state := "pending"
		if s.Applied {
			state = "applied " + s.AppliedAt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		fmt.Fprintf(stdout, "%05d  %-32s %s\n", s.Version, s.Source, state)
	}
	return nil
}
