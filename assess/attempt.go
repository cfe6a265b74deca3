package assess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// Attempt statuses. An attempt moves once, from in progress to submitted.
const (
	InProgress = "in_progress"
	Submitted  = "submitted"
)

// Attempt is one candidate's sitting of an exam.
type Attempt struct {
	ID          string
	ExamID      string
	CandidateID string
	Status      string
	Mode        string // the exam's mode when the attempt started
	FormID      string // the fixed form delivered; empty for the pool, LOFT and CAT
	StartedAt   time.Time
	// Deadline is the stored deadline. During a break it already holds the
	// whole break left, so that no sweep closes the attempt early; use
	// Timing for what the candidate sees.
	Deadline    time.Time
	SubmittedAt *time.Time
	SubmittedBy string // "candidate" or "deadline"
	Simulated   bool
	// TimeMultiplier is the accommodation's factor on the exam's duration
	// (1 without one); BreakAllowance its extra break time, BreakUsed the
	// part taken, and PausedAt the start of a break in progress.
	TimeMultiplier float64
	BreakAllowance time.Duration
	BreakUsed      time.Duration
	PausedAt       *time.Time
	// CATDone is set once an adaptive test has ended by its rules.
	CATDone bool
	// HeldAt is when a proctor paused the attempt (nil when running);
	// the clock stops until they resume it. Added is the time proctors
	// have added. Terminated is set when a proctor ended the attempt.
	HeldAt            *time.Time
	Added             time.Duration
	TerminatedAt      *time.Time
	TerminationReason string
}

// Timing is an attempt's clock as its candidate sees it at one moment.
type Timing struct {
	// Deadline is when time runs out if the candidate works on now (for a
	// break in progress: if the break ended now).
	Deadline  time.Time
	Remaining time.Duration // never negative
	Paused    bool          // a break is in progress: the clock is stopped
	Held      bool          // a proctor has paused the attempt: the clock is stopped
	BreakLeft time.Duration // extra break time still available
}

// Timing returns the attempt's clock at now. A break stops the clock until
// it is ended or its allowance runs out, whichever is first; the clock then
// runs again.
func (a Attempt) Timing(now time.Time) Timing {
	left := max(a.BreakAllowance-a.BreakUsed, 0)
	t := Timing{Deadline: a.Deadline, BreakLeft: left}
	if a.HeldAt != nil && a.Status == InProgress {
		// Held: the time left when the proctor paused stays left.
		t.Held, t.Remaining = true, max(a.Deadline.Sub(*a.HeldAt), 0)
		t.Deadline = now.Add(t.Remaining)
		return t
	}
	if a.PausedAt != nil && a.Status == InProgress {
		elapsed := now.Sub(*a.PausedAt)
		if elapsed < left {
			frozen := a.Deadline.Add(-left).Sub(*a.PausedAt) // time left when the break began
			t.Paused, t.BreakLeft = true, left-elapsed
			t.Deadline = now.Add(frozen)
			t.Remaining = max(frozen, 0)
			return t
		}
		t.BreakLeft = 0
	}
	t.Remaining = max(t.Deadline.Sub(now), 0)
	return t
}

// Question is an item as a candidate sees it in an attempt: the version
// frozen when it was delivered, rendered for the candidate (ordering and
// matching options in the attempt's own order), the saved answer, and
// never the key.
type Question struct {
	Position int
	ItemID   string
	Domain   string
	Section  string // the title of the form section; empty outside sections
	Content  items.CandidateContent
	Answer   *items.Answer // nil when not answered
	Flagged  bool
	Seq      int64 // the sequence number of the last applied change
	// Seconds is how long the item has been on the candidate's screen, as
	// the player measured it (0 before any report).
	Seconds float64
}

type attemptRow struct {
	ID              string     `gorm:"column:id;primaryKey"`
	ExamID          string     `gorm:"column:exam_id"`
	CandidateID     string     `gorm:"column:candidate_id"`
	Status          string     `gorm:"column:status"`
	StartedAt       time.Time  `gorm:"column:started_at"`
	Deadline        time.Time  `gorm:"column:deadline"`
	SubmittedAt     *time.Time `gorm:"column:submitted_at"`
	SubmittedBy     string     `gorm:"column:submitted_by"`
	Score           *float64   `gorm:"column:score"`
	MaxScore        *float64   `gorm:"column:max_score"`
	Passed          *bool      `gorm:"column:passed"`
	StandardID      *string    `gorm:"column:standard_id"`
	StandardVersion *int       `gorm:"column:standard_version"`
	DomainScores    string     `gorm:"column:domain_scores"`
	CredentialID    *string    `gorm:"column:credential_id"`
	Simulated       bool       `gorm:"column:simulated"`
	Mode            string     `gorm:"column:mode"`
	Seed            int64      `gorm:"column:seed"`
	FormID          *string    `gorm:"column:form_id"`
	TimeMultiplier  float64    `gorm:"column:time_multiplier"`
	BreakAllowance  int        `gorm:"column:break_allowance_seconds"`
	BreakUsed       int        `gorm:"column:break_used_seconds"`
	PausedAt        *time.Time `gorm:"column:paused_at"`
	CATDone         bool       `gorm:"column:cat_done"`
	HeldAt          *time.Time `gorm:"column:held_at"`
	HeldBy          *string    `gorm:"column:held_by"`
	AddedSeconds    int        `gorm:"column:added_seconds"`
	TerminatedAt    *time.Time `gorm:"column:terminated_at"`
	TerminatedBy    *string    `gorm:"column:terminated_by"`
	TermReason      string     `gorm:"column:termination_reason"`
	InvalidatedAt   *time.Time `gorm:"column:invalidated_at"`
	Theta           *float64   `gorm:"column:theta"`
	ThetaSE         *float64   `gorm:"column:theta_se"`
	ScaledScore     *float64   `gorm:"column:scaled_score"`
	Cut             *float64   `gorm:"column:cut"`
	ThetaCut        *float64   `gorm:"column:theta_cut"`
	ScaledCut       *float64   `gorm:"column:scaled_cut"`
	Scale           string     `gorm:"column:scale"`
}

