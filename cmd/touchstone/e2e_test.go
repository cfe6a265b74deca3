package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/credential/proof"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

const demoPassword = "e2e-demo-password"

// server is a running `touchstone serve`, started through run like main.
type server struct {
	URL string
	// MetricsURL is where Prometheus scrapes, when TOUCHSTONE_METRICS_ADDR
	// is set.
	MetricsURL string

	env  map[string]string
	addr string
	stop func() // stops the process and waits for it; nil once stopped
	kill func() // kills a process started by launchProcess
	pid  int    // the process started by launchProcess
}

// startServer runs the real program on a free port with the demo loaded.
// backend is "sqlite" (embedded defaults) or "postgres+redis".
func startServer(t *testing.T, backend string) *server {
	t.Helper()
	return startServerWith(t, backend, nil)
}

// startServerWith is startServer with settings of the test's own.
func startServerWith(t *testing.T, backend string, settings map[string]string) *server {
	t.Helper()
	s := newServer(t, backend, settings)
	s.launch(t)
	// Later launches (Restart) reuse the port, so the browser's page and
	// its queued answers reach the new process at the same address.
	s.addr = strings.TrimPrefix(s.URL, "http://")
	return s
}

// newServer prepares what startServerWith starts: its settings and a data
// directory of its own, on a free port.
func newServer(t *testing.T, backend string, settings map[string]string) *server {
	t.Helper()
	env := map[string]string{
		"TOUCHSTONE_DATA_DIR":      t.TempDir(),
		"TOUCHSTONE_DEMO_PASSWORD": demoPassword,
		"TOUCHSTONE_LOG_LEVEL":     "warn",
	}
	maps.Copy(env, settings)
	if backend == "postgres+redis" {
		_, dbURL := dbtest.PostgresURL(t)
		redisURL := os.Getenv("TOUCHSTONE_TEST_REDIS_URL")
		if redisURL == "" {
			if dbtest.RequireServices() {
				t.Fatal("TOUCHSTONE_TEST_REDIS_URL is not set and TOUCHSTONE_REQUIRE_SERVICES=1")
			}
			t.Skip("PostgreSQL + Redis end-to-end needs TOUCHSTONE_TEST_REDIS_URL")
		}
		env["TOUCHSTONE_DATABASE_URL"] = dbURL
		env["TOUCHSTONE_REDIS_URL"] = redisURL
		env["TOUCHSTONE_REDIS_PREFIX"] = "e2e-" + randomHex(t) + ":"
	}
	return &server{env: env, addr: "127.0.0.1:0"}
}

// launch starts the process on s.addr with s.env and waits until it listens.
func (s *server) launch(t *testing.T) {
	t.Helper()
	if err := s.begin(t)(); err != nil {
		t.Fatal(err)
	}
}

// begin starts the process on s.addr with s.env and returns a function
// that waits until it listens, so that several instances can start at once.
func (s *server) begin(t *testing.T) (wait func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", s.addr}, func(k string) string { return s.env[k] }, pw)
		pw.Close()
	}()
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("server stopped with %v", err)
				}
			case <-time.After(40 * time.Second):
				t.Error("server did not shut down within 40 s")
			}
		})
	}
	t.Cleanup(s.stop)
	urls, metricsURLs := make(chan string, 1), make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			// The metrics' address comes first.
			if u, ok := strings.CutPrefix(sc.Text(), "Metrics are served at "); ok {
				metricsURLs <- u
			}
			if u, ok := strings.CutPrefix(sc.Text(), "Touchstone is running at "); ok {
				urls <- u
			}
		}
	}()
	return func() error {
		select {
		case u := <-urls:
			s.URL = u
			select {
			case s.MetricsURL = <-metricsURLs:
			default:
			}
			return nil
		case err := <-done:
			// The process has stopped: once.Do above has nothing to wait for.
			done <- err
			return fmt.Errorf("server exited before listening: %v", err)
		case <-time.After(3 * time.Minute):
			return errors.New("server did not start within 3 minutes")
		}
	}
}

// Stop shuts the server down (gracefully, as on SIGTERM) and waits for it.
func (s *server) Stop() { s.stop() }

