// Package auth holds accounts, roles and sessions: bcrypt password hashes,
// opaque session tokens stored as SHA-256 hashes (the same token serves a
// browser's cookie and an API client's bearer header) that expire after an
// idle period and at an absolute limit, a per-session CSRF token, and login
// rate limits kept in the shared kv store.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// Role is a capability a user holds; a user may hold several.
type Role string

// The roles.
const (
	Admin           Role = "admin"
	ProgramManager  Role = "program_manager"
	Psychometrician Role = "psychometrician"
	Proctor         Role = "proctor"
	Author          Role = "author"
	Candidate       Role = "candidate"
	// Panelist is a subject-matter expert who judges items in a
	// standard-setting study; it grants nothing else.
	Panelist Role = "panelist"
)

// Roles lists every role.
var Roles = []Role{Admin, ProgramManager, Psychometrician, Proctor, Author, Candidate, Panelist}

// Errors a caller branches on.
var (
	ErrNotFound     = errors.New("auth: not found")
	ErrBadLogin     = errors.New("auth: wrong email or password")
	ErrRateLimited  = errors.New("auth: too many login attempts")
	ErrUnauthorized = errors.New("auth: not signed in")
	ErrForbidden    = errors.New("auth: not allowed")
	ErrCSRF         = errors.New("auth: missing or wrong CSRF token")
)

// User is an account.
type User struct {
	ID        string
	Email     string
	Name      string
	Roles     []Role
	Simulated bool
}

// Has reports whether u holds any of roles.
func (u User) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(u.Roles, r) {
			return true
		}
	}
	return false
}

type userRow struct {
	ID           string    `gorm:"column:id;primaryKey"`
	Email        string    `gorm:"column:email"`
	Name         string    `gorm:"column:name"`
	PasswordHash string    `gorm:"column:password_hash"`
	Simulated    bool      `gorm:"column:simulated"`
	CreatedAt    time.Time `gorm:"column:created_at"`
}

func (userRow) TableName() string { return "users" }

type roleRow struct {
	UserID string `gorm:"column:user_id;primaryKey"`
	Role   string `gorm:"column:role;primaryKey"`
}

func (roleRow) TableName() string { return "user_roles" }

type sessionRow struct {
	TokenHash string    `gorm:"column:token_hash;primaryKey"`
	UserID    string    `gorm:"column:user_id"`
	CSRFToken string    `gorm:"column:csrf_token"`
	CreatedAt time.Time `gorm:"column:created_at"`
	ExpiresAt time.Time `gorm:"column:expires_at"`
	// LastSeenAt is when the session was last used, to within
	// touchInterval; nil for sessions opened before it was tracked.
	LastSeenAt *time.Time `gorm:"column:last_seen_at"`
}

func (sessionRow) TableName() string { return "sessions" }

// Models lists the GORM models of this package, for schema checks.
func Models() []any { return []any{userRow{}, roleRow{}, sessionRow{}} }

// Limits are the login rate limits: attempts per window per account and
// per client address. The zero value means 10 per account and 50 per
// address in 15 minutes.
type Limits struct {
	PerAccount int
	PerAddress int
	Window     time.Duration
}

// Service manages accounts and sessions.
type Service struct {
	db     *gorm.DB
	kv     kv.Store
	now    func() time.Time
	limits Limits
	// local counts rate limits on this instance alone while kv cannot be
	// reached (see count).
	local *kv.Memory
	cache sessionCache

	// Cost is the bcrypt cost of new hashes; tests lower it.
	Cost int
	// SessionTTL is how long a session lasts however busy; default 12 hours.
	SessionTTL time.Duration
	// IdleTimeout ends a session unused for that long; default 1 hour, long
	// enough for a candidate reading a passage while the exam player's
	// heartbeat keeps the session alive.
	IdleTimeout time.Duration
}

// touchInterval is how stale a session's last-seen time may get before a
// request records it again, so that busy sessions do not write on every
// request: a twelfth of the idle timeout, from one to five minutes (five
// for the default hour). A session therefore ends up to this much before
// IdleTimeout. Each write costs the database a statement per signed-in
// user per interval, as much as a candidate's answer saves at the default.
func (s *Service) touchInterval() time.Duration {
	return min(max(s.IdleTimeout/12, time.Minute), 5*time.Minute, s.IdleTimeout)
}

