package loadtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/migrations"
	"github.com/touchstone-assess/touchstone/web/auth"
)

// SetupConfig says which load accounts to create, and how.
type SetupConfig struct {
	// DatabaseURL is the server's database (postgres://… or a SQLite
	// file path); it is migrated first, as the server would.
	DatabaseURL string
	// Candidates is how many accounts: load accounts FirstAccount …
	// FirstAccount+Candidates-1 (see AccountEmail). Existing ones are kept.
	Candidates   int
	FirstAccount int
	// Password is their one password (default DefaultPassword).
	Password string
	// BcryptCost is the cost of its hash; 0 takes the product's (12). A
	// lower cost makes sign-ins cheaper than production's: the report of
	// a run says nothing about logins then.
	BcryptCost int
	// Exam and SnapshotSeconds, when both are set, make the exam (title
	// or id) take a webcam snapshot every SnapshotSeconds, so that the
	// candidates send them; its other proctoring settings are kept.
	Exam            string
	SnapshotSeconds int
}

// SetupResult says what Setup did.
type SetupResult struct {
	Created, Existing int
	// Exam is the exam whose snapshot interval was set, if any.
	Exam string
}

// Setup creates the load accounts through the product's account store,
// hashing their shared password once, in batches of 1,000; accounts that
// exist already are left as they are.
func Setup(ctx context.Context, cfg SetupConfig) (SetupResult, error) {
	if cfg.FirstAccount == 0 {
		cfg.FirstAccount = 1
	}
	if cfg.Password == "" {
		cfg.Password = DefaultPassword
	}
	switch {
	case cfg.DatabaseURL == "":
		return SetupResult{}, errors.New("database-url: required: the server's database (postgres://… or the SQLite file)")
	case cfg.Candidates < 1:
		return SetupResult{}, fmt.Errorf("candidates: %d must be at least 1", cfg.Candidates)
	case cfg.FirstAccount < 1:
		return SetupResult{}, fmt.Errorf("first-account: %d must be at least 1", cfg.FirstAccount)
	case cfg.BcryptCost != 0 && (cfg.BcryptCost < 4 || cfg.BcryptCost > 31):
		return SetupResult{}, fmt.Errorf("bcrypt-cost: %d is not from 4 to 31", cfg.BcryptCost)
	case cfg.SnapshotSeconds != 0 && (cfg.SnapshotSeconds < assess.MinSnapshotSeconds || cfg.SnapshotSeconds > assess.MaxSnapshotSeconds):
		return SetupResult{}, fmt.Errorf("snapshot-seconds: %d is not from %d to %d", cfg.SnapshotSeconds, assess.MinSnapshotSeconds, assess.MaxSnapshotSeconds)
	}
	if err := auth.CheckPassword(cfg.Password); err != nil {
		return SetupResult{}, fmt.Errorf("password: %w", err)
	}
	db, err := migrations.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return SetupResult{}, err
	}
	defer migrations.Close(db)
	now := func() time.Time { return time.Now().UTC() }
	store := kv.NewMemory(now)
	defer store.Close()
	accounts := auth.NewService(db, store, now, auth.Limits{})
	if cfg.BcryptCost != 0 {
		accounts.Cost = cfg.BcryptCost
	}
	var res SetupResult
	last := cfg.FirstAccount + cfg.Candidates - 1
	for from := cfg.FirstAccount; from <= last; from += 1000 {
		to := min(from+999, last)
		var missing []auth.NewUser
		for n := from; n <= to; n++ {
			// The batch's ends exist: a batch an earlier setup created.
			if n == from && exists(ctx, accounts, from) && exists(ctx, accounts, to) {
				res.Existing += to - from + 1
				break
			}
			if exists(ctx, accounts, n) {
				res.Existing++
				continue
			}
			missing = append(missing, auth.NewUser{Email: AccountEmail(n), Name: fmt.Sprintf("Load candidate %d", n), Roles: []auth.Role{auth.Candidate}})
		}
		if len(missing) == 0 {
			continue
		}
		if _, err := accounts.CreateUsersSharingPassword(ctx, missing, cfg.Password); err != nil {
			return res, fmt.Errorf("create accounts %s…: %w", missing[0].Email, err)
		}
		res.Created += len(missing)
	}
	if cfg.Exam != "" && cfg.SnapshotSeconds > 0 {
		svc := assess.NewService(db, items.NewStore(db, now), now)
		exams, err := svc.Exams(ctx)
		if err != nil {
			return res, err
		}
		for _, e := range exams {
			if e.ID == cfg.Exam || e.Title == cfg.Exam {
				p := e.Proctoring
				p.SnapshotSeconds = cfg.SnapshotSeconds
				if _, err := svc.SetProctoring(ctx, "loadtest setup", e.ID, p); err != nil {
					return res, fmt.Errorf("exam %s: %w", e.Title, err)
				}
				res.Exam = e.Title
				return res, nil
			}
		}
		return res, fmt.Errorf("exam: no exam titled or with id %q", cfg.Exam)
	}
	return res, nil
}

func exists(ctx context.Context, a *auth.Service, n int) bool {
	_, err := a.UserByEmail(ctx, AccountEmail(n))
	return err == nil
}
