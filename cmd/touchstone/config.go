package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/touchstone-assess/touchstone/cmd/touchstone/psych"
)

// config is every setting of the server.
type config struct {
	Addr         string
	DataDir      string
	DatabaseURL  string
	RedisURL     string
	RedisPrefix  string
	BaseURL      string
	Demo         bool
	DemoPassword string
	LogLevel     slog.Level
	IssuerKey    string
	IssuerRSAKey string
	// TrustedProxies lists load balancers whose X-Forwarded-For is believed.
	TrustedProxies []string
	// ProctoringAssets is the installed @vladmandic/human package whose
	// bundle and face models the server serves to candidates' browsers.
	ProctoringAssets string
}

// usageError is a mistake in the command line; main exits 2 on it.
type usageError string

func (e usageError) Error() string { return string(e) }

func exitCode(err error) int {
	var u usageError
	var pu *psych.UsageError
	if errors.As(err, &u) || errors.As(err, &pu) {
		return 2
	}
	return 1
}

// setting is one flag with its environment variable and default.
type setting struct {
	flag, env, def, usage string
	dst                   *string
}

// parseConfig reads flags, then the environment for every flag not given,
// then the defaults. --help prints every setting with its variable and
// returns flag.ErrHelp.
func parseConfig(name string, args []string, getenv func(string) string, out io.Writer) (config, error) {
	var (
		cfg                  config
		demo, level, proxies string
		settings             []setting
		fs                   = flag.NewFlagSet(name, flag.ContinueOnError)
		add                  = func(s setting) { settings = append(settings, s); fs.StringVar(s.dst, s.flag, "", s.usage) }
	)
	add(setting{"addr", "TOUCHSTONE_ADDR", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)", &cfg.Addr})
	add(setting{"data-dir", "TOUCHSTONE_DATA_DIR", "./data", "directory for the SQLite database, the issuer key and files", &cfg.DataDir})
	add(setting{"database-url", "TOUCHSTONE_DATABASE_URL", "", "postgres://… for PostgreSQL; empty for SQLite in the data directory", &cfg.DatabaseURL})
	add(setting{"redis-url", "TOUCHSTONE_REDIS_URL", "", "redis://… for shared state across instances; empty for in-process", &cfg.RedisURL})
	add(setting{"redis-prefix", "TOUCHSTONE_REDIS_PREFIX", "touchstone:", "prefix of every Redis key and channel, so deployments can share a server", &cfg.RedisPrefix})
	add(setting{"base-url", "TOUCHSTONE_BASE_URL", "", "public URL of this deployment, used in credentials (default http://<addr>)", &cfg.BaseURL})
	add(setting{"demo", "TOUCHSTONE_DEMO", "true", "load the demo program into an empty database", &demo})
	add(setting{"demo-password", "TOUCHSTONE_DEMO_PASSWORD", "", "password of the demo accounts (default: random, printed once)", &cfg.DemoPassword})
	add(setting{"log-level", "TOUCHSTONE_LOG_LEVEL", "info", "debug, info, warn or error", &level})
	add(setting{"issuer-key", "TOUCHSTONE_ISSUER_KEY", "", "Ed25519 issuer key file, PKCS #8 PEM (default <data-dir>/issuer-key.pem; created if missing)", &cfg.IssuerKey})
	add(setting{"issuer-rsa-key", "TOUCHSTONE_ISSUER_RSA_KEY", "", "RSA issuer key file for RS256 VC-JWTs, PKCS #8 PEM (default <data-dir>/issuer-rsa-key.pem; created if missing)", &cfg.IssuerRSAKey})
	add(setting{"proctoring-assets", "TOUCHSTONE_PROCTORING_ASSETS", "web/proctoring/node_modules/@vladmandic/human", "directory of the face-detection package served to candidates' browsers (`npm ci` in web/proctoring installs it)", &cfg.ProctoringAssets})
	add(setting{"trusted-proxies", "TOUCHSTONE_TRUSTED_PROXIES", "", "comma-separated addresses or CIDRs of load balancers whose X-Forwarded-For names the client", &proxies})
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: touchstone %s [flags]\n\nSettings (flag, environment variable, default):\n", name)
		for _, s := range settings {
			def := s.def
			if def == "" {
				def = "(empty)"
			}
			fmt.Fprintf(out, "  --%-14s %-26s %s\n      %s\n", s.flag, s.env, def, s.usage)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, flag.ErrHelp
		}
		return config{}, usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return config{}, usageError(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range settings {
		if !given[s.flag] {
			*s.dst = getenv(s.env)
			if *s.dst == "" {
				*s.dst = s.def
			}
		}
	}
	var err error
	if cfg.Demo, err = strconv.ParseBool(demo); err != nil {
		return config{}, usageError(fmt.Sprintf("--demo / TOUCHSTONE_DEMO: %q is not true or false", demo))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return config{}, usageError(fmt.Sprintf("--log-level / TOUCHSTONE_LOG_LEVEL: %q is not debug, info, warn or error", level))
	}
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			cfg.TrustedProxies = append(cfg.TrustedProxies, p)
		}
	}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = filepath.Join(cfg.DataDir, "touchstone.db")
	}
	if cfg.IssuerKey == "" {
		cfg.IssuerKey = filepath.Join(cfg.DataDir, "issuer-key.pem")
	}
	if cfg.IssuerRSAKey == "" {
		cfg.IssuerRSAKey = filepath.Join(cfg.DataDir, "issuer-rsa-key.pem")
	}
	if cfg.BaseURL != "" && !strings.HasPrefix(cfg.BaseURL, "http://") && !strings.HasPrefix(cfg.BaseURL, "https://") {
		return config{}, usageError(fmt.Sprintf("--base-url / TOUCHSTONE_BASE_URL: %q must start with http:// or https://", cfg.BaseURL))
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return cfg, nil
}