// Restart starts the server again on the same address and data, as an
// operator would after a crash or an upgrade.
func (s *server) Restart(t *testing.T) {
	t.Helper()
	s.launch(t)
}

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// call makes a JSON API call with a bearer token and decodes the answer
// into out (when non-nil); it returns the status.
func (s *server) call(t *testing.T, method, path, token string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// login signs in with the demo password and returns the session's token.
func (s *server) login(t *testing.T, email string) string {
	t.Helper()
	var out struct{ Token string }
	if st := s.postSession(t, email, demoPassword, &out); st != http.StatusCreated {
		t.Fatalf("login %s: status %d", email, st)
	}
	return out.Token
}

// postSession asks for a session (POST /api/v1/session), decodes the
// answer into out unless it is nil and returns the status.
func (s *server) postSession(t *testing.T, email, password string, out any) int {
	t.Helper()
	return s.call(t, "POST", "/api/v1/session", "", map[string]string{"email": email, "password": password}, out)
}

type exam struct {
	ID, Title string
}

func (s *server) exam(t *testing.T, token, title string) exam {
	t.Helper()
	var exams []exam
	s.call(t, "GET", "/api/v1/exams", token, nil, &exams)
	for _, e := range exams {
		if e.Title == title {
			return e
		}
	}
	t.Fatalf("no exam %q in %+v", title, exams)
	return exam{}
}

// keys returns item id → key option id, as an author sees them.
func (s *server) keys(t *testing.T, examID string) map[string]string {
	t.Helper()
	var list struct {
		Items []struct {
			ID      string
			Content struct{ Key string }
		}
	}
	if st := s.call(t, "GET", "/api/v1/items?limit=200&exam="+examID, s.login(t, "author@example.com"), nil, &list); st != http.StatusOK {
		t.Fatalf("items: status %d", st)
	}
	out := map[string]string{}
	for _, it := range list.Items {
		out[it.ID] = it.Content.Key
	}
	return out
}

type attempt struct {
	ID    string
	Items []struct {
		ID      string `json:"item_id"`
		Content struct {
			Options []struct{ ID string }
		}
	}
}

type result struct {
	Passed       bool
	Score        float64
	Cut          float64
	CredentialID *string `json:"credential_id"`
}

func backends() []string { return []string{"sqlite", "postgres+redis"} }

func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts the whole server with the demo (-short skips it)")
	}
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			s := startServer(t, backend)
			var credentialID string
			t.Run("concurrent submits issue one credential", func(t *testing.T) {
				credentialID = concurrentSubmits(t, s)
			})
			t.Run("independent verifier", func(t *testing.T) {
				if credentialID == "" {
					t.Skip("no credential: the submit test failed")
				}
				independentVerification(t, s, credentialID)
			})
			t.Run("browser", func(t *testing.T) { browserPass(t, s) })
		})
	}
}

func concurrentSubmits(t *testing.T, s *server) string {
	token := s.login(t, "candidate@example.com")
	e := s.exam(t, token, "Pivot Tables")
	keys := s.keys(t, e.ID)
	var a attempt
	if st := s.call(t, "POST", "/api/v1/exams/"+e.ID+"/attempts", token, nil, &a); st != http.StatusCreated {
		t.Fatalf("start: status %d", st)
	}
	for _, it := range a.Items {
		if st := s.call(t, "PUT", "/api/v1/attempts/"+a.ID+"/responses/"+it.ID, token, map[string]string{"answer": keys[it.ID]}, nil); st != http.StatusOK {
			t.Fatalf("answer: status %d", st)
		}
	}
	credentialID := submitTogether(t, 8, func(int) *server { return s }, token, a.ID)
	var held []struct{ ID, Achievement string }
	s.call(t, "GET", "/api/v1/me/credentials", token, nil, &held)
	count := 0
	for _, h := range held {
		if h.Achievement == "Spreadsheet Pivot Tables" {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("candidate holds %d Pivot Tables credentials (%+v), want 1", count, held)
	}
	return credentialID
}

// submitTogether sends n submits of the attempt at once, the i-th to
// via(i), and fails t unless every one answers 200 with a pass and the same
// credential, whose id it returns.
func submitTogether(t *testing.T, n int, via func(i int) *server, token, attemptID string) string {
	t.Helper()
	results := make([]result, n)
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = via(i).call(t, "POST", "/api/v1/attempts/"+attemptID+"/submit", token, nil, &results[i])
		}()
	}
	wg.Wait()
	for i := range n {
		if statuses[i] != http.StatusOK || !results[i].Passed || results[i].CredentialID == nil {
			t.Fatalf("submit %d to %s: status %d, %+v; want 200, a pass and a credential", i, via(i).URL, statuses[i], results[i])
		}
		if *results[i].CredentialID != *results[0].CredentialID {
			t.Fatalf("submit %d answered credential %s, submit 0 %s: want one credential", i, *results[i].CredentialID, *results[0].CredentialID)
		}
	}
	return *results[0].CredentialID
}

