package auth

import (
	"context"
	"testing"
	"time"
)

// Watch runs s.WatchSessions until the test ends, and returns once the
// session cache is live.
func Watch(tb testing.TB, s *Service) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.WatchSessions(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s.cache.mu.Lock()
		live := s.cache.live
		s.cache.mu.Unlock()
		if live {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal("the session cache did not go live within 5 s")
		}
	}
}
