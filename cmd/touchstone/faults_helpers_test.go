package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/migrations"
)

// childArgsEnv, when set in the environment of the test binary, makes it
// run the program with these arguments (a JSON array) instead of the
// tests: the fault tests start servers as separate processes so that
// they can kill them with SIGKILL.
const childArgsEnv = "TOUCHSTONE_TEST_CHILD_ARGS"

// runChild is main for a server process started by launchProcess.
func runChild(argsJSON string) int {
	var args []string
	if err := json.Unmarshal([]byte(argsJSON), &args); err != nil {
		fmt.Fprintln(os.Stderr, "touchstone test child:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "touchstone:", err)
		return exitCode(err)
	}
	return 0
}

// launchProcess starts the server as a child process (the test binary
// re-executed, see childArgsEnv) on s.addr with s.env and waits until it
// listens. Stop sends SIGTERM and waits; Kill sends SIGKILL.
func (s *server) launchProcess(t *testing.T) {
	t.Helper()
	args, err := json.Marshal([]string{"serve", "--addr", s.addr})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		// The test's own settings stay out of the server's.
		if !strings.HasPrefix(kv, "TOUCHSTONE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childArgsEnv+"="+string(args))
	for k, v := range s.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logFile, err := os.CreateTemp(t.TempDir(), "server-*.log")
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the server process: %v", err)
	}
	s.pid = cmd.Process.Pid
	exited := make(chan error, 1)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(logFile, sc.Text())
			if u, ok := strings.CutPrefix(sc.Text(), "Touchstone is running at "); ok {
				urls <- u
			}
		}
		exited <- cmd.Wait()
	}()
	var once sync.Once
	stop := func(sig os.Signal) {
		once.Do(func() {
			_ = cmd.Process.Signal(sig)
			select {
			case err := <-exited:
				if sig == syscall.SIGTERM && err != nil {
					t.Errorf("server process stopped with %v (log %s)", err, logFile.Name())
				}
			case <-time.After(40 * time.Second):
				_ = cmd.Process.Kill()
				t.Errorf("server process did not stop within 40 s of %v", sig)
			}
		})
	}
	s.stop = func() { stop(syscall.SIGTERM) }
	s.kill = func() { stop(syscall.SIGKILL) }
	t.Cleanup(s.stop)
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				var errs []string
				for _, l := range strings.Split(string(b), "\n") {
					if strings.Contains(l, "level=ERROR") {
						errs = append(errs, l)
					}
				}
				t.Logf("server log (%s), errors:\n%s\nlast lines:\n%s", filepath.Base(logFile.Name()),
					tail(strings.Join(errs, "\n"), 20), tail(string(b), 20))
			}
		}
	})
	select {
	case u := <-urls:
		s.URL = u
	case err := <-exited:
		b, _ := os.ReadFile(logFile.Name())
		t.Fatalf("server process exited before listening: %v\n%s", err, tail(string(b), 40))
	case <-time.After(3 * time.Minute):
		s.explainStuckStart(t, cmd, logFile.Name(), exited)
		t.Fatal("server process did not start within 3 minutes")
	}
}

// explainStuckStart logs what a server that does not start is doing: the
// goroutines of the product's code (SIGQUIT makes the Go runtime print
// them and exit) and, on PostgreSQL, the cluster's busy backends and
// waiting locks — a start that hangs on a lock says so, one that is only
// slow shows where.
func (s *server) explainStuckStart(t *testing.T, cmd *exec.Cmd, logName string, exited chan error) {
	t.Helper()
	if url := s.env["TOUCHSTONE_DATABASE_URL"]; url != "" {
		t.Logf("PostgreSQL while the server starts:\n%s", postgresActivity(url))
	}
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case err := <-exited:
		exited <- err // for the cleanup's stop
	case <-time.After(10 * time.Second):
	}
	b, err := os.ReadFile(logName)
	if err != nil {
		return
	}
	var ours []string
	for _, g := range strings.Split(string(b), "\n\n") {
		if strings.HasPrefix(g, "goroutine ") && strings.Contains(g, "touchstone-assess/touchstone/") {
			ours = append(ours, briefStack(g))
		}
	}
	t.Logf("%d goroutines of the server in the product's code:\n%s", len(ours), tail(strings.Join(ours, "\n\n"), 200))
}

