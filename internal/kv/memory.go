package kv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
)

var _ Store = (*Memory)(nil)

const (
	// sweepInterval is how often, at most, a write scans the whole map for
	// expired entries. Between sweeps the map holds the live entries plus
	// those written in the last interval.
	sweepInterval = time.Minute

	// subscriptionBuffer is how many messages a Memory subscriber may fall
	// behind before further messages to it are dropped.
	subscriptionBuffer = 128
)

// Memory is a Store held in the process, for the embedded single-instance
// server and for tests. Expiry follows the clock given to NewMemory: an entry
// set with ttl d at time t is gone from t+d on.
//
// Memory starts no goroutines. Expired entries are dropped when read, and
// every write sweeps the whole map when the last sweep is more than a minute
// old, so memory is bounded by the live entries plus those written in the last
// minute.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	closed    bool
	data      map[string]entry
	nextSweep time.Time
	subs      map[string]map[*subscription]struct{}
}

type entry struct {
	value   []byte
	expires time.Time // zero: never
}

type subscription struct {
	ch   chan []byte
	stop func() bool // deregisters the context.AfterFunc that ends it
}

// NewMemory returns an empty Memory that reads the time from now; nil means
// time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{
		now:  now,
		data: make(map[string]entry),
		subs: make(map[string]map[*subscription]struct{}),
	}
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed
	}
	e, ok := m.lookup(key, m.now())
	if !ok {
		return nil, ErrNotFound
	}
	return clone(e.value), nil
}

// Set implements Store.
func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	now := m.now()
	m.sweep(now)
	m.data[key] = entry{value: clone(value), expires: expiry(now, ttl)}
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	delete(m.data, key)
	return nil
}

// Incr implements Store.
func (m *Memory) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := checkTTL(ttl); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, errClosed
	}
	now := m.now()
	m.sweep(now)
	e, ok := m.lookup(key, now)
	var n int64
	if ok {
		var err error
		n, err = strconv.ParseInt(string(e.value), 10, 64)
		if err != nil {
			return 0, errors.New("kv: incr: value is not an integer")
		}
		if n == math.MaxInt64 {
			return 0, errors.New("kv: incr: counter would overflow")
		}
	}
	n++
	if e.expires.IsZero() {
		e.expires = expiry(now, ttl)
	}
	e.value = strconv.AppendInt(nil, n, 10)
	m.data[key] = e
	return n, nil
}

// Lock implements Store.
func (m *Memory) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkLockTTL(ttl); err != nil {
		return nil, err
	}
	token := []byte(rand.Text())
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed
	}
	now := m.now()
	m.sweep(now)
	if _, held := m.lookup(key, now); held {
		return nil, ErrLocked
	}
	m.data[key] = entry{value: token, expires: now.Add(ttl)}
	return func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.closed {
			return errClosed
		}
		e, ok := m.lookup(key, m.now())
		if !ok || string(e.value) != string(token) {
			return fmt.Errorf("kv: lock %q no longer held: %w", key, ErrNotFound)
		}
		delete(m.data, key)
		return nil
	}, nil
}

// Publish implements Store. A subscriber more than 128 messages behind misses
// the message.
func (m *Memory) Publish(ctx context.Context, channel string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	for s := range m.subs[channel] {
		select {
		case s.ch <- clone(msg):
		default:
		}
	}
	return nil
}

// Subscribe implements Store.
func (m *Memory) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed
	}
	s := &subscription{ch: make(chan []byte, subscriptionBuffer)}
	if m.subs[channel] == nil {
		m.subs[channel] = make(map[*subscription]struct{})
	}
	m.subs[channel][s] = struct{}{}
	// The callback cannot run before Subscribe returns: it needs m.mu.
	s.stop = context.AfterFunc(ctx, func() { m.unsubscribe(channel, s) })
	return s.ch, nil
}

func (m *Memory) unsubscribe(channel string, s *subscription) {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := m.subs[channel]
	if _, ok := set[s]; !ok {
		return // already ended by Close
	}
	delete(set, s)
	if len(set) == 0 {
		delete(m.subs, channel)
	}
	close(s.ch)
}

// Ping implements Store; it fails only after Close.
func (m *Memory) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errClosed
	}
	return nil
}

// Close drops every entry and closes every subscription. It always returns
// nil.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	for _, set := range m.subs {
		for s := range set {
			s.stop()
			close(s.ch)
		}
	}
	m.subs = nil
	m.data = nil
	return nil
}

// lookup returns the live entry at key, deleting it if it has expired.
// m.mu must be held.
func (m *Memory) lookup(key string, now time.Time) (entry, bool) {
	e, ok := m.data[key]
	if !ok {
		return entry{}, false
	}
	if !e.expires.IsZero() && !now.Before(e.expires) {
		delete(m.data, key)
		return entry{}, false
	}
	return e, true
}

// sweep deletes every expired entry if the last sweep is sweepInterval old.
// m.mu must be held.
func (m *Memory) sweep(now time.Time) {
	if now.Before(m.nextSweep) {
		return
	}
	for k, e := range m.data {
		if !e.expires.IsZero() && !now.Before(e.expires) {
			delete(m.data, k)
		}
	}
	m.nextSweep = now.Add(sweepInterval)
}

func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl == 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}

// clone returns a copy of b that is never nil.
func clone(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
