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
	"time"

	"filippo.io/age"

	"github.com/touchstone-assess/touchstone/cmd/touchstone/psych"
	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/blob"
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
	// Blob says where files (the photos taken at check-in) are stored.
	Blob blobConfig
	// MetricsAddr is where Prometheus scrapes /metrics: a listener of its
	// own, which the load balancer does not route to. Empty: no metrics.
	MetricsAddr string
	// MetricsToken, when set, is the bearer token a scrape must present;
	// like the S3 secret, it never prints.
	MetricsToken blob.Secret
	// KeySeal is an age identity (AGE-SECRET-KEY-1…) that seals the issuer's
	// private key files at rest; environment only, never printed. Empty:
	// the key files are plain PEM, protected by their mode alone.
	KeySeal blob.Secret
	// SessionIdle ends a session unused for that long; zero keeps the auth
	// package's default.
	SessionIdle time.Duration
}

// minSessionIdle keeps the idle timeout well above the minute to which a
// session's last use is recorded.
const minSessionIdle = 5 * time.Minute

// blobConfig is the file store: a local directory, or an S3-compatible
// bucket when S3 is set.
type blobConfig struct {
	Dir string
	S3  *blob.S3Config
	// MaxSize bounds one file, in bytes.
	MaxSize int64
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
	cfg, rest, err := parseConfigArgs(name, args, getenv, out)
	if err == nil && len(rest) > 0 {
		return config{}, usageError(fmt.Sprintf("unexpected argument %q", rest[0]))
	}
	return cfg, err
}

// parseConfigArgs is parseConfig for commands that take arguments after
// the flags: it returns them.
func parseConfigArgs(name string, args []string, getenv func(string) string, out io.Writer) (config, []string, error) {
	var (
		cfg                  config
		demo, level, proxies string
		sessionIdle          string
		blobURL, blobMax     string
		s3Access             string
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
	add(setting{"issuer-key", "TOUCHSTONE_ISSUER_KEY", "", "Ed25519 issuer key file, PKCS #8 PEM (default <data-dir>/issuer-key.pem; created if missing). TOUCHSTONE_KEY_SEAL (environment only), an age identity, seals the key files at rest", &cfg.IssuerKey})
	add(setting{"issuer-rsa-key", "TOUCHSTONE_ISSUER_RSA_KEY", "", "RSA issuer key file for RS256 VC-JWTs, PKCS #8 PEM (default <data-dir>/issuer-rsa-key.pem; created if missing)", &cfg.IssuerRSAKey})
	add(setting{"proctoring-assets", "TOUCHSTONE_PROCTORING_ASSETS", "web/proctoring/node_modules/@vladmandic/human", "directory of the face-detection package served to candidates' browsers (`npm ci` in web/proctoring installs it)", &cfg.ProctoringAssets})
	add(setting{"blob-url", "TOUCHSTONE_BLOB_URL", "", "where files are stored: a directory, or s3://BUCKET[/PREFIX]?endpoint=HOST[:PORT]&region=…&path-style=true&tls=false (default <data-dir>/blobs)", &blobURL})
	add(setting{"blob-max-size", "TOUCHSTONE_BLOB_MAX_SIZE", strconv.Itoa(blob.DefaultMaxSize), "largest file accepted, in bytes", &blobMax})
	add(setting{"s3-access-key", "TOUCHSTONE_S3_ACCESS_KEY", "", "access key of the S3 bucket; its secret is TOUCHSTONE_S3_SECRET_KEY (environment only). Both empty: AWS_*/MINIO_* variables or the instance's IAM role", &s3Access})
	add(setting{"metrics-addr", "TOUCHSTONE_METRICS_ADDR", "", "address of a separate listener serving Prometheus metrics at /metrics (e.g. 127.0.0.1:9464); empty: off. TOUCHSTONE_METRICS_TOKEN (environment only), if set, is the bearer token a scrape must present", &cfg.MetricsAddr})
	add(setting{"session-idle", "TOUCHSTONE_SESSION_IDLE", "", "a session unused this long ends, e.g. 45m (default 1h; at least 5m); any session ends 12h after sign-in", &sessionIdle})
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
			return config{}, nil, flag.ErrHelp
		}
		return config{}, nil, usageError(err.Error())
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
		return config{}, nil, usageError(fmt.Sprintf("--demo / TOUCHSTONE_DEMO: %q is not true or false", demo))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return config{}, nil, usageError(fmt.Sprintf("--log-level / TOUCHSTONE_LOG_LEVEL: %q is not debug, info, warn or error", level))
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
		return config{}, nil, usageError(fmt.Sprintf("--base-url / TOUCHSTONE_BASE_URL: %q must start with http:// or https://", cfg.BaseURL))
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	cfg.MetricsToken = blob.Secret(getenv("TOUCHSTONE_METRICS_TOKEN"))
	cfg.KeySeal = blob.Secret(strings.TrimSpace(getenv("TOUCHSTONE_KEY_SEAL")))
	if _, err := cfg.keyOptions(); err != nil {
		return config{}, nil, err
	}
	if cfg.MetricsToken != "" && cfg.MetricsAddr == "" {
		return config{}, nil, usageError("TOUCHSTONE_METRICS_TOKEN is set but --metrics-addr / TOUCHSTONE_METRICS_ADDR is not: metrics are off")
	}
	if sessionIdle != "" {
		if cfg.SessionIdle, err = time.ParseDuration(sessionIdle); err != nil || cfg.SessionIdle < minSessionIdle {
			return config{}, nil, usageError(fmt.Sprintf("--session-idle / TOUCHSTONE_SESSION_IDLE: %q is not a duration of at least %s", sessionIdle, minSessionIdle))
		}
	}
	if cfg.Blob, err = parseBlob(blobURL, blobMax, s3Access, getenv("TOUCHSTONE_S3_SECRET_KEY"), cfg.DataDir); err != nil {
		return config{}, nil, err
	}
	return cfg, fs.Args(), nil
}

