// Package kvtest is the contract suite that every kv.Store must pass, and
// helpers that open stores for tests.
//
// Run drives a store on real time: expiry cases use short real TTLs and poll,
// within a bound, until the entry is gone. RunWithClock drives a store built
// on a fake clock that the suite advances, so expiry is checked to the
// millisecond without sleeping.
package kvtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/touchstone-assess/touchstone/internal/kv"
)

const (
	// realTTL is the TTL the expiry cases use on real time.
	realTTL = 200 * time.Millisecond
	// fakeTTL is the TTL the expiry cases use on a fake clock. It is shorter
	// than any periodic sweep a store might do, so the cases check that an
	// expired entry is unreadable even while it is still held.
	fakeTTL = 10 * time.Second
	// patience bounds every wait for something that should happen promptly:
	// a message, a closed channel, an expiry past its TTL.
	patience = 5 * time.Second
)

// fakeClock is a clock the suite advances, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock d forward.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Run runs the contract suite on stores whose time passes for real. open is
// called once per case, in parallel subtests, and must return a fresh, empty
// store (or one whose keys cannot collide with other cases') and arrange its
// Close with t.Cleanup. The suite closes some stores itself, so Close must be
// idempotent.
func Run(t *testing.T, open func(t *testing.T) kv.Store) {
	run(t, func(t *testing.T) *env {
		return &env{Store: open(t), ttl: realTTL}
	})
}

// RunWithClock runs the contract suite on stores built on a fake clock: open
// receives the clock's Now for the store to read, and the suite advances the
// clock instead of sleeping. Otherwise it is Run.
func RunWithClock(t *testing.T, open func(t *testing.T, now func() time.Time) kv.Store) {
	run(t, func(t *testing.T) *env {
		c := &fakeClock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
		return &env{Store: open(t, c.Now), clock: c, ttl: fakeTTL}
	})
}

// env is one case's store and the way time passes for it.
type env struct {
	kv.Store
	clock *fakeClock    // nil: real time
	ttl   time.Duration // the TTL expiry cases use
}

func (e *env) now() time.Time {
	if e.clock != nil {
		return e.clock.Now()
	}
	return time.Now()
}

// pass lets d pass for the store.
func (e *env) pass(d time.Duration) {
	if e.clock != nil {
		e.clock.Advance(d)
		return
	}
	time.Sleep(d)
}

// fresh reports whether so little time has passed since start that an entry
// set then with the case's TTL must still be live. On real time it allows
// half the TTL, so a slow machine skips the check rather than failing it.
func (e *env) fresh(t *testing.T, start time.Time) bool {
	t.Helper()
	if e.clock != nil {
		return true
	}
	if el := time.Since(start); el >= e.ttl/2 {
		t.Logf("%v passed before the liveness check (ttl %v): skipping it", el, e.ttl)
		return false
	}
	return true
}