func (attemptRow) TableName() string { return "attempts" }

type responseRow struct {
	AttemptID     string     `gorm:"column:attempt_id;primaryKey"`
	Position      int        `gorm:"column:position;primaryKey"`
	ItemID        string     `gorm:"column:item_id"`
	ItemVersionID string     `gorm:"column:item_version_id"`
	Domain        string     `gorm:"column:domain"`
	Answer        *string    `gorm:"column:answer"` // the option id of a choice answer; all that rows before answer_json have
	AnswerJSON    *string    `gorm:"column:answer_json"`
	Flagged       bool       `gorm:"column:flagged"`
	Correct       *bool      `gorm:"column:correct"` // full credit
	AnsweredAt    *time.Time `gorm:"column:answered_at"`
	Seq           int64      `gorm:"column:seq"`
	Points        *float64   `gorm:"column:points"`
	MaxPoints     float64    `gorm:"column:max_points"`
	Scored        bool       `gorm:"column:scored"`
	Section       string     `gorm:"column:section"`
	Seconds       *float64   `gorm:"column:seconds"` // time on item as the player measured it; nil before any report
}

func (responseRow) TableName() string { return "responses" }

// answer returns the saved answer, reading rows saved before answers were
// JSON as single-choice answers; nil when there is none.
func (r responseRow) answer() *items.Answer {
	if r.AnswerJSON != nil && *r.AnswerJSON != "" {
		var a items.Answer
		if err := json.Unmarshal([]byte(*r.AnswerJSON), &a); err == nil && !a.Empty() {
			return &a
		}
		return nil
	}
	if r.Answer != nil && *r.Answer != "" {
		return &items.Answer{Choice: *r.Answer}
	}
	return nil
}

func (r attemptRow) attempt() Attempt {
	a := Attempt{ID: r.ID, ExamID: r.ExamID, CandidateID: r.CandidateID, Status: r.Status, Mode: r.Mode,
		StartedAt: r.StartedAt, Deadline: r.Deadline, SubmittedAt: r.SubmittedAt, SubmittedBy: r.SubmittedBy, Simulated: r.Simulated,
		TimeMultiplier: r.TimeMultiplier, BreakAllowance: time.Duration(r.BreakAllowance) * time.Second,
		BreakUsed: time.Duration(r.BreakUsed) * time.Second, PausedAt: r.PausedAt, CATDone: r.CATDone,
		HeldAt: r.HeldAt, Added: time.Duration(r.AddedSeconds) * time.Second, TerminatedAt: r.TerminatedAt, TerminationReason: r.TermReason}
	if a.Mode == "" {
		a.Mode = ModeFixed
	}
	if a.TimeMultiplier == 0 {
		a.TimeMultiplier = 1
	}
	if r.FormID != nil {
		a.FormID = *r.FormID
	}
	return a
}

// ActiveAttemptError is ErrActiveAttempt with the open attempt it is about.
type ActiveAttemptError struct {
	AttemptID string
	ExamID    string
}

func (e *ActiveAttemptError) Error() string {
	return fmt.Sprintf("%v: attempt %s of exam %s", ErrActiveAttempt, e.AttemptID, e.ExamID)
}

// Is makes errors.Is(err, ErrActiveAttempt) true.
func (e *ActiveAttemptError) Is(target error) bool { return target == ErrActiveAttempt }

// NotEligibleError is ErrNotEligible with the prerequisite achievements the
// candidate does not hold.
type NotEligibleError struct {
	Missing []string
}

func (e *NotEligibleError) Error() string {
	return fmt.Sprintf("%v: missing %v", ErrNotEligible, e.Missing)
}

// Is makes errors.Is(err, ErrNotEligible) true.
func (e *NotEligibleError) Is(target error) bool { return target == ErrNotEligible }

