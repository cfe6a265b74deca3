// Package assess delivers exams: programs and exams with their blueprint,
// fixed forms, on-the-fly (LOFT) and adaptive (CAT) delivery; attempts (a
// small state machine with a server-side deadline, accommodations and
// breaks); responses of every item kind saved as they change, idempotently;
// scoring with item weights and partial credit, IRT ability estimates,
// reporting scales and domain feedback; and the standards (cut scores) that
// decide a pass.
//
// A pass is announced through the OnPass hook, which the program wires to
// the credential issuer; assess knows nothing of credentials beyond the id
// the hook returns.
package assess

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/memo"
	"github.com/touchstone-assess/touchstone/items"
)

// Errors a caller branches on.
var (
	ErrNotFound   = errors.New("assess: not found")
	ErrClosed     = errors.New("assess: attempt is closed") // submitted, or past its deadline
	ErrNoStandard = errors.New("assess: exam has no approved standard")
	ErrForbidden  = errors.New("assess: not your attempt")
	ErrConflict   = errors.New("assess: conflict")
	// ErrNotAvailable: the exam's availability window is not open now.
	ErrNotAvailable = errors.New("assess: exam not available now")
	// ErrAttemptLimit: the candidate has used every attempt the policy allows.
	ErrAttemptLimit = errors.New("assess: no attempts left")
	// ErrRetakeWait: the policy's waiting period since the last attempt has
	// not passed; the error says when the next attempt may start.
	ErrRetakeWait = errors.New("assess: too soon to retake")
	// ErrActiveAttempt: the candidate has an attempt of another exam in
	// progress; the error is an *ActiveAttemptError naming it.
	ErrActiveAttempt = errors.New("assess: another attempt is in progress")
	// ErrNotEligible: the candidate lacks a prerequisite achievement; the
	// error is a *NotEligibleError listing them.
	ErrNotEligible = errors.New("assess: prerequisites not met")
	// ErrPaused: the attempt is on a break, so its clock and answers are
	// stopped until the break ends.
	ErrPaused = errors.New("assess: attempt is on a break")
	// ErrHeld: a proctor has paused the attempt; its clock and answers are
	// stopped until the proctor resumes it.
	ErrHeld = errors.New("assess: attempt is paused by the proctor")
	// ErrNotDue: Submit by "deadline" found the attempt held by its
	// proctor, or its deadline (plus Grace) not yet passed; it stays open.
	ErrNotDue = errors.New("assess: attempt is not due")
	// ErrNoBreakLeft: the candidate's break allowance is used up, or they
	// have none.
	ErrNoBreakLeft = errors.New("assess: no break time left")
	// ErrUnanswered: an adaptive test's current item has no saved answer,
	// so the next cannot be chosen.
	ErrUnanswered = errors.New("assess: current item is unanswered")
)

// Pass is what the OnPass hook learns of a passing attempt.
type Pass struct {
	AttemptID     string
	CandidateID   string
	ExamID        string
	AchievementID string
	Score         float64 // raw points
	Standard      Standard
	SubmittedAt   time.Time
	Result        Result // the whole result: reporting scale, θ, domains
	FormID        string // the fixed form sat; empty for pool, LOFT and CAT
}

