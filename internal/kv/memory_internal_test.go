package kv

import (
	"fmt"
	"testing"
	"time"
)

// TestMemorySweep checks that expired entries nobody reads again are dropped
// by a later write once the sweep interval has passed, so memory stays bounded.
func TestMemorySweep(t *testing.T) {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	m := NewMemory(func() time.Time { return now })
	defer m.Close()
	ctx := t.Context()

	for i := range 100 {
		if err := m.Set(ctx, fmt.Sprint("short", i), []byte("v"), time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Incr(ctx, fmt.Sprint("counter", i), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Set(ctx, "forever", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if got, want := m.entries(), 201; got != want {
		t.Fatalf("entries after the writes = %d, want %d", got, want)
	}

	now = now.Add(2 * time.Second)
	if err := m.Set(ctx, "again", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if got, want := m.entries(), 202; got != want {
		t.Fatalf("entries before the sweep interval = %d, want %d (expired entries wait for the sweep)", got, want)
	}

	now = now.Add(sweepInterval)
	if _, err := m.Lock(ctx, "lock", time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, want := m.entries(), 3; got != want {
		t.Fatalf("entries after the sweep = %d, want %d (forever, again, lock)", got, want)
	}
}

// TestMemoryCloseEndsSubscriptions checks that after Close
// its subscriptions are closed and its state released.
func TestMemoryCloseEndsSubscriptions(t *testing.T) {
	m := NewMemory(nil)
	ch, err := m.Subscribe(t.Context(), "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("subscription delivered a message after Close, want it closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("subscription still open 5s after Close")
	}
	if m.subs != nil || m.data != nil {
		t.Fatalf("Close kept state: %d channels, %d entries", len(m.subs), len(m.data))
	}
}

func (m *Memory) entries() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.data)
}
