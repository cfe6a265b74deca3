package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeListener fails its accepts with errs, in turn, then gives conn.
type fakeListener struct {
	net.Listener
	errs []error
	conn net.Conn
}

func (f *fakeListener) Accept() (net.Conn, error) {
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	return f.conn, nil
}

func TestPatientListenerWaitsOutTransientErrors(t *testing.T) {
	var logged bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logged, nil))
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	l := &patientListener{Listener: &fakeListener{errs: []error{emfile, emfile, syscall.ECONNABORTED}, conn: a}, logger: logger}
	for range 2 {
		if c, err := l.Accept(); err != nil || c != a {
			t.Errorf("after transient failures Accept = %v, %v; want the connection", c, err)
		}
		l.Listener.(*fakeListener).errs = []error{emfile}
	}
	// A server that stays at its limit does not log each accept.
	if n := strings.Count(logged.String(), "waiting for resources"); n != 1 {
		t.Errorf("%d log lines for two accepts at the limit, want 1:\n%s", n, logged.String())
	}
	for _, err := range []error{net.ErrClosed, errors.New("something else")} {
		l := &patientListener{Listener: &fakeListener{errs: []error{err}, conn: a}, logger: logger}
		if c, got := l.Accept(); !errors.Is(got, err) || c != nil {
			t.Errorf("Accept after %v = %v, %v; want that error at once", err, c, got)
		}
	}
}

// TestServerOutlivesItsOpenFilesLimit runs the server as a process, lowers
// its open-files limit to a few more than it holds, and opens many more
// connections than that: the accepts that fail for want of descriptors
// wait, and once those connections close the server answers again.
func TestServerOutlivesItsOpenFilesLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server as a process (-short skips it)")
	}
	s := newServer(t, "sqlite", nil)
	s.launchProcess(t)
	addr := s.URL[len("http://"):]
	get := func() error {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(s.URL + "/healthz")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := get(); err != nil {
		t.Fatalf("before the limit: %v", err)
	}
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(s.pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	var old unix.Rlimit
	limit := unix.Rlimit{Cur: uint64(len(fds) + 8)}
	if err := unix.Prlimit(s.pid, unix.RLIMIT_NOFILE, nil, &old); err != nil {
		t.Fatal(err)
	}
	limit.Max = old.Max
	if err := unix.Prlimit(s.pid, unix.RLIMIT_NOFILE, &limit, nil); err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range 64 {
		c, err := net.Dial("tcp", addr) // the kernel's backlog takes them
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond) // the server meets its limit
	for _, c := range conns {
		c.Close()
	}
	if err := unix.Prlimit(s.pid, unix.RLIMIT_NOFILE, &old, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for err := get(); err != nil; err = get() {
		if time.Now().After(deadline) {
			t.Fatalf("30 s after %d connections beyond its open-files limit closed, the server does not answer: %v", len(conns), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