// independentVerification checks a credential issued by the running server
// with Digital Bazaar's verifier (credential/interop) and its status list
// checker, reading the issuer's published documents, then a tampered copy;
// then `touchstone verify` on the same file, before and after revocation.
func independentVerification(t *testing.T, s *server, credentialID string) {
	node, dir := interopVerifier(t)
	token := s.login(t, "candidate@example.com")
	var doc map[string]any
	if st := s.call(t, "GET", "/api/v1/credentials/"+credentialID, token, nil, &doc); st != http.StatusOK {
		t.Fatalf("credential: status %d", st)
	}
	issuer, _ := doc["issuer"].(map[string]any)
	issuerURL, _ := issuer["id"].(string)
	var controller map[string]any
	if st := s.call(t, "GET", strings.TrimPrefix(issuerURL, s.URL), "", nil, &controller); st != http.StatusOK {
		t.Fatalf("issuer document %s: status %d", issuerURL, st)
	}
	work := t.TempDir()
	write := func(name string, v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The status lists, as published now.
	publishStatus := func() string {
		entry := doc["credentialStatus"].(map[string]any)
		statusDir := filepath.Join(work, "status")
		if err := os.MkdirAll(statusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		var index []map[string]string
		for _, e := range []map[string]any{entry, credential.SuspensionEntry(entry)} {
			url := e["statusListCredential"].(string)
			var list map[string]any
			if st := s.call(t, "GET", strings.TrimPrefix(url, s.URL), "", nil, &list); st != http.StatusOK {
				t.Fatalf("status list %s: status %d", url, st)
			}
			file := e["statusPurpose"].(string) + ".json"
			write(filepath.Join("status", file), list)
			index = append(index, map[string]string{"url": url, "file": file})
		}
		write(filepath.Join("status", "index.json"), map[string]any{"documents": index})
		return statusDir
	}
	ctrl := write("controller.json", controller)
	// The embedded contexts, and the extension context as this server
	// publishes it (a verifier fetches it once).
	contexts := filepath.Join(work, "contexts")
	if err := os.CopyFS(contexts, proof.ContextFiles()); err != nil {
		t.Fatal(err)
	}
	var index map[string]any
	b, err := os.ReadFile(filepath.Join(contexts, "index.json"))
	if err == nil {
		err = json.Unmarshal(b, &index)
	}
	if err != nil {
		t.Fatal(err)
	}
	var published map[string]any
	if st := s.call(t, "GET", "/ns/v1/context.jsonld", "", nil, &published); st != http.StatusOK {
		t.Fatalf("extension context: status %d", st)
	}
	write(filepath.Join("contexts", "touchstone-published.jsonld"), published)
	index["contexts"] = append(index["contexts"].([]any), map[string]any{"url": s.URL + "/ns/v1/context.jsonld", "file": "touchstone-published.jsonld"})
	write(filepath.Join("contexts", "index.json"), index)
	verify := func(credPath string) (bool, string) {
		cmd := exec.Command(node, filepath.Join(dir, "verify.mjs"), credPath, ctrl, contexts, publishStatus())
		out, err := cmd.CombinedOutput()
		return err == nil, string(out)
	}
	credFile := write("credential.json", doc)
	if ok, out := verify(credFile); !ok {
		t.Fatalf("independent verifier rejected the issued credential:\n%s", out)
	}
	var cli bytes.Buffer
	if err := run(context.Background(), []string{"verify", credFile}, func(string) string { return "" }, &cli); err != nil {
		t.Fatalf("touchstone verify rejects the issued credential: %v\n%s", err, cli.String())
	}
	subject := doc["credentialSubject"].(map[string]any)
	results := subject["result"].([]any)
	value := results[0].(map[string]any)["value"]
	results[0].(map[string]any)["value"] = "24.5"
	tampered := write("tampered.json", doc)
	if ok, out := verify(tampered); ok {
		t.Fatalf("independent verifier accepted a tampered credential:\n%s", out)
	}
	cli.Reset()
	if err := run(context.Background(), []string{"verify", tampered}, func(string) string { return "" }, &cli); err == nil || !strings.Contains(cli.String(), "FAIL proof") {
		t.Fatalf("touchstone verify on a tampered credential: %v\n%s", err, cli.String())
	}
	results[0].(map[string]any)["value"] = value

	// Revocation is visible to verifiers at once.
	manager := s.login(t, "manager@example.com")
	if st := s.call(t, "POST", "/api/v1/credentials/"+credentialID+"/revoke", manager, map[string]string{"reason": "end-to-end test"}, nil); st != http.StatusOK {
		t.Fatalf("revoke: status %d", st)
	}
	if ok, out := verify(credFile); ok || !strings.Contains(out, `"revoked"`) {
		t.Fatalf("independent verifier on the revoked credential: ok %v\n%s", ok, out)
	}
	cli.Reset()
	err = run(context.Background(), []string{"verify", "--json", credFile}, func(string) string { return "" }, &cli)
	if err == nil || exitCode(err) != 1 || !strings.Contains(cli.String(), `"state": "revoked"`) {
		t.Fatalf("touchstone verify on the revoked credential: %v\n%s", err, cli.String())
	}
}

// interopVerifier finds node and credential/interop/node_modules; it skips
// without them unless services are required.
func interopVerifier(t *testing.T) (node, dir string) {
	t.Helper()
	require := dbtest.RequireServices()
	if os.Getenv("TOUCHSTONE_TEST_INTEROP") != "1" && !require {
		t.Skip("independent verifier not requested: set TOUCHSTONE_TEST_INTEROP=1 after `npm ci` in credential/interop")
	}
	dir, err := filepath.Abs("../../credential/interop")
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "@digitalbazaar", "vc"))
	}
	if err != nil {
		if require {
			t.Fatalf("TOUCHSTONE_REQUIRE_SERVICES=1 but the independent verifier is missing (%v): run `npm ci` in credential/interop", err)
		}
		t.Skipf("independent verifier missing (%v): run `npm ci` in credential/interop", err)
	}
	return node, dir
}
