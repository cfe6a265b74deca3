package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestHelpListsEverySetting(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, env(nil), &out); err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"TOUCHSTONE_ADDR", "TOUCHSTONE_DATA_DIR", "TOUCHSTONE_DATABASE_URL", "TOUCHSTONE_REDIS_URL",
		"TOUCHSTONE_REDIS_PREFIX", "TOUCHSTONE_BASE_URL", "TOUCHSTONE_DEMO", "TOUCHSTONE_DEMO_PASSWORD", "TOUCHSTONE_LOG_LEVEL",
		"TOUCHSTONE_ISSUER_KEY", "TOUCHSTONE_ISSUER_RSA_KEY", "TOUCHSTONE_PROCTORING_ASSETS", "--addr", "--database-url"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s:\n%s", want, out.String())
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	const human = "web/proctoring/node_modules/@vladmandic/human"
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want config
	}{
		{"defaults", nil, nil, config{Addr: "127.0.0.1:8080", DataDir: "./data", DatabaseURL: filepath.Join("data", "touchstone.db"),
			RedisPrefix: "touchstone:", Demo: true, LogLevel: slog.LevelInfo, IssuerKey: filepath.Join("data", "issuer-key.pem"), IssuerRSAKey: filepath.Join("data", "issuer-rsa-key.pem"), ProctoringAssets: human}},
		{"environment", nil, map[string]string{"TOUCHSTONE_ADDR": ":9000", "TOUCHSTONE_DATA_DIR": "/srv/ts", "TOUCHSTONE_DEMO": "false",
			"TOUCHSTONE_DATABASE_URL": "postgres://db/ts", "TOUCHSTONE_BASE_URL": "https://exams.example.org/", "TOUCHSTONE_LOG_LEVEL": "debug",
			"TOUCHSTONE_PROCTORING_ASSETS": "/opt/touchstone/human"},
			config{Addr: ":9000", DataDir: "/srv/ts", DatabaseURL: "postgres://db/ts", RedisPrefix: "touchstone:", BaseURL: "https://exams.example.org",
				LogLevel: slog.LevelDebug, IssuerKey: "/srv/ts/issuer-key.pem", IssuerRSAKey: "/srv/ts/issuer-rsa-key.pem", ProctoringAssets: "/opt/touchstone/human"}},
		{"trusted proxies", nil, map[string]string{"TOUCHSTONE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7"},
			config{Addr: "127.0.0.1:8080", DataDir: "./data", DatabaseURL: filepath.Join("data", "touchstone.db"), RedisPrefix: "touchstone:",
				Demo: true, LogLevel: slog.LevelInfo, IssuerKey: filepath.Join("data", "issuer-key.pem"), IssuerRSAKey: filepath.Join("data", "issuer-rsa-key.pem"), TrustedProxies: []string{"10.0.0.0/8", "192.168.1.7"}, ProctoringAssets: human}},
		{"a flag beats the environment", []string{"--addr", "127.0.0.1:0"}, map[string]string{"TOUCHSTONE_ADDR": ":9000"},
			config{Addr: "127.0.0.1:0", DataDir: "./data", DatabaseURL: filepath.Join("data", "touchstone.db"), RedisPrefix: "touchstone:",
				Demo: true, LogLevel: slog.LevelInfo, IssuerKey: filepath.Join("data", "issuer-key.pem"), IssuerRSAKey: filepath.Join("data", "issuer-rsa-key.pem"), ProctoringAssets: human}},
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