// briefStack shortens a goroutine of a Go runtime dump to its header, the
// names of the frames it is blocked in and the product's own frames with
// their lines.
func briefStack(g string) string {
	lines := strings.Split(g, "\n")
	out := []string{lines[0]}
	for i := 1; i+1 < len(lines); i += 2 {
		fn := lines[i]
		if cut := strings.LastIndex(fn, "("); cut > 0 && strings.HasSuffix(fn, ")") {
			fn = fn[:cut]
		}
		switch {
		case strings.Contains(fn, "touchstone-assess/touchstone/"):
			file, _, _ := strings.Cut(strings.TrimSpace(lines[i+1]), " ")
			out = append(out, "  "+strings.TrimPrefix(fn, "github.com/touchstone-assess/touchstone/")+" "+filepath.Base(file))
		case i < 8:
			out = append(out, "  "+fn)
		}
	}
	return strings.Join(out, "\n")
}

// postgresActivity describes the cluster's non-idle backends and its
// ungranted locks, or why it could not.
func postgresActivity(url string) string {
	db, err := migrations.Connect(url)
	if err != nil {
		return err.Error()
	}
	defer migrations.Close(db)
	var rows []struct {
		Datname, State, WaitEventType, WaitEvent, Query string
		Seconds                                         float64
	}
	err = db.Raw(`SELECT coalesce(datname, '') AS datname, coalesce(state, '') AS state,
		coalesce(wait_event_type, '') AS wait_event_type, coalesce(wait_event, '') AS wait_event,
		left(query, 160) AS query, coalesce(extract(epoch FROM now() - query_start), 0) AS seconds
		FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND coalesce(state, '') NOT IN ('', 'idle')
		ORDER BY query_start LIMIT 40`).Scan(&rows).Error
	if err != nil {
		return err.Error()
	}
	var waiting, total int64
	db.Raw("SELECT count(*) FROM pg_locks WHERE NOT granted").Scan(&waiting)
	db.Raw("SELECT count(*) FROM pg_stat_activity").Scan(&total)
	var out strings.Builder
	fmt.Fprintf(&out, "%d backends, %d locks waiting; busy:\n", total, waiting)
	for _, r := range rows {
		fmt.Fprintf(&out, "  %s %s %s/%s %.1fs %s\n", r.Datname, r.State, r.WaitEventType, r.WaitEvent, r.Seconds, r.Query)
	}
	return out.String()
}

// Kill ends a server started by launchProcess with SIGKILL, as a crash
// or the kernel's OOM killer would: no request in flight finishes.
func (s *server) Kill() { s.kill() }

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// reply is an answer of the server as the fault tests see it.
type reply struct {
	Status  int
	Header  http.Header
	Body    []byte
	Elapsed time.Duration
}

// faultClient does not retry and gives up after 20 s: a hung request is a
// failure the tests report.
var faultClient = &http.Client{Timeout: 20 * time.Second}

// try makes a JSON API call; unlike call, a failed connection is returned
// as an error, not a fatal one, for goroutines and servers that go down.
func (s *server) try(method, path, token string, body any) (reply, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := faultClient.Do(req)
	if err != nil {
		return reply{Elapsed: time.Since(start)}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: raw, Elapsed: time.Since(start)}, err
}

// tcpProxy forwards connections from its own port to a target (the test
// PostgreSQL server). Down drops every connection and refuses new ones,
// Up accepts again on the same port: from the server's side, exactly a
// database restart.
type tcpProxy struct {
	target string
	Addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// newTCPProxy starts a proxy to target on a free port of 127.0.0.1.
func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.Addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() { p.Down(); p.wg.Wait() })
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			if !p.track(c, up) {
				continue
			}
			p.wg.Add(2)
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
}

// track registers a pair of connections, or closes them when the proxy
// went down in the meantime.
func (p *tcpProxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		a.Close()
		b.Close()
		return false
	}
	p.conns[a], p.conns[b] = struct{}{}, struct{}{}
	return true
}

func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// Down closes the listener (new connections are refused) and every
// connection through the proxy.
func (p *tcpProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, as a dying server's kernel sends
		}
		c.Close()
	}
}

// Up accepts connections again on the same port.
func (p *tcpProxy) Up(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.Addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("proxy: listen again on %s: %v", p.Addr, err)
	}
	p.serve(ln)
}
