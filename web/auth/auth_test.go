package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/web/auth"
)

const password = "correct horse battery staple"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	auth  *auth.Service
	db    *gorm.DB
	clock *clock
	user  auth.User
}

// newFixture returns a service on db with one candidate who signs in with
// password.
func newFixture(t *testing.T, db *gorm.DB) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
	store := kv.NewMemory(clk.Now)
	t.Cleanup(func() { _ = store.Close() })
	svc := auth.NewService(db, store, clk.Now, auth.Limits{})
	svc.Cost = bcrypt.MinCost
	// Every session test runs with the session cache live.
	auth.Watch(t, svc)
	u, err := svc.CreateUser(context.Background(), auth.NewUser{Email: "cand@example.test", Name: "Cand", Password: password, Roles: []auth.Role{auth.Candidate}})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return &fixture{auth: svc, db: db, clock: clk, user: u}
}

func (f *fixture) login(t *testing.T) auth.Session {
	t.Helper()
	sess, err := f.auth.Login(context.Background(), f.user.Email, password, "192.0.2.1")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return sess
}

// wantSignedIn fails t unless token authenticates (want true) or is
// refused with ErrUnauthorized (want false).
func (f *fixture) wantSignedIn(t *testing.T, what, token string, want bool) {
	t.Helper()
	_, err := f.auth.Authenticate(context.Background(), token)
	switch {
	case want && err != nil:
		t.Errorf("%s: got %v, want the session", what, err)
	case !want && !errors.Is(err, auth.ErrUnauthorized):
		t.Errorf("%s: got %v, want ErrUnauthorized", what, err)
	}
}

func (f *fixture) lastSeen(t *testing.T, token string) time.Time {
	t.Helper()
	var sessions []struct{ LastSeenAt time.Time }
	if err := f.db.Table("sessions").Select("last_seen_at").Find(&sessions).Error; err != nil || len(sessions) != 1 {
		t.Fatalf("sessions: %v, %d rows, want 1", err, len(sessions))
	}
	return sessions[0].LastSeenAt.UTC()
}

func TestSessionIdleTimeout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		if f.auth.IdleTimeout != time.Hour {
			t.Fatalf("default IdleTimeout = %s, want 1h", f.auth.IdleTimeout)
		}
		sess := f.login(t)
		f.clock.Advance(59 * time.Minute)
		f.wantSignedIn(t, "after 59 idle minutes", sess.Token, true)
		f.clock.Advance(59 * time.Minute)
		f.wantSignedIn(t, "after another 59 idle minutes", sess.Token, true)
		f.clock.Advance(time.Hour)
		f.wantSignedIn(t, "after an idle hour", sess.Token, false)
		f.clock.Advance(-time.Hour)
		f.wantSignedIn(t, "idle-expired, back in time", sess.Token, false) // ended, not just refused

		f.auth.IdleTimeout = 10 * time.Minute
		sess = f.login(t)
		f.clock.Advance(10 * time.Minute)
		f.wantSignedIn(t, "idle for a configured 10 minutes", sess.Token, false)
	})
}

// TestSessionKeptAliveUntilAbsoluteExpiry: a candidate whose exam player
// calls every 20 seconds stays signed in, but not past SessionTTL.
func TestSessionKeptAliveUntilAbsoluteExpiry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		sess := f.login(t)
		if want := f.clock.Now().Add(12 * time.Hour); !sess.ExpiresAt.Equal(want) {
			t.Errorf("ExpiresAt = %s, want %s", sess.ExpiresAt, want)
		}
		deadline := f.clock.Now().Add(f.auth.SessionTTL)
		// Twenty-minute steps save the test time until the last of them;
		// each stays under the idle limit.
		for deadline.Sub(f.clock.Now()) > 20*time.Minute {
			f.wantSignedIn(t, "kept alive", sess.Token, true)
			f.clock.Advance(20 * time.Minute)
		}
		for f.clock.Now().Before(deadline) {
			f.wantSignedIn(t, "heartbeat before the deadline", sess.Token, true)
			f.clock.Advance(20 * time.Second)
		}
		f.wantSignedIn(t, "at the absolute expiry", sess.Token, false)
	})
}

