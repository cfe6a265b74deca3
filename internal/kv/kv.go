package kv

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned by Get when the key is absent or has expired, and
// (wrapped) by a lock's release function when the lock is no longer held.
var ErrNotFound = errors.New("kv: not found")

// ErrLocked is returned by Lock when another owner holds the lock.
var ErrLocked = errors.New("kv: locked")

// errClosed is returned by every method of a Memory after Close.
var errClosed = errors.New("kv: store is closed")

// Store is ephemeral shared state. Keys and channel names are opaque strings;
// callers namespace them ("ratelimit:login:…", "lock:calibrate:…").
// Implementations are safe for concurrent use.
type Store interface {
	// Get returns a copy of the value stored at key, or ErrNotFound when the
	// key is absent or has expired.
	Get(ctx context.Context, key string) ([]byte, error)

	// Set stores a copy of value at key, replacing any value and expiry it
	// had. The key expires ttl from now; a ttl of 0 means no expiry. A
	// negative ttl is an error.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error

	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// Incr atomically adds 1 to the decimal counter at key and returns the new
	// value; a missing or expired key counts as 0. The window starts with the
	// first increment: the counter then expires ttl later, and later
	// increments do not extend it (fixed-window rate limiting). A ttl of 0
	// means no expiry; a negative ttl is an error, and so is a value at key
	// that is not a decimal integer.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)

	// Lock takes the lock named key for at most ttl, which must be positive.
	// It returns ErrLocked when another owner holds the lock. The returned
	// unlock releases the lock only if this owner still holds it; when the
	// lock has expired or been taken by another owner since, unlock changes
	// nothing and returns an error wrapping ErrNotFound. The lock occupies
	// key in the same key space as Get and Set.
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, err error)

	// Publish sends msg to the current subscribers of channel. It succeeds
	// when nobody is listening. Delivery is best effort: a subscriber that
	// falls far behind may miss messages.
	Publish(ctx context.Context, channel string, msg []byte) error

	// Subscribe returns a channel that receives, in order, the messages
	// published on channel after Subscribe returns, until ctx is done or the
	// Store is closed; the returned channel is closed then. The caller must
	// keep receiving, or messages may be dropped.
	Subscribe(ctx context.Context, channel string) (<-chan []byte, error)

	// Ping reports whether the Store is usable.
	Ping(ctx context.Context) error

	// Close releases the Store's resources and ends its subscriptions. Calls
	// after Close return errors, except Close itself, which is idempotent.
	Close() error
}

// checkTTL rejects a negative ttl.
func checkTTL(ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("kv: negative ttl %v", ttl)
	}
	return nil
}

// checkLockTTL rejects a lock that would never expire.
func checkLockTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("kv: lock ttl %v must be positive", ttl)
	}
	return nil
}