// expires checks that gone turns true ttl after start, where start was read
// before the entry was written. On a fake clock: not at ttl-1ms, and at
// ttl+1ms. On real time: never before ttl, and within patience after it.
// gone may have side effects; on a fake clock it is called exactly twice.
func (e *env) expires(t *testing.T, start time.Time, ttl time.Duration, gone func() bool) {
	t.Helper()
	if e.clock != nil {
		e.clock.Advance(start.Add(ttl - time.Millisecond).Sub(e.clock.Now()))
		if gone() {
			t.Fatalf("gone %v after it was set, before its ttl %v", ttl-time.Millisecond, ttl)
		}
		e.clock.Advance(2 * time.Millisecond)
		if !gone() {
			t.Fatalf("still there %v after it was set, past its ttl %v", ttl+time.Millisecond, ttl)
		}
		return
	}
	for {
		g := gone()
		el := time.Since(start) // read after gone: an upper bound on when it was checked
		if g {
			// Redis rounds a TTL to whole milliseconds.
			if el < ttl-time.Millisecond {
				t.Fatalf("gone %v after it was set, before its ttl %v", el, ttl)
			}
			return
		}
		if el > ttl+patience {
			t.Fatalf("still there %v after it was set, past its ttl %v", el, ttl)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func run(t *testing.T, open func(t *testing.T) *env) {
	cases := []struct {
		name string
		test func(t *testing.T, e *env)
	}{
		{"GetMissing", testGetMissing},
		{"SetGet", testSetGet},
		{"ValuesAreCopied", testValuesAreCopied},
		{"Overwrite", testOverwrite},
		{"OverwriteClearsTTL", testOverwriteClearsTTL},
		{"TTLExpiry", testTTLExpiry},
		{"NegativeTTL", testNegativeTTL},
		{"Delete", testDelete},
		{"Incr", testIncr},
		{"IncrConcurrent", testIncrConcurrent},
		{"IncrWindow", testIncrWindow},
		{"IncrNotInteger", testIncrNotInteger},
		{"LockExclusive", testLockExclusive},
		{"LockContended", testLockContended},
		{"LockUnlock", testLockUnlock},
		{"LockExpiry", testLockExpiry},
		{"UnlockAfterSteal", testUnlockAfterSteal},
		{"PublishSubscribe", testPublishSubscribe},
		{"PublishNoSubscribers", testPublishNoSubscribers},
		{"SubscribeChannelsAreSeparate", testSubscribeChannelsAreSeparate},
		{"SubscribeCancel", testSubscribeCancel},
		{"SubscribeCanceledContext", testSubscribeCanceledContext},
		{"Ping", testPing},
		{"Close", testClose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, open(t))
		})
	}
}

func mustGet(t *testing.T, s kv.Store, key string) []byte {
	t.Helper()
	v, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

func mustSet(t *testing.T, s kv.Store, key string, value []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Set(t.Context(), key, value, ttl); err != nil {
		t.Fatalf("Set(%q, %q, %v): %v", key, value, ttl, err)
	}
}

func mustIncr(t *testing.T, s kv.Store, key string, ttl time.Duration) int64 {
	t.Helper()
	n, err := s.Incr(t.Context(), key, ttl)
	if err != nil {
		t.Fatalf("Incr(%q, %v): %v", key, ttl, err)
	}
	return n
}

func mustLock(t *testing.T, s kv.Store, key string, ttl time.Duration) func(context.Context) error {
	t.Helper()
	unlock, err := s.Lock(t.Context(), key, ttl)
	if err != nil {
		t.Fatalf("Lock(%q, %v): %v", key, ttl, err)
	}
	return unlock
}

func wantValue(t *testing.T, s kv.Store, key string, want []byte) {
	t.Helper()
	if got := mustGet(t, s, key); !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func wantNotFound(t *testing.T, s kv.Store, key string) {
	t.Helper()
	v, err := s.Get(t.Context(), key)
	if !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want kv.ErrNotFound", key, v, err)
	}
}

// isGone reports whether key is absent, failing on any other error.
func isGone(t *testing.T, s kv.Store, key string) bool {
	t.Helper()
	_, err := s.Get(t.Context(), key)
	if errors.Is(err, kv.ErrNotFound) {
		return true
	}
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return false
}

func wantLocked(t *testing.T, s kv.Store, key string) {
	t.Helper()
	unlock, err := s.Lock(t.Context(), key, time.Minute)
	if !errors.Is(err, kv.ErrLocked) {
		if err == nil {
			_ = unlock(t.Context())
		}
		t.Fatalf("Lock(%q) on a held lock: err = %v, want kv.ErrLocked", key, err)
	}
}

// receive returns the next message on ch, failing if none comes within
// patience or ch is closed.
func receive(t *testing.T, ch <-chan []byte) []byte {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed, want a message")
		}
		return m
	case <-time.After(patience):
		t.Fatalf("no message within %v", patience)
		return nil
	}
}

// wantClosed fails unless ch is closed within patience; messages still in
// flight are drained.
func wantClosed(t *testing.T, ch <-chan []byte) {
	t.Helper()
	timeout := time.After(patience)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("subscription still open %v after its end", patience)
		}
	}
}

func testGetMissing(t *testing.T, e *env) {
	wantNotFound(t, e, "missing")
}

func testSetGet(t *testing.T, e *env) {
	tests := []struct {
		name  string
		key   string
		value []byte
	}{
		{"text", "greeting", []byte("hello")},
		{"binary", "binary", []byte{0, 1, 2, 0xff, 0xfe, 0}},
		{"empty", "empty", []byte{}},
		{"odd key", "ratelimit:login:ann@example.org ü*?[]", []byte("1")},
	}
	for _, tt := range tests {
		mustSet(t, e, tt.key, tt.value, 0)
		got := mustGet(t, e, tt.key)
		if got == nil || !bytes.Equal(got, tt.value) {
			t.Errorf("%s: Get(%q) = %#v, want %#v", tt.name, tt.key, got, tt.value)
		}
	}
}