// Start opens an attempt of exam for a candidate and delivers its items:
// the fixed form chosen for the candidate (or the pool), a form assembled
// for them (LOFT) or the first adaptive item (CAT), each at the version
// current now.
//
// A candidate has at most one attempt in progress across all exams. If
// theirs is of this exam, Start returns it; if it is of another exam,
// Start fails with an *ActiveAttemptError (ErrActiveAttempt), unless that
// attempt is past its deadline: it is then submitted, as the deadline
// would, and the new attempt starts. Start fails with ErrNoStandard when
// the exam has no approved standard (an exam that cannot decide a pass is
// not delivered), with a *NotEligibleError when a prerequisite is missing,
// and with the policy's errors (ErrNotAvailable, ErrAttemptLimit,
// ErrRetakeWait). The candidate's accommodation, if any, sets the time
// multiplier and break allowance of the new attempt. When the exam's
// proctoring policy requires a check-in, Start needs the candidate's
// admitted, unused check-in for the exam (else ErrNotAdmitted) and marks
// it used by the new attempt in the same transaction.
func (s *Service) Start(ctx context.Context, examID, candidateID string) (Attempt, error) {
	exam, err := s.Exam(ctx, examID)
	if err != nil {
		return Attempt{}, err
	}
	if _, err := s.ApprovedStandard(ctx, examID); err != nil {
		return Attempt{}, err
	}
	if open, ok, err := s.openUnexpired(ctx, candidateID); err != nil || ok {
		if err != nil {
			return Attempt{}, err
		}
		if open.ExamID == examID {
			return open, nil
		}
		return Attempt{}, &ActiveAttemptError{AttemptID: open.ID, ExamID: open.ExamID}
	}
	if err := s.checkEligible(ctx, exam, candidateID); err != nil {
		return Attempt{}, err
	}
	if exam.Proctoring.CheckIn {
		// Refused before a form is planned; checked again when used below.
		if _, err := admitted(s.db.WithContext(ctx), examID, candidateID); err != nil {
			return Attempt{}, err
		}
	}
	acc, err := s.Accommodation(ctx, examID, candidateID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Attempt{}, err
	}
	if acc.TimeMultiplier == 0 {
		acc.TimeMultiplier = 1
	}
	now := s.now().UTC()
	seed := s.Seed()
	plan, err := s.plan(ctx, exam, candidateID, seed)
	if err != nil {
		return Attempt{}, err
	}
	duration := time.Duration(float64(exam.Duration) * acc.TimeMultiplier)
	out := attemptRow{ID: uuid.NewString(), ExamID: examID, CandidateID: candidateID, Status: InProgress,
		StartedAt: now, Deadline: now.Add(duration).Truncate(time.Second), Mode: exam.Mode, Seed: int64(seed),
		TimeMultiplier: acc.TimeMultiplier, BreakAllowance: int(acc.ExtraBreak / time.Second)}
	if plan.formID != "" {
		out.FormID = &plan.formID
	}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		if err := checkPolicy(tx, exam, candidateID, now); err != nil {
			return err
		}
		if err := tx.Create(&out).Error; err != nil {
			return fmt.Errorf("assess: start: %w", err)
		}
		if exam.Proctoring.CheckIn {
			if err := useCheckin(tx, examID, candidateID, out.ID); err != nil {
				return err
			}
		}
		for i := range plan.rows {
			plan.rows[i].AttemptID = out.ID
		}
		if err := tx.Create(&plan.rows).Error; err != nil {
			return fmt.Errorf("assess: start: %w", err)
		}
		return nil
	})
	if err == nil {
		// Counted after the attempt is committed, in the bank's batches
		// (items.Store.AddExposures): inside the transaction the counters'
		// row locks made every start of an exam wait for the one before
		// it. A failure here leaves the attempt standing (a retried Start
		// returns it) and the deliveries pending for the next batch.
		ids := make([]string, len(plan.rows))
		for i, r := range plan.rows {
			ids[i] = r.ItemID
		}
		if err := s.items.AddExposures(ctx, ids); err != nil {
			return Attempt{}, fmt.Errorf("assess: start: %w", err)
		}
	}
	if err != nil {
		// A concurrent Start may have opened an attempt first: the unique
		// index on open attempts refused this one.
		if open, ok, err2 := s.openAttempt(ctx, candidateID); err2 == nil && ok {
			if open.ExamID == examID {
				return open, nil
			}
			return Attempt{}, &ActiveAttemptError{AttemptID: open.ID, ExamID: open.ExamID}
		}
		return Attempt{}, err
	}
	// The page's first proctoring events follow at once and are checked
	// against the owner: known now, it need not be read.
	s.owners.Put(out.ID, AttemptOwner{AttemptID: out.ID, CandidateID: candidateID, ExamID: examID})
	return out.attempt(), nil
}

// openAttempt returns the candidate's attempt in progress, if any.
func (s *Service) openAttempt(ctx context.Context, candidateID string) (Attempt, bool, error) {
	var open attemptRow
	err := s.db.WithContext(ctx).Where("candidate_id = ? AND status = ?", candidateID, InProgress).First(&open).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Attempt{}, false, nil
	}
	if err != nil {
		return Attempt{}, false, fmt.Errorf("assess: open attempt: %w", err)
	}
	return open.attempt(), true, nil
}

// openUnexpired returns the candidate's attempt in progress, if any,
// after submitting it, as the deadline would, when it is past its
// deadline and grace (and not held). A candidate has at most one attempt
// in progress (a unique index), so this is one read when none is overdue.
func (s *Service) openUnexpired(ctx context.Context, candidateID string) (Attempt, bool, error) {
	open, ok, err := s.openAttempt(ctx, candidateID)
	if err != nil || !ok || open.HeldAt != nil || !open.Deadline.Before(s.now().UTC().Add(-s.Grace)) {
		return open, ok, err
	}
	if _, err := s.Submit(ctx, open.ID, "deadline"); err != nil && !errors.Is(err, ErrNotDue) {
		return Attempt{}, false, err
	}
	return s.openAttempt(ctx, candidateID)
}

// checkEligible asks the Eligible hook whether the candidate holds every
// prerequisite of exam. Without a hook no prerequisite can be confirmed,
// so all are missing.
func (s *Service) checkEligible(ctx context.Context, exam Exam, candidateID string) error {
	if len(exam.Policy.Prerequisites) == 0 {
		return nil
	}
	missing := exam.Policy.Prerequisites
	if s.Eligible != nil {
		var err error
		if missing, err = s.Eligible(ctx, candidateID, exam.Policy.Prerequisites); err != nil {
			return fmt.Errorf("assess: eligibility: %w", err)
		}
	}
	if len(missing) > 0 {
		return &NotEligibleError{Missing: missing}
	}
	return nil
}

// Attempt returns an attempt.
func (s *Service) Attempt(ctx context.Context, id string) (Attempt, error) {
	var r attemptRow
	if err := first(s.db.WithContext(ctx), &r, "attempt", id); err != nil {
		return Attempt{}, err
	}
	return r.attempt(), nil
}