// TestSessionLastSeenWrittenAtMostOnceATwelfthOfTheIdleTimeout: a busy
// session records its use every five minutes under the default idle hour,
// every minute under a short idle timeout, and not in between.
func TestSessionLastSeenWrittenAtMostOnceATwelfthOfTheIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		idle, every time.Duration
	}{{time.Hour, 5 * time.Minute}, {10 * time.Minute, time.Minute}} {
		dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
			f := newFixture(t, db)
			f.auth.IdleTimeout = tc.idle
			start := f.clock.Now()
			sess := f.login(t)
			if got := f.lastSeen(t, sess.Token); !got.Equal(start) {
				t.Errorf("idle %s: last seen after login = %s, want %s", tc.idle, got, start)
			}
			for f.clock.Now().Sub(start) < tc.every-20*time.Second {
				f.clock.Advance(20 * time.Second)
				f.wantSignedIn(t, "heartbeat", sess.Token, true)
			}
			if got := f.lastSeen(t, sess.Token); !got.Equal(start) {
				t.Errorf("idle %s: last seen after %s of heartbeats = %s, want %s (no write within %s)",
					tc.idle, f.clock.Now().Sub(start), got, start, tc.every)
			}
			f.clock.Advance(20 * time.Second)
			f.wantSignedIn(t, "heartbeat", sess.Token, true)
			if got, want := f.lastSeen(t, sess.Token), start.Add(tc.every); !got.Equal(want) {
				t.Errorf("idle %s: last seen %s on = %s, want %s", tc.idle, tc.every, got, want)
			}
		})
	}
}

// TestSessionFromBeforeIdleTracking: a session opened before last-seen
// times were recorded starts its idle clock at its next use.
func TestSessionFromBeforeIdleTracking(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		sess := f.login(t)
		if err := db.Exec("UPDATE sessions SET last_seen_at = NULL").Error; err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(3 * time.Hour)
		f.wantSignedIn(t, "first use after 3 hours", sess.Token, true)
		f.clock.Advance(time.Hour)
		f.wantSignedIn(t, "an idle hour after that", sess.Token, false)
	})
}

func TestLoginIssuesAFreshToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		first, second := f.login(t), f.login(t)
		if first.Token == second.Token || first.CSRFToken == second.CSRFToken {
			t.Errorf("two logins share a token or CSRF token: %+v, %+v", first, second)
		}
		f.wantSignedIn(t, "token nobody issued", "chosen-by-an-attacker", false)
	})
}

func TestLogoutEndsTheSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		gone, kept := f.login(t), f.login(t)
		if err := f.auth.Logout(context.Background(), gone.Token); err != nil {
			t.Fatal(err)
		}
		f.wantSignedIn(t, "logged-out token", gone.Token, false)
		f.wantSignedIn(t, "the user's other session", kept.Token, true)

		other, err := f.auth.CreateUser(context.Background(), auth.NewUser{Email: "other@example.test", Name: "Other", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		elsewhere, err := f.auth.Login(context.Background(), other.Email, password, "192.0.2.9")
		if err != nil {
			t.Fatal(err)
		}
		again := f.login(t)
		if err := f.auth.LogoutEverywhere(context.Background(), f.user.ID); err != nil {
			t.Fatal(err)
		}
		f.wantSignedIn(t, "a session after signing out everywhere", kept.Token, false)
		f.wantSignedIn(t, "another session after signing out everywhere", again.Token, false)
		f.wantSignedIn(t, "another user's session", elsewhere.Token, true)
	})
}

func TestPurgeExpiredRemovesIdleAndExpiredSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		purge := func(what string, want int64) {
			t.Helper()
			if err := f.auth.PurgeExpired(context.Background()); err != nil {
				t.Fatal(err)
			}
			var n int64
			if err := db.Table("sessions").Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Errorf("%s: %d sessions left, want %d", what, n, want)
			}
		}
		f.login(t)
		f.clock.Advance(time.Hour)
		busy := f.login(t)
		purge("an idle session and a new one", 1)
		f.wantSignedIn(t, "the session kept", busy.Token, true)

		for range 23 {
			f.clock.Advance(30 * time.Minute)
			f.wantSignedIn(t, "busy session", busy.Token, true)
		}
		purge("busy for 11.5 hours", 1)
		f.clock.Advance(30 * time.Minute)
		purge("busy for 12 hours", 0)
	})
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		name, pw, want string // want: part of the message, "" for accepted
	}{
		{"eleven characters", "abcdefghijk", "at least 12 characters"},
		{"twelve characters", "tangerine-42", ""},
		{"twelve accented characters, more bytes", "ééééééééééé1", ""},
		{"72 bytes", strings.Repeat("tangerine", 8), ""},
		{"73 bytes", strings.Repeat("tangerine", 8) + "s", "at most 72 bytes"},
		{"common", "password1234", "commonly used password"},
		{"common in another case", "QwertyUIOP123", "commonly used password"},
		{"common keyboard walk", "1qaz2wsx3edc", "commonly used password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := auth.CheckPassword(tc.pw)
			if tc.want == "" {
				if err != nil {
					t.Errorf("CheckPassword(%q) = %v, want nil", tc.pw, err)
				}
				return
			}
			var ve *valid.Error
			if !errors.As(err, &ve) || ve.Field != "password" || !strings.Contains(ve.Message, tc.want) {
				t.Errorf("CheckPassword(%q) = %v, want a password error saying %q", tc.pw, err, tc.want)
			}
		})
	}
}

func TestCreateUserChecksThePassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		_, err := f.auth.CreateUser(ctx, auth.NewUser{Email: "weak@example.test", Name: "Weak", Password: "Password1234"})
		var ve *valid.Error
		if !errors.As(err, &ve) || ve.Field != "password" || !strings.Contains(ve.Message, "commonly used") {
			t.Errorf("common password: got %v, want a password error", err)
		}
		_, err = f.auth.CreateUser(ctx, auth.NewUser{Email: "long@example.test", Name: "Long", Password: strings.Repeat("x", 73)})
		if !errors.As(err, &ve) || ve.Field != "password" {
			t.Errorf("73-byte password: got %v, want a password error", err)
		}
		if _, err := f.auth.UserByEmail(ctx, "weak@example.test"); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("account with a refused password: got %v, want ErrNotFound", err)
		}
	})
}

// TestLoginRefusesPasswordsPastBcryptsLimit: bcrypt reads 72 bytes, so a
// longer password that starts with the right one must still be wrong.
func TestLoginRefusesPasswordsPastBcryptsLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		long := strings.Repeat("tangerine", 8)
		if _, err := f.auth.CreateUser(ctx, auth.NewUser{Email: "long@example.test", Name: "Long", Password: long}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.auth.Login(ctx, "long@example.test", long, "192.0.2.2"); err != nil {
			t.Errorf("72-byte password: %v", err)
		}
		if _, err := f.auth.Login(ctx, "long@example.test", long+"and more", "192.0.2.2"); !errors.Is(err, auth.ErrBadLogin) {
			t.Errorf("the 72 bytes and more: got %v, want ErrBadLogin", err)
		}
	})
}

// TestCreateUsersSharingPassword: every account signs in with the one
// password, a duplicate email refuses the whole batch, and a weak password
// is refused before anything is written.
func TestCreateUsersSharingPassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		const shared = "a load test's shared password"
		in := []auth.NewUser{
			{Email: "load1@example.test", Name: "Load 1", Roles: []auth.Role{auth.Candidate}},
			{Email: "load2@example.test", Name: "Load 2", Roles: []auth.Role{auth.Candidate}},
		}
		users, err := f.auth.CreateUsersSharingPassword(ctx, in, shared)
		if err != nil || len(users) != 2 {
			t.Fatalf("create: %v, %d users, want 2", err, len(users))
		}
		for _, u := range users {
			sess, err := f.auth.Login(ctx, u.Email, shared, "192.0.2.9")
			if err != nil || !sess.User.Has(auth.Candidate) {
				t.Errorf("login %s: %v, roles %v; want a candidate's session", u.Email, err, sess.User.Roles)
			}
		}
		var ve *valid.Error
		_, err = f.auth.CreateUsersSharingPassword(ctx, []auth.NewUser{{Email: "load3@example.test", Name: "Load 3"}, in[0]}, shared)
		if !errors.As(err, &ve) || ve.Field != "email" {
			t.Errorf("duplicate email: got %v, want an email error", err)
		}
		if _, err := f.auth.UserByEmail(ctx, "load3@example.test"); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("batch with a duplicate: got %v for its other account, want ErrNotFound", err)
		}
		_, err = f.auth.CreateUsersSharingPassword(ctx, []auth.NewUser{{Email: "load4@example.test", Name: "Load 4"}}, "Password1234")
		if !errors.As(err, &ve) || ve.Field != "password" {
			t.Errorf("common password: got %v, want a password error", err)
		}
	})
}

// While the shared state is down (a closed store fails every call, as an
// unreachable Redis does) candidates still sign in, and the login limits
// still hold, counted on the instance.
func TestLoginWhileSharedStateIsDown(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
		store := kv.NewMemory(clk.Now)
		svc := auth.NewService(db, store, clk.Now, auth.Limits{PerAccount: 3})
		svc.Cost = bcrypt.MinCost
		u, err := svc.CreateUser(context.Background(), auth.NewUser{Email: "cand@example.test", Name: "Cand", Password: password, Roles: []auth.Role{auth.Candidate}})
		if err != nil {
			t.Fatal(err)
		}
		_ = store.Close()
		if _, err := svc.Login(context.Background(), u.Email, "wrong password", "192.0.2.1"); !errors.Is(err, auth.ErrBadLogin) {
			t.Fatalf("wrong password with the shared state down: %v, want ErrBadLogin", err)
		}
		for i := range 2 {
			if _, err := svc.Login(context.Background(), u.Email, password, "192.0.2.1"); err != nil {
				t.Fatalf("login %d with the shared state down: %v", i+2, err)
			}
		}
		if _, err := svc.Login(context.Background(), u.Email, password, "192.0.2.1"); !errors.Is(err, auth.ErrRateLimited) {
			t.Fatalf("fourth login of three allowed, with the shared state down: %v, want ErrRateLimited", err)
		}
	})
}
