package auth

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// Every signed-in request authenticates, and a candidate's page makes one
// every few seconds; the session cache answers most of them from memory.
// It is trusted only while this instance is subscribed to the
// invalidations other instances publish when they end sessions, and even
// then an entry is re-read from the database after sessionCacheAge: that
// bounds how long a logout whose message was lost (the shared store
// unreachable) goes unnoticed elsewhere.
const (
	sessionCacheAge  = time.Minute
	sessionCacheSize = 200_000
	// sessionsChannel carries "t:<token hash>" for one ended session and
	// "u:<user id>" for all of a user's.
	sessionsChannel = "auth:sessions:ended"
)

type cachedSession struct {
	sess     Session
	lastSeen *time.Time
	readAt   time.Time
}

// sessionCache maps token hashes to sessions read from the database.
type sessionCache struct {
	mu      sync.Mutex
	live    bool // an invalidation subscription is running
	entries map[string]cachedSession
}

// get returns the cached session of a token hash, if one was read less
// than sessionCacheAge before now.
func (c *sessionCache) get(tokenHash string, now time.Time) (cachedSession, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[tokenHash]
	if !ok || !c.live || now.Sub(e.readAt) >= sessionCacheAge || now.Before(e.readAt) {
		return cachedSession{}, false
	}
	return e, true
}

func (c *sessionCache) put(tokenHash string, e cachedSession) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live {
		return
	}
	if len(c.entries) >= sessionCacheSize {
		for k, old := range c.entries {
			if e.readAt.Sub(old.readAt) >= sessionCacheAge {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= sessionCacheSize {
			clear(c.entries)
		}
	}
	c.entries[tokenHash] = e
}

// drop forgets what an invalidation message names.
func (c *sessionCache) drop(msg string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hash, ok := strings.CutPrefix(msg, "t:"); ok {
		delete(c.entries, hash)
		return
	}
	if userID, ok := strings.CutPrefix(msg, "u:"); ok {
		for k, e := range c.entries {
			if e.sess.User.ID == userID {
				delete(c.entries, k)
			}
		}
	}
}

// setLive starts or stops trusting the cache; either way it starts empty,
// since invalidations may have been missed while it was not subscribed.
func (c *sessionCache) setLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live = live
	c.entries = make(map[string]cachedSession)
}

// WatchSessions keeps this instance's session cache in step with sessions
// that any instance ends, and enables the cache while it runs. It returns
// when ctx is done. Without it every request reads its session from the
// database.
func (s *Service) WatchSessions(ctx context.Context) {
	for ctx.Err() == nil {
		msgs, err := s.kv.Subscribe(ctx, sessionsChannel)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		s.cache.setLive(true)
		for m := range msgs {
			s.cache.drop(string(m))
		}
		s.cache.setLive(false)
	}
}

// ended drops msg from this instance's cache and tells the others. When
// the shared store cannot be reached the others notice within
// sessionCacheAge.
func (s *Service) ended(ctx context.Context, msg string) {
	s.cache.drop(msg)
	_ = s.kv.Publish(ctx, sessionsChannel, []byte(msg))
}

func (e cachedSession) session() Session {
	out := e.sess
	out.User.Roles = slices.Clone(out.User.Roles)
	return out
}