func testValuesAreCopied(t *testing.T, e *env) {
	v := []byte("original")
	mustSet(t, e, "k", v, 0)
	copy(v, "MUTATED!")
	got := mustGet(t, e, "k")
	if string(got) != "original" {
		t.Fatalf("after the caller changed the slice it passed to Set, Get = %q, want %q", got, "original")
	}
	copy(got, "MUTATED!")
	wantValue(t, e, "k", []byte("original"))
}

func testOverwrite(t *testing.T, e *env) {
	mustSet(t, e, "k", []byte("first"), 0)
	mustSet(t, e, "k", []byte("second"), 0)
	wantValue(t, e, "k", []byte("second"))
}

func testOverwriteClearsTTL(t *testing.T, e *env) {
	mustSet(t, e, "k", []byte("short-lived"), e.ttl)
	mustSet(t, e, "k", []byte("forever"), 0)
	e.pass(e.ttl + e.ttl/2)
	wantValue(t, e, "k", []byte("forever"))
}

func testTTLExpiry(t *testing.T, e *env) {
	start := e.now()
	mustSet(t, e, "k", []byte("v"), e.ttl)
	mustSet(t, e, "forever", []byte("v"), 0)
	if e.fresh(t, start) {
		wantValue(t, e, "k", []byte("v"))
	}
	e.expires(t, start, e.ttl, func() bool { return isGone(t, e, "k") })
	wantValue(t, e, "forever", []byte("v"))

	// An expired key can be set again.
	mustSet(t, e, "k", []byte("again"), 0)
	wantValue(t, e, "k", []byte("again"))
}

func testNegativeTTL(t *testing.T, e *env) {
	ctx := t.Context()
	if err := e.Set(ctx, "k", []byte("v"), -time.Second); err == nil {
		t.Error("Set with a negative ttl: err = nil, want an error")
	}
	if _, err := e.Incr(ctx, "n", -time.Second); err == nil {
		t.Error("Incr with a negative ttl: err = nil, want an error")
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := e.Lock(ctx, "l", ttl); err == nil {
			t.Errorf("Lock with ttl %v: err = nil, want an error", ttl)
		}
	}
	wantNotFound(t, e, "k")
	wantNotFound(t, e, "n")
	wantNotFound(t, e, "l")
}

func testDelete(t *testing.T, e *env) {
	mustSet(t, e, "k", []byte("v"), 0)
	mustSet(t, e, "other", []byte("v"), 0)
	if err := e.Delete(t.Context(), "k"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, e, "k")
	wantValue(t, e, "other", []byte("v"))
	if err := e.Delete(t.Context(), "k"); err != nil {
		t.Fatalf("Delete of a missing key: %v, want nil", err)
	}
}

func testIncr(t *testing.T, e *env) {
	for want := int64(1); want <= 3; want++ {
		if got := mustIncr(t, e, "n", time.Hour); got != want {
			t.Fatalf("Incr = %d, want %d", got, want)
		}
	}
	// The counter is a decimal string, readable with Get and settable with Set.
	wantValue(t, e, "n", []byte("3"))
	mustSet(t, e, "n", []byte("41"), 0)
	if got := mustIncr(t, e, "n", 0); got != 42 {
		t.Fatalf("Incr after Set(41) = %d, want 42", got)
	}
	if got := mustIncr(t, e, "other", 0); got != 1 {
		t.Fatalf("Incr of another key = %d, want 1", got)
	}
	// A ttl of 0 means no expiry, not immediate expiry.
	wantValue(t, e, "n", []byte("42"))
	wantValue(t, e, "other", []byte("1"))
}

func testIncrConcurrent(t *testing.T, e *env) {
	const n = 50
	var wg sync.WaitGroup
	results := make(chan int64, n)
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			v, err := e.Incr(t.Context(), "n", time.Hour)
			if err != nil {
				errs <- err
				return
			}
			results <- v
		})
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		t.Fatalf("Incr: %v", err)
	}
	seen := make(map[int64]bool)
	for v := range results {
		if v < 1 || v > n || seen[v] {
			t.Fatalf("Incr returned %d, want each of 1..%d exactly once", v, n)
		}
		seen[v] = true
	}
	wantValue(t, e, "n", []byte(strconv.Itoa(n)))
}

func testIncrWindow(t *testing.T, e *env) {
	start := e.now()
	mustIncr(t, e, "n", e.ttl)
	e.pass(e.ttl / 4)
	// Later increments do not extend the window.
	mustIncr(t, e, "n", e.ttl)
	if got := mustIncr(t, e, "n", e.ttl); got != 3 && e.fresh(t, start) {
		t.Fatalf("third Incr in the window = %d, want 3", got)
	}
	e.expires(t, start, e.ttl, func() bool { return isGone(t, e, "n") })
	if got := mustIncr(t, e, "n", e.ttl); got != 1 {
		t.Fatalf("first Incr of a new window = %d, want 1", got)
	}
}