// NewService returns a Service on db with rate-limit counters in store.
func NewService(db *gorm.DB, store kv.Store, now func() time.Time, limits Limits) *Service {
	if limits.PerAccount == 0 {
		limits.PerAccount = 10
	}
	if limits.PerAddress == 0 {
		limits.PerAddress = 50
	}
	if limits.Window == 0 {
		limits.Window = 15 * time.Minute
	}
	return &Service{db: db, kv: store, now: now, limits: limits, local: kv.NewMemory(now),
		Cost: 12, SessionTTL: 12 * time.Hour, IdleTimeout: time.Hour}
}

// count adds one use to the rate-limit counter key, in the shared store,
// or in this instance's own counters when the shared store cannot be
// reached. A candidate must be able to sign in again mid-exam (a crashed
// browser, a new device) while Redis restarts: refusing every login would
// turn an outage of a cache into an outage of the exam. Counting locally
// keeps a guesser bounded (by the limit times the number of instances)
// until the shared counters are back; they then start from what Redis
// holds.
func (s *Service) count(ctx context.Context, key string, window time.Duration) (int64, error) {
	n, err := s.kv.Incr(ctx, key, window)
	if err == nil || ctx.Err() != nil {
		return n, err
	}
	n, lerr := s.local.Incr(ctx, key, window)
	if lerr != nil {
		return 0, errors.Join(err, lerr)
	}
	return n, nil
}

// Allow counts one use of the action by clientAddr and returns
// ErrRateLimited when it has been used more than max times in the current
// window: anonymous work that costs the server (verifying an uploaded
// credential) is bounded per client, across instances through the shared
// store.
func (s *Service) Allow(ctx context.Context, action, clientAddr string, max int, window time.Duration) error {
	n, err := s.count(ctx, "ratelimit:"+action+":"+clientAddr, window)
	if err != nil {
		return fmt.Errorf("auth: rate limit: %w", err)
	}
	if n > int64(max) {
		return ErrRateLimited
	}
	return nil
}

// NewUser describes an account to create. An empty Password makes an
// account that cannot sign in (simulated candidates of the demo history).
type NewUser struct {
	Email, Name, Password string
	Roles                 []Role
	Simulated             bool
}