// AttemptsOf lists a candidate's attempts, newest first.
func (s *Service) AttemptsOf(ctx context.Context, candidateID string) ([]Attempt, error) {
	var rows []attemptRow
	if err := s.db.WithContext(ctx).Where("candidate_id = ?", candidateID).Order("started_at DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: attempts: %w", err)
	}
	out := make([]Attempt, len(rows))
	for i, r := range rows {
		out[i] = r.attempt()
	}
	return out, nil
}

// Questions returns the attempt's items delivered so far, in order, as the
// candidate sees them: rendered for candidates, no key, no rationale. The
// options of ordering and matching items are shuffled by a seed kept with
// the attempt, so a reload shows the same order.
func (s *Service) Questions(ctx context.Context, attemptID string) ([]Question, error) {
	if uuid.Validate(attemptID) != nil {
		return nil, notFound("attempt", attemptID)
	}
	// The responses with their attempt's seed: one statement, as every
	// view of the exam player makes it.
	var joined []struct {
		Response    responseRow `gorm:"embedded"`
		AttemptSeed int64       `gorm:"column:attempt_seed"`
	}
	if err := s.db.WithContext(ctx).Table("responses").Select("responses.*, attempts.seed AS attempt_seed").
		Joins("JOIN attempts ON attempts.id = responses.attempt_id").Where("responses.attempt_id = ?", attemptID).
		Order("responses.position").Find(&joined).Error; err != nil {
		return nil, fmt.Errorf("assess: questions: %w", err)
	}
	if len(joined) == 0 {
		// No attempt, or one with nothing delivered yet.
		var a attemptRow
		return nil, first(s.db.WithContext(ctx).Select("id"), &a, "attempt", attemptID)
	}
	seed := uint64(joined[0].AttemptSeed)
	rows := make([]responseRow, len(joined))
	ids := make([]string, len(joined))
	for i, j := range joined {
		rows[i], ids[i] = j.Response, j.Response.ItemVersionID
	}
	views, err := s.items.CandidateContents(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Question, len(rows))
	for i, r := range rows {
		out[i] = questionOf(r, views[r.ItemVersionID], seed)
		// The page that shows the questions saves answers to them next:
		// with each item's place known, its first save is one statement.
		s.slots.Put([2]string{attemptID, r.ItemID}, slot{itemID: r.ItemID, position: r.Position, versionID: r.ItemVersionID})
	}
	return out, nil
}

func (s *Service) question(r responseRow, c items.Content, seed uint64) Question {
	return questionOf(r, s.render.ForCandidate(c), seed)
}

// questionOf is the question of response r, whose item candidates see as
// view, with the options shuffled by the attempt's seed.
func questionOf(r responseRow, view items.CandidateContent, seed uint64) Question {
	q := Question{Position: r.Position, ItemID: r.ItemID, Domain: r.Domain, Section: r.Section,
		Content: view.Shuffled(itemSeed(seed, r.ItemID)), Answer: r.answer(), Flagged: r.Flagged, Seq: r.Seq}
	if r.Seconds != nil {
		q.Seconds = *r.Seconds
	}
	return q
}

// itemSeed derives an item's shuffle seed from the attempt's, so that two
// items of one attempt are not shuffled alike.
func itemSeed(seed uint64, itemID string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(itemID))
	return seed ^ h.Sum64()
}

// ResponseUpdate changes a saved response. A nil field is left as it is;
// an empty Answer clears the answer. Seq, when positive, is the browser's
// sequence number of the change: the change is applied only if Seq is
// greater than the stored one, so a replayed or late request changes
// nothing. Zero applies the change without sequencing.
//
// Seconds is the time the item has been on the candidate's screen so far,
// across visits, as the player measured it: the stored time never
// decreases, and it is capped at the attempt's whole time (the exam's
// duration under the candidate's accommodation, plus time added, breaks
// and holds), which no honest measurement exceeds.
type ResponseUpdate struct {
	Answer  *items.Answer
	Flagged *bool
	Seq     int64
	Seconds *float64
	// Candidate, when set, is who saves: another candidate's attempt is
	// then not found, checked in the same read.
	Candidate string
}

// Saved is the outcome of SaveResponse: the item, the stored sequence
// number after the call, and whether this change was applied.
type Saved struct {
	ItemID  string
	Seq     int64
	Applied bool
}

