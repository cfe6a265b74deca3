package kv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Store = (*Redis)(nil)

// Redis is a Store on a Redis server, shared by every instance of a
// production deployment. Expiry follows the server's clock.
type Redis struct {
	client *redis.Client
	prefix string

	mu     sync.Mutex
	closed bool
	done   chan struct{}  // closed by Close to end subscriptions
	subs   sync.WaitGroup // subscription goroutines
	once   sync.Once
	err    error // from closing client
}

// RedisOption configures NewRedis.
type RedisOption func(*Redis)

// WithPrefix prefixes every key and channel name the Store uses with prefix,
// so that several deployments, or tests, can share one server. Channels need
// it as much as keys: Redis pub/sub ignores the database number.
func WithPrefix(prefix string) RedisOption {
	return func(r *Redis) { r.prefix = prefix }
}

// NewRedis connects to the server at url (redis://[user:password@]host:port/db,
// rediss:// for TLS, or unix://path) and checks it with PING, waiting at most
// five seconds. The caller must Close the returned Store.
func NewRedis(url string, opts ...RedisOption) (*Redis, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("kv: redis url: %w", err)
	}
	r := &Redis{client: redis.NewClient(o), done: make(chan struct{})}
	for _, opt := range opts {
		opt(r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.client.Ping(ctx).Err(); err != nil {
		_ = r.client.Close()
		return nil, fmt.Errorf("kv: redis ping: %w", err)
	}
	return r, nil
}

func (r *Redis) key(k string) string { return r.prefix + k }

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := r.client.Get(ctx, r.key(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("kv: redis get: %w", err)
	}
	return b, nil
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	// go-redis reads a ttl of -1 as KEEPTTL: reject negatives first.
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if err := r.client.Set(ctx, r.key(key), value, roundTTL(ttl)).Err(); err != nil {
		return fmt.Errorf("kv: redis set: %w", err)
	}
	return nil
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.key(key)).Err(); err != nil {
		return fmt.Errorf("kv: redis delete: %w", err)
	}
	return nil
}

// incrScript increments KEYS[1] and, if it has no expiry, gives it one of
// ARGV[1] milliseconds (0: none). A counter that somehow lost its expiry
// regains one rather than counting forever.
var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if ttl > 0 and redis.call('PTTL', KEYS[1]) == -1 then
	redis.call('PEXPIRE', KEYS[1], ttl)
end
return n
`)

// Incr implements Store.
func (r *Redis) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if err := checkTTL(ttl); err != nil {
		return 0, err
	}
	n, err := incrScript.Run(ctx, r.client, []string{r.key(key)}, millis(ttl)).Int64()
	if err != nil {
		return 0, fmt.Errorf("kv: redis incr: %w", err)
	}
	return n, nil
}

// unlockScript deletes KEYS[1] if it still holds the token ARGV[1], and
// returns the number of keys deleted.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// Lock implements Store with SET NX PX and a random token; the release
// compares and deletes atomically in a Lua script.
func (r *Redis) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	if err := checkLockTTL(ttl); err != nil {
		return nil, err
	}
	k, token := r.key(key), rand.Text()
	ok, err := r.client.SetNX(ctx, k, token, roundTTL(ttl)).Result()
	if err != nil {
		return nil, fmt.Errorf("kv: redis lock: %w", err)
	}
	if !ok {
		return nil, ErrLocked
	}
	return func(ctx context.Context) error {
		n, err := unlockScript.Run(ctx, r.client, []string{k}, token).Int64()
		if err != nil {
			return fmt.Errorf("kv: redis unlock: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("kv: lock %q no longer held: %w", key, ErrNotFound)
		}
		return nil
	}, nil
}

// Publish implements Store.
func (r *Redis) Publish(ctx context.Context, channel string, msg []byte) error {
	if err := r.client.Publish(ctx, r.key(channel), msg).Err(); err != nil {
		return fmt.Errorf("kv: redis publish: %w", err)
	}
	return nil
}

// Subscribe implements Store. It returns once the server has confirmed the
// subscription. go-redis buffers 100 messages for a slow receiver and drops a
// message it cannot hand over within a minute.
func (r *Redis) Subscribe(ctx context.Context, channel string) (<-chan []byte, error) {
	ps := r.client.Subscribe(ctx, r.key(channel))
	reply, err := ps.Receive(ctx)
	if err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("kv: redis subscribe: %w", err)
	}
	if _, ok := reply.(*redis.Subscription); !ok {
		_ = ps.Close()
		return nil, fmt.Errorf("kv: redis subscribe: unexpected reply %T", reply)
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = ps.Close()
		return nil, errClosed
	}
	r.subs.Add(1)
	r.mu.Unlock()

	in := ps.Channel()
	out := make(chan []byte)
	go func() {
		defer r.subs.Done()
		defer close(out)
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.done:
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- []byte(m.Payload):
				case <-ctx.Done():
					return
				case <-r.done:
					return
				}
			}
		}
	}()
	return out, nil
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("kv: redis ping: %w", err)
	}
	return nil
}

// Close ends every subscription, waits for their goroutines, and closes the
// connection pool.
func (r *Redis) Close() error {
	r.once.Do(func() {
		r.mu.Lock()
		r.closed = true
		close(r.done)
		r.mu.Unlock()
		r.subs.Wait()
		r.err = r.client.Close()
	})
	return r.err
}

// roundTTL rounds ttl up to whole milliseconds, the server's resolution.
func roundTTL(ttl time.Duration) time.Duration {
	return time.Duration(millis(ttl)) * time.Millisecond
}

// millis converts ttl to whole milliseconds for PEXPIRE, rounding up so that a
// positive ttl never becomes 0 (no expiry).
func millis(ttl time.Duration) int64 {
	return int64((ttl + time.Millisecond - 1) / time.Millisecond)
}