// CreateUser adds an account. A password, unless empty, must pass
// CheckPassword.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (User, error) {
	addr, err := mail.ParseAddress(in.Email)
	if err != nil || addr.Address != in.Email {
		return User{}, valid.Errorf("email", "is not an email address")
	}
	if strings.TrimSpace(in.Name) == "" {
		return User{}, valid.Errorf("name", "is required")
	}
	if in.Password != "" {
		if err := CheckPassword(in.Password); err != nil {
			return User{}, err
		}
	}
	for _, r := range in.Roles {
		if !slices.Contains(Roles, r) {
			return User{}, valid.Errorf("roles", "unknown role %q", r)
		}
	}
	row := userRow{ID: uuid.NewString(), Email: strings.ToLower(in.Email), Name: in.Name, Simulated: in.Simulated, CreatedAt: s.now().UTC()}
	if in.Password != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.Cost)
		if err != nil {
			return User{}, fmt.Errorf("auth: hash: %w", err)
		}
		row.PasswordHash = string(h)
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return valid.Errorf("email", "is already registered")
			}
			return fmt.Errorf("auth: create user: %w", err)
		}
		for _, r := range in.Roles {
			if err := tx.Create(&roleRow{UserID: row.ID, Role: string(r)}).Error; err != nil {
				return fmt.Errorf("auth: grant role: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return User{ID: row.ID, Email: row.Email, Name: row.Name, Roles: in.Roles, Simulated: in.Simulated}, nil
}

// CreateUsers adds many accounts without passwords in one transaction, for
// bulk loads such as the demo's simulated history.
func (s *Service) CreateUsers(ctx context.Context, in []NewUser) ([]User, error) {
	rows := make([]userRow, len(in))
	var roles []roleRow
	out := make([]User, len(in))
	for i, u := range in {
		rows[i] = userRow{ID: uuid.NewString(), Email: strings.ToLower(u.Email), Name: u.Name, Simulated: u.Simulated, CreatedAt: s.now().UTC()}
		for _, r := range u.Roles {
			roles = append(roles, roleRow{UserID: rows[i].ID, Role: string(r)})
		}
		out[i] = User{ID: rows[i].ID, Email: rows[i].Email, Name: u.Name, Roles: u.Roles, Simulated: u.Simulated}
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(rows, 500).Error; err != nil {
			return fmt.Errorf("auth: create users: %w", err)
		}
		if len(roles) > 0 {
			if err := tx.CreateInBatches(roles, 500).Error; err != nil {
				return fmt.Errorf("auth: grant roles: %w", err)
			}
		}
		return nil
	})
	return out, err
}

// CreateUsersSharingPassword adds many accounts that all sign in with one
// password, hashed once (at Cost) for all of them: a load test's
// candidates, thousands of which would otherwise cost a bcrypt hash each.
// The password must pass CheckPassword; each account is validated as
// CreateUser validates it. An email already registered fails the whole
// call with a field error on "email".
func (s *Service) CreateUsersSharingPassword(ctx context.Context, in []NewUser, password string) ([]User, error) {
	if err := CheckPassword(password); err != nil {
		return nil, err
	}
	for i, u := range in {
		addr, err := mail.ParseAddress(u.Email)
		if err != nil || addr.Address != u.Email {
			return nil, valid.Errorf("email", "%q (account %d) is not an email address", u.Email, i+1)
		}
		if strings.TrimSpace(u.Name) == "" {
			return nil, valid.Errorf("name", "is required (account %d)", i+1)
		}
		for _, r := range u.Roles {
			if !slices.Contains(Roles, r) {
				return nil, valid.Errorf("roles", "unknown role %q", r)
			}
		}
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.Cost)
	if err != nil {
		return nil, fmt.Errorf("auth: hash: %w", err)
	}
	rows := make([]userRow, len(in))
	var roles []roleRow
	out := make([]User, len(in))
	for i, u := range in {
		rows[i] = userRow{ID: uuid.NewString(), Email: strings.ToLower(u.Email), Name: u.Name, PasswordHash: string(h), CreatedAt: s.now().UTC()}
		for _, r := range u.Roles {
			roles = append(roles, roleRow{UserID: rows[i].ID, Role: string(r)})
		}
		out[i] = User{ID: rows[i].ID, Email: rows[i].Email, Name: u.Name, Roles: u.Roles}
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(rows, 500).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return valid.Errorf("email", "is already registered")
			}
			return fmt.Errorf("auth: create users: %w", err)
		}
		if len(roles) > 0 {
			if err := tx.CreateInBatches(roles, 500).Error; err != nil {
				return fmt.Errorf("auth: grant roles: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UsersWithRole lists the accounts that hold role, by name; simulated
// accounts are left out.
func (s *Service) UsersWithRole(ctx context.Context, role Role) ([]User, error) {
	var rows []userRow
	err := s.db.WithContext(ctx).Joins("JOIN user_roles ON user_roles.user_id = users.id").
		Where("user_roles.role = ? AND users.simulated = ?", string(role), false).Order("users.name, users.id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("auth: users with role: %w", err)
	}
	out := make([]User, 0, len(rows))
	for _, r := range rows {
		u, err := s.withRoles(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// User returns an account by id.
func (s *Service) User(ctx context.Context, id string) (User, error) {
	return s.user(ctx, "id = ?", id)
}

// Identity is who an account is, without its roles.
type Identity struct{ ID, Email, Name string }

// Identities returns the identity of each account among ids that exists,
// by id, in one read: what a credential or a notice needs of the people
// it names.
func (s *Service) Identities(ctx context.Context, ids ...string) (map[string]Identity, error) {
	var rows []userRow
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("auth: identities: %w", err)
	}
	out := make(map[string]Identity, len(rows))
	for _, r := range rows {
		out[r.ID] = Identity{ID: r.ID, Email: r.Email, Name: r.Name}
	}
	return out, nil
}

// UserByEmail returns an account by email address.
func (s *Service) UserByEmail(ctx context.Context, email string) (User, error) {
	return s.user(ctx, "email = ?", strings.ToLower(email))
}

func (s *Service) user(ctx context.Context, cond string, arg string) (User, error) {
	var row userRow
	err := s.db.WithContext(ctx).Where(cond, arg).First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return User{}, fmt.Errorf("%w: user %s", ErrNotFound, arg)
	}
	if err != nil {
		return User{}, fmt.Errorf("auth: user: %w", err)
	}
	return s.withRoles(ctx, row)
}

func (s *Service) withRoles(ctx context.Context, row userRow) (User, error) {
	var roles []string
	if err := s.db.WithContext(ctx).Model(&roleRow{}).Where("user_id = ?", row.ID).Order("role").Pluck("role", &roles).Error; err != nil {
		return User{}, fmt.Errorf("auth: roles: %w", err)
	}
	u := User{ID: row.ID, Email: row.Email, Name: row.Name, Simulated: row.Simulated}
	for _, r := range roles {
		u.Roles = append(u.Roles, Role(r))
	}
	return u, nil
}

// Session is a signed-in user's session.
type Session struct {
	Token     string // only known right after Login; stored hashed
	User      User
	CSRFToken string
	ExpiresAt time.Time
}

// Login checks a password and opens a session. Attempts are counted per
// account and per client address before the password is checked, so a
// guesser is stopped whether or not it guesses right; over the limit it
// returns ErrRateLimited.
func (s *Service) Login(ctx context.Context, email, password, clientAddr string) (Session, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	for _, lim := range []struct {
		key string
		max int
	}{{"login:account:" + email, s.limits.PerAccount}, {"login:addr:" + clientAddr, s.limits.PerAddress}} {
		n, err := s.count(ctx, lim.key, s.limits.Window)
		if err != nil {
			return Session{}, fmt.Errorf("auth: rate limit: %w", err)
		}
		if n > int64(lim.max) {
			return Session{}, ErrRateLimited
		}
	}
	var row userRow
	err := s.db.WithContext(ctx).Where("email = ?", email).First(&row).Error
	// bcrypt reads only the first MaxPasswordBytes bytes, and no password
	// longer than that is ever set: a longer one is simply wrong.
	tooLong := len(password) > MaxPasswordBytes
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && (row.PasswordHash == "" || tooLong)) {
		// Spend the same time as a real check so that timing does not
		// reveal which addresses have accounts.
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return Session{}, ErrBadLogin
	}
	if err != nil {
		return Session{}, fmt.Errorf("auth: login: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(row.PasswordHash), []byte(password)) != nil {
		return Session{}, ErrBadLogin
	}
	u, err := s.withRoles(ctx, row)
	if err != nil {
		return Session{}, err
	}
	// Always a new token: no token a client presented before signing in
	// is ever promoted to a session (session fixation).
	token, csrf := randomToken(), randomToken()
	now := s.now().UTC()
	sess := sessionRow{TokenHash: hashToken(token), UserID: u.ID, CSRFToken: csrf, CreatedAt: now, ExpiresAt: now.Add(s.SessionTTL), LastSeenAt: &now}
	if err := s.db.WithContext(ctx).Create(&sess).Error; err != nil {
		return Session{}, fmt.Errorf("auth: open session: %w", err)
	}
	return Session{Token: token, User: u, CSRFToken: csrf, ExpiresAt: sess.ExpiresAt}, nil
}

// dummyHash is compared against when there is no account, at the cost real
// hashes have.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("touchstone timing equaliser"), 12)
	return h
})

// Authenticate returns the session of a token, or ErrUnauthorized when it
// is unknown, past its absolute expiry, or idle for IdleTimeout. It records
// the use, at most once per touchInterval. While WatchSessions runs, a
// session read in the last sessionCacheAge is answered from memory until
// its use is due to be recorded.
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	if token == "" {
		return Session{}, ErrUnauthorized
	}
	now := s.now().UTC()
	hash := hashToken(token)
	if e, ok := s.cache.get(hash, now); ok && e.lastSeen != nil && now.Sub(*e.lastSeen) < s.touchInterval() && now.Before(e.sess.ExpiresAt) {
		return e.session(), nil
	}
	// One query for the session, its user and the user's roles.
	var rows []sessionUserRow
	err := s.db.WithContext(ctx).Table("sessions").
		Select("sessions.token_hash, sessions.user_id, sessions.csrf_token, sessions.expires_at, sessions.last_seen_at, "+
			"users.email, users.name, users.simulated, user_roles.role").
		Joins("JOIN users ON users.id = sessions.user_id").
		Joins("LEFT JOIN user_roles ON user_roles.user_id = users.id").
		Where("sessions.token_hash = ? AND sessions.expires_at > ?", hash, now).
		Order("user_roles.role").Find(&rows).Error
	if err != nil {
		return Session{}, fmt.Errorf("auth: session: %w", err)
	}
	if len(rows) == 0 {
		return Session{}, ErrUnauthorized
	}
	row := rows[0]
	if row.LastSeenAt != nil && now.Sub(*row.LastSeenAt) >= s.IdleTimeout {
		if err := s.Logout(ctx, token); err != nil {
			return Session{}, err
		}
		return Session{}, ErrUnauthorized
	}
	lastSeen := row.LastSeenAt
	if lastSeen == nil || now.Sub(*lastSeen) >= s.touchInterval() {
		if err := s.db.WithContext(ctx).Model(&sessionRow{}).Where("token_hash = ?", row.TokenHash).Update("last_seen_at", now).Error; err != nil {
			return Session{}, fmt.Errorf("auth: touch session: %w", err)
		}
		lastSeen = &now
	}
	u := User{ID: row.UserID, Email: row.Email, Name: row.Name, Simulated: row.Simulated}
	for _, r := range rows {
		if r.Role != nil {
			u.Roles = append(u.Roles, Role(*r.Role))
		}
	}
	e := cachedSession{sess: Session{User: u, CSRFToken: row.CSRFToken, ExpiresAt: row.ExpiresAt}, lastSeen: lastSeen, readAt: now}
	s.cache.put(hash, e)
	return e.session(), nil
}

// sessionUserRow is a session joined with its user and one of the user's
// roles (nil for a user with none).
type sessionUserRow struct {
	TokenHash  string
	UserID     string
	CSRFToken  string
	ExpiresAt  time.Time
	LastSeenAt *time.Time
	Email      string
	Name       string
	Simulated  bool
	Role       *string
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string) error {
	hash := hashToken(token)
	if err := s.db.WithContext(ctx).Where("token_hash = ?", hash).Delete(&sessionRow{}).Error; err != nil {
		return fmt.Errorf("auth: logout: %w", err)
	}
	s.ended(ctx, "t:"+hash)
	return nil
}

// LogoutEverywhere ends every session of the user, on every device.
func (s *Service) LogoutEverywhere(ctx context.Context, userID string) error {
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Delete(&sessionRow{}).Error; err != nil {
		return fmt.Errorf("auth: logout everywhere: %w", err)
	}
	s.ended(ctx, "u:"+userID)
	return nil
}

// PurgeExpired deletes sessions past their absolute expiry or idle for
// IdleTimeout.
func (s *Service) PurgeExpired(ctx context.Context) error {
	now := s.now().UTC()
	return s.db.WithContext(ctx).Where("expires_at <= ? OR last_seen_at <= ?", now, now.Add(-s.IdleTimeout)).Delete(&sessionRow{}).Error
}

// CheckCSRF compares a presented token with the session's in constant time.
func CheckCSRF(sess Session, presented string) error {
	if presented == "" || subtle.ConstantTimeCompare([]byte(presented), []byte(sess.CSRFToken)) != 1 {
		return ErrCSRF
	}
	return nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// RandomPassword returns a new random password, for demo accounts.
func RandomPassword() string { return randomToken()[:20] }

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
