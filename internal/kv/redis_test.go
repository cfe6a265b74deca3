package kv_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/internal/kv/kvtest"
)

func TestRedis(t *testing.T) {
	kvtest.RedisURL(t) // skip or fail once, not once per case
	kvtest.Run(t, func(t *testing.T) kv.Store { return kvtest.OpenRedis(t) })
}

// TestRedisIncrKeepsWindow checks on the server what the real-time suite can
// only bound loosely: later increments leave the window's expiry alone.
func TestRedisIncrKeepsWindow(t *testing.T) {
	url := kvtest.RedisURL(t)
	prefix := kvtest.TestPrefix(t)
	s, err := kv.NewRedis(url, kv.WithPrefix(prefix))
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("ParseURL: %v", err)
	}
	raw := redis.NewClient(o)
	t.Cleanup(func() { raw.Close() })
	ctx := t.Context()
	key := prefix + "n"
	t.Cleanup(func() { raw.Del(context.Background(), key) })

	if _, err := s.Incr(ctx, "n", time.Hour); err != nil {
		t.Fatalf("Incr: %v", err)
	}
	first, err := raw.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatalf("PTTL: %v", err)
	}
	if first <= 0 || first > time.Hour {
		t.Fatalf("PTTL after the first Incr = %v, want in (0, 1h]", first)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := s.Incr(ctx, "n", time.Hour); err != nil {
		t.Fatalf("Incr: %v", err)
	}
	second, err := raw.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatalf("PTTL: %v", err)
	}
	if second >= first {
		t.Fatalf("PTTL after a second Incr = %v, want less than %v: the window must not be extended", second, first)
	}

	// A counter without expiry (set by Set) gains one on its next Incr.
	if err := s.Set(ctx, "n", []byte("7"), 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if _, err := s.Incr(ctx, "n", time.Minute); err != nil {
		t.Fatalf("Incr: %v", err)
	}
	if got, err := raw.PTTL(ctx, key).Result(); err != nil || got <= 0 || got > time.Minute {
		t.Fatalf("PTTL of a counter set without expiry, after Incr = %v, %v; want in (0, 1m]", got, err)
	}
}