func testIncrNotInteger(t *testing.T, e *env) {
	for _, v := range []string{"abc", "1.5", "", " 1"} {
		mustSet(t, e, "k", []byte(v), 0)
		if n, err := e.Incr(t.Context(), "k", 0); err == nil {
			t.Errorf("Incr of %q = %d, nil; want an error", v, n)
		}
		wantValue(t, e, "k", []byte(v))
	}
}

func testLockExclusive(t *testing.T, e *env) {
	mustLock(t, e, "l", time.Minute)
	wantLocked(t, e, "l")
	// Other names are free.
	mustLock(t, e, "other", time.Minute)
}

func testLockContended(t *testing.T, e *env) {
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for range n {
		wg.Go(func() {
			_, err := e.Lock(t.Context(), "l", time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, kv.ErrLocked):
				lost++
			default:
				t.Errorf("Lock: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != n-1 {
		t.Fatalf("%d goroutines racing for a lock: %d won, %d got kv.ErrLocked; want 1 and %d", n, won, lost, n-1)
	}
}

func testLockUnlock(t *testing.T, e *env) {
	unlock := mustLock(t, e, "l", time.Minute)
	if err := unlock(t.Context()); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	unlock2 := mustLock(t, e, "l", time.Minute)
	if err := unlock(t.Context()); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("second unlock by the first owner: err = %v, want kv.ErrNotFound", err)
	}
	wantLocked(t, e, "l")
	if err := unlock2(t.Context()); err != nil {
		t.Fatalf("unlock by the second owner: %v", err)
	}
	wantNotFound(t, e, "l")
}

func testLockExpiry(t *testing.T, e *env) {
	start := e.now()
	mustLock(t, e, "l", e.ttl)
	if e.fresh(t, start) {
		wantLocked(t, e, "l")
	}
	e.expires(t, start, e.ttl, func() bool {
		_, err := e.Lock(t.Context(), "l", time.Minute)
		if errors.Is(err, kv.ErrLocked) {
			return false
		}
		if err != nil {
			t.Fatalf("Lock: %v", err)
		}
		return true
	})
	wantLocked(t, e, "l")
}

func testUnlockAfterSteal(t *testing.T, e *env) {
	start := e.now()
	unlockA := mustLock(t, e, "l", e.ttl)
	var unlockB func(context.Context) error
	e.expires(t, start, e.ttl, func() bool {
		u, err := e.Lock(t.Context(), "l", time.Minute)
		if errors.Is(err, kv.ErrLocked) {
			return false
		}
		if err != nil {
			t.Fatalf("Lock: %v", err)
		}
		unlockB = u
		return true
	})
	if err := unlockA(t.Context()); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("unlock by the expired owner: err = %v, want kv.ErrNotFound", err)
	}
	wantLocked(t, e, "l")
	if err := unlockB(t.Context()); err != nil {
		t.Fatalf("unlock by the new owner: %v", err)
	}
	mustLock(t, e, "l", time.Minute)
}

func testPublishSubscribe(t *testing.T, e *env) {
	ctx := t.Context()
	sub1, err := e.Subscribe(ctx, "events")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	sub2, err := e.Subscribe(ctx, "events")
	if err != nil {
		t.Fatalf("second Subscribe: %v", err)
	}
	want := [][]byte{[]byte("one"), {0, 1, 0xff}, []byte("three"), {}}
	for _, m := range want {
		if err := e.Publish(ctx, "events", m); err != nil {
			t.Fatalf("Publish(%q): %v", m, err)
		}
	}
	for i, sub := range []<-chan []byte{sub1, sub2} {
		for _, w := range want {
			if got := receive(t, sub); !bytes.Equal(got, w) {
				t.Fatalf("subscriber %d received %q, want %q", i+1, got, w)
			}
		}
	}
}

func testPublishNoSubscribers(t *testing.T, e *env) {
	if err := e.Publish(t.Context(), "nobody", []byte("hello?")); err != nil {
		t.Fatalf("Publish with no subscribers: %v, want nil", err)
	}
}

func testSubscribeChannelsAreSeparate(t *testing.T, e *env) {
	ctx := t.Context()
	sub, err := e.Subscribe(ctx, "a")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	for _, p := range []struct{ channel, msg string }{{"b", "for b"}, {"a:", "for a:"}, {"a", "for a"}} {
		if err := e.Publish(ctx, p.channel, []byte(p.msg)); err != nil {
			t.Fatalf("Publish(%q): %v", p.channel, err)
		}
	}
	// Keys and channels are separate name spaces.
	mustSet(t, e, "a", []byte("a key"), 0)
	if got := receive(t, sub); string(got) != "for a" {
		t.Fatalf("subscriber of %q received %q, want %q", "a", got, "for a")
	}
}

func testSubscribeCancel(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(t.Context())
	sub, err := e.Subscribe(ctx, "events")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	other, err := e.Subscribe(t.Context(), "events")
	if err != nil {
		t.Fatalf("second Subscribe: %v", err)
	}
	if err := e.Publish(t.Context(), "events", []byte("before")); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if got := receive(t, sub); string(got) != "before" {
		t.Fatalf("received %q, want %q", got, "before")
	}
	cancel()
	wantClosed(t, sub)

	// Others are unaffected.
	if err := e.Publish(t.Context(), "events", []byte("after")); err != nil {
		t.Fatalf("Publish after a subscriber left: %v", err)
	}
	for _, want := range []string{"before", "after"} {
		if got := receive(t, other); string(got) != want {
			t.Fatalf("remaining subscriber received %q, want %q", got, want)
		}
	}
}

func testSubscribeCanceledContext(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := e.Subscribe(ctx, "events"); err == nil {
		t.Fatal("Subscribe with a canceled context: err = nil, want an error")
	}
}

func testPing(t *testing.T, e *env) {
	if err := e.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testClose(t *testing.T, e *env) {
	sub, err := e.Subscribe(t.Context(), "events")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wantClosed(t, sub)
	if err := e.Ping(t.Context()); err == nil {
		t.Error("Ping after Close: err = nil, want an error")
	}
	if err := e.Set(t.Context(), "k", []byte("v"), 0); err == nil {
		t.Error("Set after Close: err = nil, want an error")
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
}

// RedisURL returns the Redis server for tests, from TOUCHSTONE_TEST_REDIS_URL,
// after checking that it answers. When the variable is unset it skips the
// test, or fails it if TOUCHSTONE_REQUIRE_SERVICES=1. When the server does
// not answer it fails the test: asking for Redis and not getting it is an
// error.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("TOUCHSTONE_TEST_REDIS_URL")
	if url == "" {
		msg := "Redis tests need TOUCHSTONE_TEST_REDIS_URL, e.g. TOUCHSTONE_TEST_REDIS_URL=redis://127.0.0.1:6379/0"
		if os.Getenv("TOUCHSTONE_REQUIRE_SERVICES") == "1" {
			tb.Fatal(msg + " (required: TOUCHSTONE_REQUIRE_SERVICES=1)")
		}
		tb.Skip(msg)
	}
	r, err := kv.NewRedis(url)
	if err != nil {
		tb.Fatalf("TOUCHSTONE_TEST_REDIS_URL is set but the server cannot be used: %v", err)
	}
	if err := r.Close(); err != nil {
		tb.Fatalf("closing the probe connection: %v", err)
	}
	return url
}

// OpenRedis returns a kv.Redis on the server named by RedisURL, with a key
// and channel prefix unique to this call, so that parallel tests and packages
// sharing the server do not collide. Cleanup deletes the keys under the prefix
// and closes the store.
func OpenRedis(tb testing.TB) *kv.Redis {
	tb.Helper()
	url := RedisURL(tb)
	prefix := TestPrefix(tb)
	s, err := kv.NewRedis(url, kv.WithPrefix(prefix))
	if err != nil {
		tb.Fatalf("kv.NewRedis: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("closing the Redis store: %v", err)
		}
		if err := deletePrefix(url, prefix); err != nil {
			tb.Errorf("deleting test keys %s*: %v", prefix, err)
		}
	})
	return s
}

var unsafeInPrefix = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// TestPrefix returns a key prefix unique to this call, naming the test to
// help whoever finds a leftover key: "test:TestRedis_Incr:k3jd…:". It holds
// no glob metacharacters.
func TestPrefix(tb testing.TB) string {
	name := unsafeInPrefix.ReplaceAllString(tb.Name(), "_")
	if len(name) > 60 {
		name = name[:60]
	}
	return fmt.Sprintf("test:%s:%s:", name, rand.Text()[:12])
}

// deletePrefix deletes every key that starts with prefix, which must hold no
// glob metacharacters.
func deletePrefix(url, prefix string) error {
	o, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	c := redis.NewClient(o)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	return c.Del(ctx, keys...).Err()
}
