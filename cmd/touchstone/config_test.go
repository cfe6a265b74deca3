package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/touchstone-assess/touchstone/internal/blob"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestHelpListsEverySetting(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, env(nil), &out); err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"TOUCHSTONE_ADDR", "TOUCHSTONE_DATA_DIR", "TOUCHSTONE_DATABASE_URL", "TOUCHSTONE_REDIS_URL",
		"TOUCHSTONE_REDIS_PREFIX", "TOUCHSTONE_BASE_URL", "TOUCHSTONE_DEMO", "TOUCHSTONE_DEMO_PASSWORD", "TOUCHSTONE_LOG_LEVEL",
		"TOUCHSTONE_ISSUER_KEY", "TOUCHSTONE_ISSUER_RSA_KEY", "TOUCHSTONE_PROCTORING_ASSETS", "TOUCHSTONE_BLOB_URL", "TOUCHSTONE_BLOB_MAX_SIZE", "TOUCHSTONE_S3_ACCESS_KEY",
		"TOUCHSTONE_S3_SECRET_KEY", "TOUCHSTONE_METRICS_ADDR", "TOUCHSTONE_METRICS_TOKEN", "TOUCHSTONE_SESSION_IDLE", "TOUCHSTONE_KEY_SEAL", "--addr", "--database-url"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s:\n%s", want, out.String())
		}
	}
}

var defaultBlob = blobConfig{Dir: filepath.Join("data", "blobs"), MaxSize: blob.DefaultMaxSize}

