package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The files of deploy/ describe a deployment of several instances; these
// tests keep them true to the program, so that the documentation cannot
// rot.

// readEnvFile reads deploy/touchstone.env as systemd's EnvironmentFile=
// does: NAME=value lines, # comments and blank lines ignored.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(name, " \t") {
			t.Fatalf("%s:%d: %q is not NAME=value", path, n, line)
		}
		if _, dup := env[name]; dup {
			t.Errorf("%s:%d: %s is set twice", path, n, name)
		}
		env[name] = value
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}

// knownVariables is every environment variable `touchstone serve --help`
// names: the settings and the secrets read from the environment only.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	var help bytes.Buffer
	if _, err := parseConfig("serve", []string{"--help"}, func(string) string { return "" }, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	known := map[string]bool{}
	for _, v := range regexp.MustCompile(`TOUCHSTONE_[A-Z0-9_]+`).FindAllString(help.String(), -1) {
		known[v] = true
	}
	if len(known) < 15 {
		t.Fatalf("only %d variables in --help:\n%s", len(known), help.String())
	}
	return known
}

// unitSettings reads the Environment= lines of the systemd template for
// instance, as systemd expands %i.
func unitSettings(t *testing.T, instance string) (env map[string]string, envFiles []string, exec []string) {
	t.Helper()
	b, err := os.ReadFile("deploy/touchstone@.service")
	if err != nil {
		t.Fatal(err)
	}
	env = map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.ReplaceAll(strings.TrimSpace(line), "%i", instance)
		switch {
		case strings.HasPrefix(line, "Environment="):
			name, value, _ := strings.Cut(strings.TrimPrefix(line, "Environment="), "=")
			env[name] = value
		case strings.HasPrefix(line, "EnvironmentFile="):
			envFiles = append(envFiles, strings.TrimPrefix(strings.TrimPrefix(line, "EnvironmentFile="), "-"))
		case strings.HasPrefix(line, "ExecStart="):
			exec = strings.Fields(strings.TrimPrefix(line, "ExecStart="))
		}
	}
	return env, envFiles, exec
}

func TestDeployEnvFileParses(t *testing.T) {
	env := readEnvFile(t, "deploy/touchstone.env")
	known := knownVariables(t)
	for name := range env {
		if !known[name] {
			t.Errorf("deploy/touchstone.env sets %s, which touchstone does not read", name)
		}
	}
	// What a deployment of several instances cannot do without.
	for _, name := range []string{"TOUCHSTONE_DATABASE_URL", "TOUCHSTONE_REDIS_URL", "TOUCHSTONE_REDIS_PREFIX", "TOUCHSTONE_BASE_URL",
		"TOUCHSTONE_TRUSTED_PROXIES", "TOUCHSTONE_ISSUER_KEY", "TOUCHSTONE_ISSUER_RSA_KEY", "TOUCHSTONE_BLOB_URL", "TOUCHSTONE_DEMO"} {
		if env[name] == "" {
			t.Errorf("deploy/touchstone.env does not set %s", name)
		}
	}

	unitEnv, files, exec := unitSettings(t, "8082")
	if len(files) == 0 || files[0] != "/etc/touchstone/touchstone.env" {
		t.Errorf("the unit's EnvironmentFile= lines %v do not start with /etc/touchstone/touchstone.env", files)
	}
	if len(exec) < 2 || !strings.HasSuffix(exec[0], "/touchstone") || exec[1] != "serve" {
		t.Fatalf("the unit's ExecStart= is %v, want touchstone serve", exec)
	}
	for name := range unitEnv {
		if !known[name] {
			t.Errorf("the unit sets %s, which touchstone does not read", name)
		}
	}
	// The instance as systemd starts it: the file, then the unit's own
	// settings, then its command line.
	all := map[string]string{}
	for k, v := range env {
		all[k] = v
	}
	for k, v := range unitEnv {
		all[k] = v
	}
	cfg, err := parseConfig("serve", exec[2:], func(k string) string { return all[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("the unit's configuration does not parse: %v", err)
	}
	if cfg.Addr != "127.0.0.1:8082" || !strings.HasPrefix(cfg.DatabaseURL, "postgres://") || cfg.RedisURL == "" ||
		cfg.BaseURL != "https://exams.example.org" || cfg.Demo || len(cfg.TrustedProxies) == 0 || cfg.Blob.S3 == nil {
		t.Errorf("instance 8082 of the unit: %+v", cfg)
	}
}

func TestDeployProcfileParses(t *testing.T) {
	env := readEnvFile(t, "deploy/touchstone.env")
	b, err := os.ReadFile("deploy/Procfile")
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, command, ok := strings.Cut(line, ":")
		args := strings.Fields(command)
		if !ok || len(args) < 2 || args[0] != "touchstone" || args[1] != "serve" {
			t.Fatalf("Procfile line %q is not NAME: touchstone serve …", line)
		}
		cfg, err := parseConfig("serve", args[2:], func(k string) string { return env[k] }, &bytes.Buffer{})
		if err != nil {
			t.Fatalf("Procfile %s: %v", name, err)
		}
		if addrs[cfg.Addr] {
			t.Errorf("Procfile %s listens on %s, as another instance does", name, cfg.Addr)
		}
		addrs[cfg.Addr] = true
	}
	if len(addrs) < 2 {
		t.Fatalf("the Procfile runs %d instances, want several", len(addrs))
	}
	// The load balancer sends to exactly the Procfile's instances.
	conf, err := os.ReadFile("deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	upstream := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*server\s+([0-9.]+:[0-9]+)`).FindAllStringSubmatch(string(conf), -1) {
		upstream[m[1]] = true
	}
	for a := range addrs {
		if !upstream[a] {
			t.Errorf("nginx.conf does not send to the Procfile's instance %s", a)
		}
	}
	if len(upstream) != len(addrs) {
		t.Errorf("nginx.conf sends to %v, the Procfile runs %v", upstream, addrs)
	}
}

// TestDeployNginxStreamsLiveEvents: every route that serves server-sent
// events falls in an nginx location that does not buffer.
func TestDeployNginxStreamsLiveEvents(t *testing.T) {
	conf, err := os.ReadFile("deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	type location struct {
		match    func(string) bool
		buffered bool
	}
	var locs []location
	re := regexp.MustCompile(`(?s)location\s+(~|=)?\s*(\S+)\s*\{(.*?)\}`)
	for _, m := range re.FindAllStringSubmatch(string(conf), -1) {
		kind, pattern, body := m[1], m[2], m[3]
		buffered := !strings.Contains(body, "proxy_buffering off")
		switch kind {
		case "~":
			rx := regexp.MustCompile(pattern)
			locs = append(locs, location{rx.MatchString, buffered})
		case "=":
			locs = append(locs, location{func(p string) bool { return p == pattern }, buffered})
		}
	}
	// The event-stream routes of web/routes.go, with their parameters
	// filled in.
	for _, path := range []string{"/api/v1/attempts/5f0c/live", "/api/v1/proctor/live", "/api/v1/checkins/5f0c/live"} {
		found := false
		for _, l := range locs {
			if l.match(path) {
				found = true
				if l.buffered {
					t.Errorf("nginx.conf buffers %s", path)
				}
			}
		}
		if !found {
			t.Errorf("no location of nginx.conf turns buffering off for %s", path)
		}
	}
	// And nothing else is matched by them.
	for _, path := range []string{"/api/v1/attempts/5f0c/submit", "/attempts/5f0c/live/x"} {
		for _, l := range locs {
			if l.match(path) {
				t.Errorf("an unbuffered location of nginx.conf matches %s", path)
			}
		}
	}
}