// parseBlob reads the file store's settings. The S3 secret is read from the
// environment only, never from a flag that process listings would show, and
// is kept as a blob.Secret, which never prints.
func parseBlob(rawURL, maxSize, access, secret, dataDir string) (blobConfig, error) {
	var c blobConfig
	n, err := strconv.ParseInt(maxSize, 10, 64)
	if err != nil || n <= 0 {
		return c, usageError(fmt.Sprintf("--blob-max-size / TOUCHSTONE_BLOB_MAX_SIZE: %q is not a positive number of bytes", maxSize))
	}
	c.MaxSize = n
	switch {
	case strings.HasPrefix(rawURL, "s3://"):
		s3, err := blob.ParseS3URL(rawURL)
		if err != nil {
			return c, usageError(fmt.Sprintf("--blob-url / TOUCHSTONE_BLOB_URL: %v", err))
		}
		if (access == "") != (secret == "") {
			return c, usageError("TOUCHSTONE_S3_ACCESS_KEY and TOUCHSTONE_S3_SECRET_KEY go together: set both or neither")
		}
		s3.AccessKey, s3.SecretKey = access, blob.Secret(secret)
		c.S3 = &s3
	case strings.Contains(rawURL, "://"):
		return c, usageError(fmt.Sprintf("--blob-url / TOUCHSTONE_BLOB_URL: %q is neither a directory nor an s3:// URL", rawURL))
	case access != "" || secret != "":
		return c, usageError("TOUCHSTONE_S3_ACCESS_KEY / TOUCHSTONE_S3_SECRET_KEY are set but TOUCHSTONE_BLOB_URL is not an s3:// URL")
	case rawURL == "":
		c.Dir = filepath.Join(dataDir, "blobs")
	default:
		c.Dir = rawURL
	}
	return c, nil
}

// keyOptions says how the issuer's key files are kept: sealed to the
// identity in KeySeal, or plain.
func (c config) keyOptions() ([]credential.KeyOption, error) {
	if c.KeySeal == "" {
		return nil, nil
	}
	id, err := age.ParseX25519Identity(string(c.KeySeal))
	if err != nil {
		return nil, usageError("TOUCHSTONE_KEY_SEAL is not an age identity (AGE-SECRET-KEY-1…, as age-keygen writes)")
	}
	return []credential.KeyOption{credential.SealedWith(id)}, nil
}