func TestConfigPrecedence(t *testing.T) {
	const human = "web/proctoring/node_modules/@vladmandic/human"
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want config
	}{
		{"defaults", nil, nil, config{Addr: "127.0.0.1:8080", DataDir: "./data", DatabaseURL: filepath.Join("data", "touchstone.db"),
			RedisPrefix: "touchstone:", Demo: true, LogLevel: slog.LevelInfo, IssuerKey: filepath.Join("data", "issuer-key.pem"), IssuerRSAKey: filepath.Join("data", "issuer-rsa-key.pem"), Blob: defaultBlob, ProctoringAssets: human}},
		{"environment", nil, map[string]string{"TOUCHSTONE_ADDR": ":9000", "TOUCHSTONE_DATA_DIR": "/srv/ts", "TOUCHSTONE_DEMO": "false",
			"TOUCHSTONE_DATABASE_URL": "postgres://db/ts", "TOUCHSTONE_BASE_URL": "https://exams.example.org/", "TOUCHSTONE_LOG_LEVEL": "debug",
			"TOUCHSTONE_PROCTORING_ASSETS": "/opt/touchstone/human"},
			config{Addr: ":9000", DataDir: "/srv/ts", DatabaseURL: "postgres://db/ts", RedisPrefix: "touchstone:", BaseURL: "https://exams.example.org",
				LogLevel: slog.LevelDebug, IssuerKey: "/srv/ts/issuer-key.pem", IssuerRSAKey: "/srv/ts/issuer-rsa-key.pem", Blob: blobConfig{Dir: "/srv/ts/blobs", MaxSize: blob.DefaultMaxSize}, ProctoringAssets: "/opt/touchstone/human"}},
		{"trusted proxies", nil, map[string]string{"TOUCHSTONE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7"},
			config{Addr: "127.0.0.1:8080", DataDir: "./data", DatabaseURL: filepath.Join("data", "touchstone.db"), RedisPrefix: "touchstone:",
				Demo: true, LogLevel: slog.LevelInfo, IssuerKey: filepath.Join("data", "issuer-key.pem"), IssuerRSAKey: filepath.Join("data", "issuer-rsa-key.pem"), TrustedProxies: []string{"10.0.0.0/8", "192.168.1.7"}, Blob: defaultBlob, ProctoringAssets: human}},
		{"session idle", nil, map[string]string{"TOUCHSTONE_SESSION_IDLE": "45m"},
			config{Addr: "127.0.0.1:8080", DataDir: "./data", DatabaseURL: filepath.Join("data", "touchstone.db"), RedisPrefix: "touchstone:",
				Demo: true, LogLevel: slog.LevelInfo, IssuerKey: filepath.Join("data", "issuer-key.pem"), IssuerRSAKey: filepath.Join("data", "issuer-rsa-key.pem"), Blob: defaultBlob, ProctoringAssets: human, SessionIdle: 45 * time.Minute}},
		{"files in a directory", []string{"--blob-url", "/srv/files"}, map[string]string{"TOUCHSTONE_BLOB_MAX_SIZE": "1048576"},
			config{Addr: "127.0.0.1:8080", DataDir: "./data", DatabaseURL: filepath.Join("data", "touchstone.db"), RedisPrefix: "touchstone:",
				Demo: true, LogLevel: slog.LevelInfo, IssuerKey: filepath.Join("data", "issuer-key.pem"), IssuerRSAKey: filepath.Join("data", "issuer-rsa-key.pem"),
				Blob: blobConfig{Dir: "/srv/files", MaxSize: 1 << 20}, ProctoringAssets: human}},
		{"files in a bucket", nil, map[string]string{"TOUCHSTONE_BLOB_URL": "s3://evidence/ts/?endpoint=minio:9000&region=eu-west-1&path-style=true&tls=false",
			"TOUCHSTONE_S3_ACCESS_KEY": "AKIA1", "TOUCHSTONE_S3_SECRET_KEY": "s3cret"},
			config{Addr: "127.0.0.1:8080", DataDir: "./data", DatabaseURL: filepath.Join("data", "touchstone.db"), RedisPrefix: "touchstone:",
				Demo: true, LogLevel: slog.LevelInfo, IssuerKey: filepath.Join("data", "issuer-key.pem"), IssuerRSAKey: filepath.Join("data", "issuer-rsa-key.pem"),
				Blob: blobConfig{MaxSize: blob.DefaultMaxSize, S3: &blob.S3Config{Endpoint: "minio:9000", Bucket: "evidence", Prefix: "ts/", Region: "eu-west-1",
					AccessKey: "AKIA1", SecretKey: "s3cret", PathStyle: true, DisableTLS: true}}, ProctoringAssets: human}},
		{"metrics on a port of their own", []string{"--metrics-addr", "10.0.0.5:9464"}, map[string]string{"TOUCHSTONE_METRICS_TOKEN": "scrape-me"},
			config{Addr: "127.0.0.1:8080", DataDir: "./data", DatabaseURL: filepath.Join("data", "touchstone.db"), RedisPrefix: "touchstone:",
				Demo: true, LogLevel: slog.LevelInfo, IssuerKey: filepath.Join("data", "issuer-key.pem"), IssuerRSAKey: filepath.Join("data", "issuer-rsa-key.pem"), Blob: defaultBlob, ProctoringAssets: human,
				MetricsAddr: "10.0.0.5:9464", MetricsToken: "scrape-me"}},
		{"a flag beats the environment", []string{"--addr", "127.0.0.1:0"}, map[string]string{"TOUCHSTONE_ADDR": ":9000"},
			config{Addr: "127.0.0.1:0", DataDir: "./data", DatabaseURL: filepath.Join("data", "touchstone.db"), RedisPrefix: "touchstone:",
				Demo: true, LogLevel: slog.LevelInfo, IssuerKey: filepath.Join("data", "issuer-key.pem"), IssuerRSAKey: filepath.Join("data", "issuer-rsa-key.pem"), Blob: defaultBlob, ProctoringAssets: human}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConfig("serve", tc.args, env(tc.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestBadSettingsAreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"demo not a boolean", nil, map[string]string{"TOUCHSTONE_DEMO": "maybe"}, "TOUCHSTONE_DEMO"},
		{"unknown log level", []string{"--log-level", "loud"}, nil, "TOUCHSTONE_LOG_LEVEL"},
		{"base url without scheme", nil, map[string]string{"TOUCHSTONE_BASE_URL": "exams.example.org"}, "TOUCHSTONE_BASE_URL"},
		{"blob url of another scheme", nil, map[string]string{"TOUCHSTONE_BLOB_URL": "ftp://files"}, "TOUCHSTONE_BLOB_URL"},
		{"bucket missing", nil, map[string]string{"TOUCHSTONE_BLOB_URL": "s3://?endpoint=minio:9000"}, "TOUCHSTONE_BLOB_URL"},
		{"credentials in the blob url", nil, map[string]string{"TOUCHSTONE_BLOB_URL": "s3://k:s@evidence"}, "TOUCHSTONE_S3_SECRET_KEY"},
		{"access key without secret", nil, map[string]string{"TOUCHSTONE_BLOB_URL": "s3://evidence", "TOUCHSTONE_S3_ACCESS_KEY": "AKIA1"}, "TOUCHSTONE_S3_SECRET_KEY"},
		{"s3 keys without a bucket", nil, map[string]string{"TOUCHSTONE_S3_ACCESS_KEY": "AKIA1", "TOUCHSTONE_S3_SECRET_KEY": "x"}, "TOUCHSTONE_BLOB_URL"},
		{"blob max size not a number", nil, map[string]string{"TOUCHSTONE_BLOB_MAX_SIZE": "16MB"}, "TOUCHSTONE_BLOB_MAX_SIZE"},
		{"metrics token without metrics", nil, map[string]string{"TOUCHSTONE_METRICS_TOKEN": "scrape-me"}, "TOUCHSTONE_METRICS_ADDR"},
		{"session idle not a duration", nil, map[string]string{"TOUCHSTONE_SESSION_IDLE": "an hour"}, "TOUCHSTONE_SESSION_IDLE"},
		{"session idle too short", []string{"--session-idle", "90s"}, nil, "TOUCHSTONE_SESSION_IDLE"},
		{"key seal not an age identity", nil, map[string]string{"TOUCHSTONE_KEY_SEAL": "hunter2"}, "TOUCHSTONE_KEY_SEAL"},
		{"unknown flag", []string{"--colour"}, nil, "colour"},
		{"unknown command", []string{"frobnicate"}, nil, "frobnicate"},
		{"migrate without a verb", []string{"migrate"}, nil, "migrate up|status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, env(tc.env), &bytes.Buffer{})
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) || exitCode(err) != 2 {
				t.Fatalf("got %v (exit %d), want a usage error naming %s", err, exitCode(err), tc.want)
			}
		})
	}
}

