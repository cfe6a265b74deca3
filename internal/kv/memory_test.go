package kv_test

import (
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/internal/kv/kvtest"
)

func TestMemory(t *testing.T) {
	kvtest.RunWithClock(t, func(t *testing.T, now func() time.Time) kv.Store {
		m := kv.NewMemory(now)
		t.Cleanup(func() { m.Close() })
		return m
	})
}

// TestMemoryRealTime runs the suite on the default clock too, which is how
// the server uses Memory.
func TestMemoryRealTime(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Store {
		m := kv.NewMemory(nil)
		t.Cleanup(func() { m.Close() })
		return m
	})
}
