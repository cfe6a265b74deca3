package main

import (
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// patientListener retries an accept that failed for want of resources (no
// file descriptor or memory left) or because the connection was aborted
// before it was taken, as net/http's server does. fasthttp takes every
// such error for permanent and stops serving: a server at its open-files
// limit, as one holding an event stream for each of thousands of
// candidates can be, exited with every exam in it. Waiting instead lets
// the connections that end free descriptors, and the next accept succeeds.
type patientListener struct {
	net.Listener
	logger *slog.Logger
	logged atomic.Int64 // when the condition was last logged, in Unix nanoseconds
}

// maxAcceptWait bounds the wait between retries.
const maxAcceptWait = time.Second

// acceptLogEvery spaces the log lines of a server that stays at its limit.
const acceptLogEvery = 10 * time.Second

func (l *patientListener) Accept() (net.Conn, error) {
	var wait time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil || !transientAcceptError(err) {
			return c, err
		}
		now, last := time.Now().UnixNano(), l.logged.Load()
		if now-last >= int64(acceptLogEvery) && l.logged.CompareAndSwap(last, now) {
			l.logger.Error("accepting connections: waiting for resources", "err", err)
		}
		wait = min(max(2*wait, 5*time.Millisecond), maxAcceptWait)
		time.Sleep(wait)
	}
}

// transientAcceptError reports whether an accept that failed with err may
// succeed later, once connections end.
func transientAcceptError(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}