// Service is the delivery engine. Now is its only clock: deadlines and
// timestamps never come from anywhere else.
type Service struct {
	db     *gorm.DB
	items  *items.Store
	now    func() time.Time
	render *items.Renderer

	// Seed returns the random seed of a new attempt: it orders the options
	// of ordering and matching items, assembles LOFT forms and breaks ties
	// of adaptive selection. The default draws from math/rand/v2's
	// randomly seeded generator; tests set their own.
	Seed func() uint64

	// Eligible reports which of the achievements (ids) the candidate does
	// not hold validly; Start refuses an exam with prerequisites while any
	// is missing, and refuses it outright when Eligible is nil.
	Eligible func(ctx context.Context, candidateID string, achievementIDs []string) (missing []string, err error)

	// Grace is how long after the deadline an answer in flight is still
	// accepted; the default is two seconds.
	Grace time.Duration

	// OnPass issues the credential for a pass and returns its id. It must be
	// idempotent per attempt: it is called again after a crash or retry.
	OnPass func(ctx context.Context, p Pass) (credentialID string, err error)

	// OnRescore learns of a submitted attempt whose score or decision a
	// rekey changed, after the change is committed, so that its credential
	// follows: re-issued with the new score, or revoked when the pass is
	// gone. A new pass is announced through OnPass as usual.
	// It returns the id of the credential that now stands for the attempt
	// (a re-issued one), or "" to keep the recorded id.
	OnRescore func(ctx context.Context, r Rescore) (credentialID string, err error)

	// Risk scores a submitted attempt's proctoring record with the exam's
	// weights per event kind, with the reasons (e.g. "3 × focus lost");
	// without it no attempt goes to review automatically.
	Risk func(ctx context.Context, attemptID string, weights map[string]float64) (risk float64, reasons []string, err error)

	// OnReview learns of a review of an attempt whose credential is issued:
	// status pending (suspend it, for reason), cleared or warned (lift the
	// suspension) or invalidated (revoke it).
	OnReview func(ctx context.Context, credentialID, status, reason string) error

	// runs tracks the calibrations running in the background, so that
	// WaitCalibration can wait for one.
	runs *runTracker
	// owners remembers whose each attempt is (AttemptOwner); slots
	// where each item saved to sits in its attempt.
	owners *memo.Map[string, AttemptOwner]
	slots  *memo.Map[[2]string, slot]
	// examParts remembers each exam's parts at its latest revision.
	examParts *memo.Map[string, examParts]
	// rules remembers each exam's proctoring rules for a moment
	// (proctoringRules); rulesChanges counts the changes to them made
	// through this Service, each of which makes every remembered one
	// stale. Pointers: a Service is copied for each transaction.
	rules        *memo.Map[string, proctoringRules]
	rulesChanges *atomic.Uint64
	// saves batches answer saves on PostgreSQL; nil elsewhere, and inside
	// a transaction.
	saves *saveBatcher
}

// NewService returns a Service on db.
func NewService(db *gorm.DB, bank *items.Store, now func() time.Time) *Service {
	s := &Service{db: db, items: bank, now: now, render: items.NewRenderer(), Seed: rand.Uint64, Grace: 2 * time.Second,
		runs: newRunTracker(), owners: &memo.Map[string, AttemptOwner]{Max: 200_000}, slots: &memo.Map[[2]string, slot]{Max: 500_000},
		examParts: &memo.Map[string, examParts]{Max: 10_000}, rules: &memo.Map[string, proctoringRules]{Max: 10_000}, rulesChanges: new(atomic.Uint64)}
	if sqlDB, err := db.DB(); err == nil && db.Dialector.Name() == "postgres" {
		s.saves = newSaveBatcher(sqlDB)
	}
	return s
}

// Models lists the GORM models of this package, for schema checks.
func Models() []any {
	return []any{programRow{}, examRow{}, domainRow{}, examItemRow{}, prerequisiteRow{}, formRow{}, formSectionRow{}, formItemRow{},
		accommodationRow{}, studyRow{}, panelistRow{}, ratingRow{}, judgementRow{}, messageRow{}, reviewRow{}, standardRow{}, attemptRow{}, responseRow{},
		calibrationRow{}, demographicRow{}, staffRow{}, checkinRow{}}
}

// in returns a copy of s whose reads and writes go through tx, so that a
// transaction never waits on a second connection of the pool.
func (s *Service) in(tx *gorm.DB) *Service {
	c := *s
	c.db = tx
	c.items = s.items.In(tx)
	c.saves = nil
	return &c
}

func notFound(what, id string) error { return fmt.Errorf("%w: %s %s", ErrNotFound, what, id) }

func (s *Service) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.WithContext(ctx).Transaction(fn)
}

func first(tx *gorm.DB, dst any, what, id string) error {
	if uuid.Validate(id) != nil {
		return notFound(what, id) // ids are UUIDs; anything else names nothing
	}
	err := tx.First(dst, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return notFound(what, id)
	}
	if err != nil {
		return fmt.Errorf("assess: %s: %w", what, err)
	}
	return nil
}