// SaveResponse stores a candidate's answer to (or flag on) one item of an
// open attempt. When it returns with Applied the change is committed; a
// change whose Seq is not above the stored one is not applied and is not
// an error. It fails with ErrClosed after submission or once the deadline
// (plus Grace) has passed, ErrPaused during a break, ErrConflict for an
// adaptive item already followed by the next, and with a *valid.Error
// naming the answer field (e.g. "answer.choice") when the answer does not
// fit the item.
func (s *Service) SaveResponse(ctx context.Context, attemptID, itemID string, u ResponseUpdate) (Saved, error) {
	now := s.now().UTC()
	if slot, ok := s.slots.Get([2]string{attemptID, itemID}); ok && s.saves != nil {
		saved, done, err := s.saveAtOnce(ctx, attemptID, slot, u, now)
		if err != nil || done {
			return saved, err
		}
	}
	out := Saved{ItemID: itemID}
	// No transaction: the reads only validate, and the one UPDATE carries
	// its own conditions (status and seq), which is all a transaction at
	// read committed would give. A save is the hottest write there is.
	tx := s.db.WithContext(ctx)
	err := func() error {
		a, r, err := savingTo(tx, attemptID, itemID)
		if err != nil {
			return err
		}
		if r != nil {
			s.slots.Put([2]string{attemptID, itemID}, slot{itemID: itemID, position: r.Position, versionID: r.ItemVersionID})
		}
		if u.Candidate != "" && a.CandidateID != u.Candidate {
			return notFound("attempt", attemptID)
		}
		// The update is judged only once the caller may see the attempt.
		if err := u.check(); err != nil {
			return err
		}
		if a.Status == InProgress && a.HeldAt != nil {
			return ErrHeld
		}
		if a.Status != InProgress || now.After(a.Deadline.Add(s.Grace)) {
			return ErrClosed
		}
		if a.attempt().Timing(now).Paused {
			return ErrPaused
		}
		if r == nil {
			return notFound("item in attempt", itemID)
		}
		out.Seq = r.Seq
		if u.Seq > 0 && u.Seq <= r.Seq {
			return nil // a replay, or older than what is stored
		}
		if a.Mode == ModeCAT {
			var later int64
			if err := tx.Model(&responseRow{}).Where("attempt_id = ? AND position > ?", attemptID, r.Position).Count(&later).Error; err != nil {
				return fmt.Errorf("assess: save response: %w", err)
			}
			if later > 0 {
				return fmt.Errorf("%w: an adaptive item cannot be changed once the next is given", ErrConflict)
			}
		}
		changes, err := s.answerChanges(ctx, r.ItemVersionID, u, now)
		if err != nil {
			return err
		}
		if u.Seconds != nil {
			// The attempt's whole time bounds any honest measurement; the
			// CASE keeps the stored time from going back (a late request
			// from another tab) in the same UPDATE.
			secs := min(*u.Seconds, a.Deadline.Sub(a.StartedAt).Seconds())
			changes["seconds"] = gorm.Expr("CASE WHEN seconds IS NULL OR seconds < ? THEN ? ELSE seconds END", secs, secs)
		}
		q := tx.Model(&responseRow{}).Where("attempt_id = ? AND position = ? AND EXISTS (SELECT 1 FROM attempts WHERE id = ? AND status = ?)",
			attemptID, r.Position, attemptID, InProgress)
		if u.Seq > 0 {
			changes["seq"] = u.Seq
			q = q.Where("seq < ?", u.Seq)
		}
		// The status condition closes the race with a concurrent submit:
		// an answer lands before the submit or not at all; the seq
		// condition the race with a concurrent newer change.
		res := q.Updates(changes)
		if res.Error != nil {
			return fmt.Errorf("assess: save response: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			var again attemptRow
			if err := first(tx, &again, "attempt", attemptID); err != nil {
				return err
			}
			if again.Status != InProgress {
				return ErrClosed
			}
			var stored responseRow
			if err := tx.Where("attempt_id = ? AND position = ?", attemptID, r.Position).First(&stored).Error; err != nil {
				return fmt.Errorf("assess: save response: %w", err)
			}
			out.Seq = stored.Seq
			return nil
		}
		if u.Seq > 0 {
			out.Seq = u.Seq
		}
		out.Applied = true
		return nil
	}()
	return out, err
}

// check judges an update on its own: something to save, a sequence
// number and a time that can be.
func (u ResponseUpdate) check() error {
	if u.Answer == nil && u.Flagged == nil && u.Seconds == nil {
		return valid.Errorf("answer", "nothing to save: send answer, flagged or seconds")
	}
	if u.Seq < 0 {
		return valid.Errorf("seq", "must not be negative")
	}
	if u.Seconds != nil && (math.IsNaN(*u.Seconds) || math.IsInf(*u.Seconds, 0) || *u.Seconds < 0) {
		return valid.Errorf("seconds", "must be a number of seconds, not negative")
	}
	return nil
}

// answerChanges are the columns an update sets besides seconds and seq:
// the answer, checked against the item version's shape, and the flag.
func (s *Service) answerChanges(ctx context.Context, versionID string, u ResponseUpdate, now time.Time) (map[string]any, error) {
	changes := map[string]any{}
	if u.Answer != nil {
		if u.Answer.Empty() {
			changes["answer"], changes["answer_json"] = nil, nil
		} else {
			shapes, err := s.items.AnswerShapes(ctx, []string{versionID})
			if err != nil {
				return nil, err
			}
			if err := checkAnswer(shapes[versionID], *u.Answer); err != nil {
				return nil, err
			}
			js, _ := json.Marshal(u.Answer)
			changes["answer_json"] = string(js)
			changes["answer"] = nil
			if u.Answer.Choice != "" {
				changes["answer"] = u.Answer.Choice
			}
		}
		changes["answered_at"] = now
	}
	if u.Flagged != nil {
		changes["flagged"] = *u.Flagged
	}
	return changes, nil
}

// saveAtOnce is SaveResponse's way on PostgreSQL for an item whose place
// in the attempt this process knows: one UPDATE, shared with the saves
// that arrive meanwhile (savebatch.go), that carries every condition
// under which the slow way would apply the change (the candidate's, in
// progress, not held, on no break, before the deadline and its grace, not
// adaptive, a newer seq). It reports false, having
// changed nothing, when the update or any condition does not hold, and
// the slow way then decides, with its reasons, in its order.
func (s *Service) saveAtOnce(ctx context.Context, attemptID string, at slot, u ResponseUpdate, now time.Time) (Saved, bool, error) {
	if u.check() != nil {
		return Saved{}, false, nil
	}
	changes, err := s.answerChanges(ctx, at.versionID, u, now)
	if err != nil {
		return Saved{}, false, nil // the slow way answers it, after the owner
	}
	row := saveRow{attemptID: attemptID, position: at.position, candidate: u.Candidate, seq: u.Seq, seconds: u.Seconds,
		now: now, openUntil: now.Add(-s.Grace)}
	if _, ok := changes["answered_at"]; ok {
		text := func(v any) *string {
			if s, ok := v.(string); ok {
				return &s
			}
			return nil
		}
		row.setAnswer, row.answer, row.answerJSON = true, text(changes["answer"]), text(changes["answer_json"])
	}
	if f, ok := changes["flagged"].(bool); ok {
		row.setFlagged, row.flagged = true, f
	}
	applied, seq, err := s.saves.save(ctx, row)
	if err != nil && ctx.Err() != nil {
		return Saved{}, false, err
	}
	if err != nil || !applied {
		// A failed batch (a deadlock with another instance's, say) leaves
		// each of its saves to the slow way, alone.
		return Saved{}, false, nil
	}
	return Saved{ItemID: at.itemID, Seq: seq, Applied: true}, true, nil
}

// slot is where an item sits in an attempt: its position and the version
// delivered, which never change.
type slot struct {
	itemID    string
	position  int
	versionID string
}

// savingTo reads an attempt and its response to itemID in one query, the
// one read a save makes. The response is nil when the item is not in the
// attempt.
func savingTo(tx *gorm.DB, attemptID, itemID string) (attemptRow, *responseRow, error) {
	if uuid.Validate(itemID) != nil {
		var a attemptRow
		return a, nil, first(tx, &a, "attempt", attemptID)
	}
	if uuid.Validate(attemptID) != nil {
		return attemptRow{}, nil, notFound("attempt", attemptID)
	}
	var rows []struct {
		Attempt       attemptRow `gorm:"embedded"`
		Position      *int       `gorm:"column:r_position"`
		ItemVersionID *string    `gorm:"column:r_item_version_id"`
		Seq           *int64     `gorm:"column:r_seq"`
	}
	// Find, not Scan: GORM's Scan renders every statement with its
	// arguments inlined for a recorder, whatever the log level, which cost
	// a tenth of the server's CPU under load. Hot paths read with Find.
	err := tx.Table("attempts").
		Select("attempts.*, responses.position AS r_position, responses.item_version_id AS r_item_version_id, responses.seq AS r_seq").
		Joins("LEFT JOIN responses ON responses.attempt_id = attempts.id AND responses.item_id = ?", itemID).
		Where("attempts.id = ?", attemptID).Limit(1).Find(&rows).Error
	if err != nil {
		return attemptRow{}, nil, fmt.Errorf("assess: attempt: %w", err)
	}
	if len(rows) == 0 {
		return attemptRow{}, nil, notFound("attempt", attemptID)
	}
	row := rows[0]
	if row.Position == nil {
		return row.Attempt, nil, nil
	}
	return row.Attempt, &responseRow{AttemptID: attemptID, ItemID: itemID, Position: *row.Position, ItemVersionID: *row.ItemVersionID, Seq: *row.Seq}, nil
}

// Result is a scored attempt.
type Result struct {
	AttemptID       string
	ExamID          string
	CandidateID     string
	Mode            string
	Score           float64 // points earned on the scored items
	MaxScore        float64
	Passed          bool
	Cut             float64 // the standard's cut in points of this attempt's form
	StandardID      string
	StandardVersion int
	// ScaledScore and ScaledCut are on the reporting scale Scale.
	ScaledScore float64
	ScaledCut   float64
	Scale       Scale
	// Theta and ThetaSE are the EAP estimate of ability and its posterior
	// SD, for adaptive attempts and attempts whose scored items are all
	// calibrated; nil otherwise. ThetaCut is the cut on the θ metric.
	Theta        *float64
	ThetaSE      *float64
	ThetaCut     *float64
	Domains      []DomainScore
	CredentialID string
	SubmittedAt  time.Time
	SubmittedBy  string
	// Terminated is set when a proctor ended the attempt: it is scored, for
	// the record, but never passes.
	Terminated        bool
	TerminationReason string
	// Review is the status of the attempt's proctoring review, "" for none;
	// Invalidated is set when the review invalidated it.
	Review      string
	Invalidated bool
}

// DomainScore is the subscore of one blueprint domain, with feedback.
type DomainScore struct {
	Code     string  `json:"code"`
	Name     string  `json:"name"`
	Score    float64 `json:"score"`
	Max      float64 `json:"max"`
	Percent  int     `json:"percent"`
	Level    string  `json:"level"`    // LevelStrong, LevelDeveloping or LevelFocus
	Feedback string  `json:"feedback"` // one sentence of advice naming the domain
}

// Submit closes an attempt, scores it against the exam's approved standard
// and, on a pass, calls OnPass. It is safe to call twice, concurrently or
// after a crash, on one server instance or several: exactly one call
// closes the attempt (audited as "attempt.submit"), every call returns the
// same result, and a pass whose credential is missing is issued again.
//
// by says who closes it: "candidate", or "deadline" for the clock. A held
// attempt is never closed by either: the candidate gets ErrHeld, the
// deadline ErrNotDue, as it does when the deadline (plus Grace) has not
// passed. The conditions are checked in the closing statement itself, so
// a proctor's hold or added time that commits first, from any instance,
// always wins.
func (s *Service) Submit(ctx context.Context, attemptID, by string) (Result, error) {
	now := s.now().UTC()
	// The call that closes the attempt keeps what it read and scored for
	// the screening and the credential; the others read them as stored.
	var closed *decided
	err := s.tx(ctx, func(tx *gorm.DB) error {
		closed = nil
		// The closed row comes back with the statement that closes it.
		var a attemptRow
		q := tx.Model(&a).Clauses(clause.Returning{}).Where("id = ? AND status = ? AND held_at IS NULL", attemptID, InProgress)
		if by == "deadline" {
			q = q.Where("deadline < ?", now.Add(-s.Grace))
		}
		res := q.Updates(map[string]any{"status": Submitted, "submitted_at": now, "submitted_by": by})
		if res.Error != nil {
			return fmt.Errorf("assess: submit: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			if err := first(tx, &a, "attempt", attemptID); err != nil {
				return err
			}
			switch {
			case a.Status != InProgress:
				return nil // already submitted: fall through to the stored result
			case by == "deadline":
				return ErrNotDue
			case a.HeldAt != nil:
				return ErrHeld // the proctor decides what happens to a paused attempt
			}
			return fmt.Errorf("assess: submit attempt %s: not closed", attemptID)
		}
		actor := "system"
		if by == "candidate" {
			actor = a.CandidateID
		}
		d, err := s.scoreRow(ctx, tx, a, false)
		if err != nil {
			return err
		}
		closed = &decided{decision: d}
		// Last: the audit log's head stays locked, for every audited
		// decision of the deployment, until this transaction ends.
		return audit.Append(tx, audit.Entry{Actor: actor, Action: "attempt.submit", Subject: "attempt:" + attemptID,
			After: map[string]any{"by": by, "submitted_at": now}, At: now})
	})
	if err != nil {
		return Result{}, err
	}
	if closed == nil {
		if err := s.screenAttempt(ctx, attemptID); err != nil {
			return Result{}, err
		}
		return s.settle(ctx, attemptID, nil)
	}
	if closed.review, err = s.screen(ctx, closed.row.attempt(), closed.exam); err != nil {
		return Result{}, err
	}
	return s.settle(ctx, attemptID, closed)
}

// decided is what the submit that closed an attempt knows of it when it
// settles it: the scoring's decision and the status of the attempt's
// proctoring review ("" for none).
type decided struct {
	decision
	review string
}

// screenAttempt sends a submitted attempt to review when its proctoring
// risk reaches the exam's threshold.
func (s *Service) screenAttempt(ctx context.Context, attemptID string) error {
	a, err := s.Attempt(ctx, attemptID)
	if err != nil {
		return err
	}
	exam, err := s.Exam(ctx, a.ExamID)
	if err != nil {
		return err
	}
	_, err = s.screen(ctx, a, exam)
	return err
}

// settle returns the stored result of a submitted attempt and, for a pass
// without its credential, calls OnPass and records the credential id. The
// submit that closed the attempt passes what it knows (known); other
// callers pass nil and settle reads it.
func (s *Service) settle(ctx context.Context, attemptID string, known *decided) (Result, error) {
	var a attemptRow
	var review *string
	if known != nil {
		a, review = known.row, &known.review
	} else if err := first(s.db.WithContext(ctx), &a, "attempt", attemptID); err != nil {
		return Result{}, err
	}
	r, err := s.resultOf(ctx, a, review)
	if err != nil || !r.Passed || r.CredentialID != "" || s.OnPass == nil {
		return r, err
	}
	var exam Exam
	if known != nil {
		exam = known.exam
	} else if exam, err = s.Exam(ctx, a.ExamID); err != nil {
		return Result{}, err
	}
	if exam.AchievementID == "" {
		return r, nil
	}
	if r.Review == ReviewPending && exam.Proctoring.HoldCredentials {
		return r, nil // the credential waits for the review
	}
	var std Standard
	if known != nil && known.std.ID == r.StandardID {
		std = known.std
	} else if std, err = s.Standard(ctx, r.StandardID); err != nil {
		return Result{}, err
	}
	credID, err := s.OnPass(ctx, Pass{AttemptID: a.ID, CandidateID: a.CandidateID, ExamID: a.ExamID,
		AchievementID: exam.AchievementID, Score: r.Score, Standard: std, SubmittedAt: r.SubmittedAt, Result: r, FormID: a.attempt().FormID})
	if err != nil {
		return Result{}, fmt.Errorf("assess: issue credential: %w", err)
	}
	res := s.db.WithContext(ctx).Model(&attemptRow{}).Where("id = ? AND credential_id IS NULL", attemptID).
		Update("credential_id", credID)
	if res.Error != nil {
		return Result{}, fmt.Errorf("assess: record credential: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		r.CredentialID = credID
		return r, nil
	}
	// A concurrent settle recorded its id first; the stored one wins.
	return s.Result(ctx, attemptID)
}

// Result returns the result of a submitted attempt; ErrConflict while the
// attempt is still in progress.
func (s *Service) Result(ctx context.Context, attemptID string) (Result, error) {
	var a attemptRow
	if err := first(s.db.WithContext(ctx), &a, "attempt", attemptID); err != nil {
		return Result{}, err
	}
	return s.resultOf(ctx, a, nil)
}

// resultOf is Result of an attempt's row as read, with the status of its
// review when the caller knows it (nil: read it).
func (s *Service) resultOf(ctx context.Context, a attemptRow, review *string) (Result, error) {
	if a.Status != Submitted || a.Score == nil {
		return Result{}, fmt.Errorf("%w: attempt %s is not scored", ErrConflict, a.ID)
	}
	r := Result{AttemptID: a.ID, ExamID: a.ExamID, CandidateID: a.CandidateID, Mode: a.attempt().Mode, Score: *a.Score,
		SubmittedBy: a.SubmittedBy, Theta: a.Theta, ThetaSE: a.ThetaSE, ThetaCut: a.ThetaCut,
		Terminated: a.TerminatedAt != nil, TerminationReason: a.TermReason, Invalidated: a.InvalidatedAt != nil}
	if review != nil {
		r.Review = *review
	} else if rv, err := s.Review(ctx, a.ID); err == nil {
		r.Review = rv.Status
	}
	if a.MaxScore != nil {
		r.MaxScore = *a.MaxScore
	}
	if a.SubmittedAt != nil {
		r.SubmittedAt = *a.SubmittedAt
	}
	if a.Passed != nil {
		r.Passed = *a.Passed
	}
	switch {
	case a.StandardID != nil && a.StandardVersion != nil && a.Cut != nil:
		// Recorded with the decision (a standard's version never changes).
		r.StandardID, r.StandardVersion = *a.StandardID, *a.StandardVersion
	case a.StandardID != nil:
		std, err := s.Standard(ctx, *a.StandardID)
		if err != nil {
			return Result{}, err
		}
		r.StandardID, r.StandardVersion, r.Cut = std.ID, std.Version, std.Cut
	}
	if a.Cut != nil {
		r.Cut = *a.Cut
	}
	r.Scale = rawScale(r.MaxScore)
	r.ScaledScore, r.ScaledCut = r.Score, r.Cut
	if a.Scale != "" {
		if err := json.Unmarshal([]byte(a.Scale), &r.Scale); err != nil {
			return Result{}, fmt.Errorf("assess: scale of %s: %w", a.ID, err)
		}
	}
	if a.ScaledScore != nil {
		r.ScaledScore = *a.ScaledScore
	}
	if a.ScaledCut != nil {
		r.ScaledCut = *a.ScaledCut
	}
	if a.CredentialID != nil {
		r.CredentialID = *a.CredentialID
	}
	if a.DomainScores != "" {
		if err := json.Unmarshal([]byte(a.DomainScores), &r.Domains); err != nil {
			return Result{}, fmt.Errorf("assess: domain scores of %s: %w", a.ID, err)
		}
	}
	if slices.ContainsFunc(r.Domains, func(d DomainScore) bool { return d.Level == "" }) {
		// Scored before domain feedback was stored: derive it now.
		exam, err := s.Exam(ctx, a.ExamID)
		if err != nil {
			return Result{}, err
		}
		for i := range r.Domains {
			d := Domain{Name: r.Domains[i].Name}
			for _, bd := range exam.Domains {
				if bd.Code == r.Domains[i].Code {
					d = bd
				}
			}
			feedback(&r.Domains[i], d)
		}
	}
	return r, nil
}

// SubmitExpired submits every open attempt whose deadline has passed, as
// the deadline would, and issues any credential a past pass is still
// missing. It returns how many attempts it submitted.
func (s *Service) SubmitExpired(ctx context.Context) (int, error) {
	var due []string
	if err := s.db.WithContext(ctx).Model(&attemptRow{}).Where("status = ? AND deadline < ? AND held_at IS NULL", InProgress, s.now().UTC().Add(-s.Grace)).
		Pluck("id", &due).Error; err != nil {
		return 0, fmt.Errorf("assess: expired attempts: %w", err)
	}
	closed := 0
	for _, id := range due {
		_, err := s.Submit(ctx, id, "deadline")
		if errors.Is(err, ErrNotDue) {
			continue // held or given time since the list was read
		}
		if err != nil {
			return closed, err
		}
		closed++
	}
	var unissued []string
	if err := s.db.WithContext(ctx).Model(&attemptRow{}).Where("status = ? AND passed AND credential_id IS NULL AND NOT simulated", Submitted).
		Pluck("id", &unissued).Error; err != nil {
		return 0, fmt.Errorf("assess: unissued passes: %w", err)
	}
	for _, id := range unissued {
		if _, err := s.settle(ctx, id, nil); err != nil {
			return 0, err
		}
	}
	return closed, nil
}

// RecentAttempts lists the newest live attempts (not imported or simulated
// history), at most limit, for proctors.
func (s *Service) RecentAttempts(ctx context.Context, limit int) ([]Attempt, error) {
	var rows []attemptRow
	if err := s.db.WithContext(ctx).Where("NOT simulated AND submitted_by <> ?", importedBy).
		Order("started_at DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: recent attempts: %w", err)
	}
	out := make([]Attempt, len(rows))
	for i, r := range rows {
		out[i] = r.attempt()
	}
	return out, nil
}

// checkPolicy returns why the candidate may not start a new attempt of exam
// at now under its policy, or nil. Resuming an open attempt is never
// refused; simulated (pilot) attempts do not count.
func checkPolicy(tx *gorm.DB, exam Exam, candidateID string, now time.Time) error {
	p := exam.Policy
	if p.OpensAt != nil && now.Before(*p.OpensAt) {
		return fmt.Errorf("%w: opens %s", ErrNotAvailable, p.OpensAt.Format(time.RFC3339))
	}
	if p.ClosesAt != nil && !now.Before(*p.ClosesAt) {
		return fmt.Errorf("%w: closed %s", ErrNotAvailable, p.ClosesAt.Format(time.RFC3339))
	}
	if p.MaxAttempts == 0 && p.RetakeWait == 0 {
		return nil
	}
	var past []attemptRow
	if err := tx.Where("exam_id = ? AND candidate_id = ? AND simulated = ?", exam.ID, candidateID, false).
		Order("started_at DESC").Find(&past).Error; err != nil {
		return fmt.Errorf("assess: start: %w", err)
	}
	if p.MaxAttempts > 0 && len(past) >= p.MaxAttempts {
		return fmt.Errorf("%w: %d of %d used", ErrAttemptLimit, len(past), p.MaxAttempts)
	}
	if p.RetakeWait > 0 && len(past) > 0 {
		last := past[0]
		ended := last.Deadline
		if last.SubmittedAt != nil && last.SubmittedAt.Before(ended) {
			ended = *last.SubmittedAt
		}
		if next := ended.Add(p.RetakeWait); now.Before(next) {
			return fmt.Errorf("%w: next attempt from %s", ErrRetakeWait, next.UTC().Format(time.RFC3339))
		}
	}
	return nil
}
