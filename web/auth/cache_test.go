package auth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/internal/kv/kvtest"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// watching returns a Service on db and store whose session cache is live.
func watching(t *testing.T, db *gorm.DB, store kv.Store, now func() time.Time) *Service {
	t.Helper()
	s := NewService(db, store, now, Limits{})
	s.Cost = bcrypt.MinCost
	Watch(t, s)
	return s
}

// TestSessionCacheAcrossInstances: two instances share a database and
// shared state; a session ended on one is refused by the other, which had
// it in its cache, as soon as the message arrives.
func TestSessionCacheAcrossInstances(t *testing.T) {
	stores := map[string]func(t *testing.T, now func() time.Time) kv.Store{
		"memory": func(t *testing.T, now func() time.Time) kv.Store {
			m := kv.NewMemory(now)
			t.Cleanup(func() { _ = m.Close() })
			return m
		},
		"redis": func(t *testing.T, _ func() time.Time) kv.Store { return kvtest.OpenRedis(t) },
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
				clk := &testClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
				store := open(t, clk.Now)
				a, b := watching(t, db, store, clk.Now), watching(t, db, store, clk.Now)
				ctx := context.Background()
				u, err := a.CreateUser(ctx, NewUser{Email: "cand@example.test", Name: "Cand", Password: "correct horse battery staple", Roles: []Role{Candidate}})
				if err != nil {
					t.Fatal(err)
				}
				login := func() Session {
					t.Helper()
					sess, err := a.Login(ctx, u.Email, "correct horse battery staple", "192.0.2.1")
					if err != nil {
						t.Fatal(err)
					}
					if _, err := b.Authenticate(ctx, sess.Token); err != nil {
						t.Fatalf("authenticate on the other instance: %v", err)
					}
					return sess
				}
				refusedSoon := func(what, token string) {
					t.Helper()
					for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
						_, err := b.Authenticate(ctx, token)
						if errors.Is(err, ErrUnauthorized) {
							return
						}
						if time.Now().After(deadline) {
							t.Fatalf("%s: the other instance still accepts the session 5 s later (%v)", what, err)
						}
					}
				}

				one := login()
				if err := a.Logout(ctx, one.Token); err != nil {
					t.Fatal(err)
				}
				refusedSoon("logout", one.Token)

				two, three := login(), login()
				if err := a.LogoutEverywhere(ctx, u.ID); err != nil {
					t.Fatal(err)
				}
				refusedSoon("logout everywhere, first session", two.Token)
				refusedSoon("logout everywhere, second session", three.Token)

				// A session ended without a message (here, deleted behind
				// the instances' backs) is answered from the cache, but
				// not for longer than sessionCacheAge.
				four := login()
				if err := db.Exec("DELETE FROM sessions").Error; err != nil {
					t.Fatal(err)
				}
				if _, err := b.Authenticate(ctx, four.Token); err != nil {
					t.Fatalf("a cached session: %v, want it answered from the cache", err)
				}
				clk.Advance(sessionCacheAge)
				if _, err := b.Authenticate(ctx, four.Token); !errors.Is(err, ErrUnauthorized) {
					t.Fatalf("a deleted session %s after it was cached: %v, want ErrUnauthorized", sessionCacheAge, err)
				}
			})
		})
	}
}

// TestSessionCacheOnlyWhileWatching: an instance that does not receive
// invalidations reads every session from the database.
func TestSessionCacheOnlyWhileWatching(t *testing.T) {
	db := dbtest.SQLite(t)
	clk := &testClock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	store := kv.NewMemory(clk.Now)
	t.Cleanup(func() { _ = store.Close() })
	s := NewService(db, store, clk.Now, Limits{})
	s.Cost = bcrypt.MinCost
	ctx := context.Background()
	u, err := s.CreateUser(ctx, NewUser{Email: "cand@example.test", Name: "Cand", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.Login(ctx, u.Email, "correct horse battery staple", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, sess.Token); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("DELETE FROM sessions").Error; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, sess.Token); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("a deleted session without WatchSessions: %v, want ErrUnauthorized", err)
	}
}