func TestMigrateUpAndStatus(t *testing.T) {
	dir := t.TempDir()
	e := env(map[string]string{"TOUCHSTONE_DATA_DIR": dir})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "status"}, e, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pending") {
		t.Fatalf("status before up:\n%s\nwant pending migrations", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"migrate", "up"}, e, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "database at version") {
		t.Fatalf("up said %q", out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"migrate", "status"}, e, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "pending") || !strings.Contains(out.String(), "applied") {
		t.Fatalf("status after up:\n%s\nwant every migration applied", out.String())
	}
}

// TestS3SecretNeverPrints: the configuration, however printed, hides the
// bucket's secret.
func TestS3SecretNeverPrints(t *testing.T) {
	cfg, err := parseConfig("serve", nil, env(map[string]string{"TOUCHSTONE_BLOB_URL": "s3://evidence",
		"TOUCHSTONE_S3_ACCESS_KEY": "AKIA1", "TOUCHSTONE_S3_SECRET_KEY": "hunter2-secret"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "blob", cfg.Blob.S3, "s3", *cfg.Blob.S3)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", cfg, *cfg.Blob.S3, *cfg.Blob.S3), logged.String()} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("the secret shows: %s", out)
		}
	}
	if string(cfg.Blob.S3.SecretKey) != "hunter2-secret" {
		t.Fatalf("secret = %q, want the environment's", string(cfg.Blob.S3.SecretKey))
	}
}

// TestMetricsTokenNeverPrints: the configuration, however printed, hides
// the scrape token.
func TestMetricsTokenNeverPrints(t *testing.T) {
	cfg, err := parseConfig("serve", nil, env(map[string]string{"TOUCHSTONE_METRICS_ADDR": "127.0.0.1:9464",
		"TOUCHSTONE_METRICS_TOKEN": "hunter2-token"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "token", cfg.MetricsToken)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), logged.String()} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("the token shows: %s", out)
		}
	}
}

// TestKeySealNeverPrints: the configuration, however printed or logged,
// hides the identity that seals the issuer's keys.
func TestKeySealNeverPrints(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimPrefix(id.String(), "AGE-SECRET-KEY-1")
	cfg, err := parseConfig("serve", nil, env(map[string]string{"TOUCHSTONE_KEY_SEAL": id.String()}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", cfg, "seal", cfg.KeySeal)
	for _, out := range []string{fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), logged.String()} {
		if strings.Contains(out, secret[:20]) {
			t.Errorf("the identity shows: %s", out)
		}
	}
	if opts, err := cfg.keyOptions(); err != nil || len(opts) != 1 {
		t.Errorf("key options: %d, %v; want the sealing option", len(opts), err)
	}
}
