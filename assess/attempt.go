package assess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

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
	StartedAt   time.Time
	Deadline    time.Time
	SubmittedAt *time.Time
	SubmittedBy string // "candidate" or "deadline"
	Simulated   bool
}

// Question is an item as a candidate sees it in an attempt: the version
// frozen at the start, the candidate's saved answer, and never the key.
type Question struct {
	Position int
	ItemID   string
	Domain   string
	Stem     string
	Exhibit  string
	Options  []items.Option
	Answer   *string
	Flagged  bool
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
}

func (attemptRow) TableName() string { return "attempts" }

type responseRow struct {
	AttemptID     string     `gorm:"column:attempt_id;primaryKey"`
	Position      int        `gorm:"column:position;primaryKey"`
	ItemID        string     `gorm:"column:item_id"`
	ItemVersionID string     `gorm:"column:item_version_id"`
	Domain        string     `gorm:"column:domain"`
	Answer        *string    `gorm:"column:answer"`
	Flagged       bool       `gorm:"column:flagged"`
	Correct       *bool      `gorm:"column:correct"`
	AnsweredAt    *time.Time `gorm:"column:answered_at"`
}

func (responseRow) TableName() string { return "responses" }

func (r attemptRow) attempt() Attempt {
	return Attempt{ID: r.ID, ExamID: r.ExamID, CandidateID: r.CandidateID, Status: r.Status,
		StartedAt: r.StartedAt, Deadline: r.Deadline, SubmittedAt: r.SubmittedAt, SubmittedBy: r.SubmittedBy, Simulated: r.Simulated}
}

// Start opens an attempt of exam for a candidate, freezing the current
// version of every item in the pool. A candidate with an attempt of the
// same exam still in progress gets that attempt back instead of a new one.
// It fails with ErrNoStandard when the exam has no approved standard: an
// exam that cannot decide a pass is not delivered.
func (s *Service) Start(ctx context.Context, examID, candidateID string) (Attempt, error) {
	exam, err := s.Exam(ctx, examID)
	if err != nil {
		return Attempt{}, err
	}
	if _, err := s.ApprovedStandard(ctx, examID); err != nil {
		return Attempt{}, err
	}
	pool, err := s.items.Current(ctx, exam.ItemIDs)
	if err != nil {
		return Attempt{}, err
	}
	now := s.now().UTC()
	var out attemptRow
	err = s.tx(ctx, func(tx *gorm.DB) error {
		var open attemptRow
		err := tx.Where("exam_id = ? AND candidate_id = ? AND status = ?", examID, candidateID, InProgress).First(&open).Error
		if err == nil && now.Before(open.Deadline) {
			out = open
			return nil
		}
		if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("assess: start: %w", err)
		}
		if err := checkPolicy(tx, exam, candidateID, now); err != nil {
			return err
		}
		out = attemptRow{ID: uuid.NewString(), ExamID: examID, CandidateID: candidateID, Status: InProgress,
			StartedAt: now, Deadline: now.Add(exam.Duration).Truncate(time.Second)}
		if err := tx.Create(&out).Error; err != nil {
			return fmt.Errorf("assess: start: %w", err)
		}
		rows := make([]responseRow, 0, len(pool))
		for i, it := range pool {
			if !it.Deliverable() {
				continue
			}
			rows = append(rows, responseRow{AttemptID: out.ID, Position: i + 1, ItemID: it.ID, ItemVersionID: it.VersionID, Domain: it.Domain})
		}
		if err := tx.Create(&rows).Error; err != nil {
			return fmt.Errorf("assess: start: %w", err)
		}
		return nil
	})
	return out.attempt(), err
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

// Questions returns the attempt's items in order, as the candidate sees
// them: no key, no rationale.
func (s *Service) Questions(ctx context.Context, attemptID string) ([]Question, error) {
	var rows []responseRow
	if err := s.db.WithContext(ctx).Where("attempt_id = ?", attemptID).Order("position").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: questions: %w", err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ItemVersionID
	}
	versions, err := s.items.Versions(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Question, len(rows))
	for i, r := range rows {
		v := versions[r.ItemVersionID]
		out[i] = Question{Position: r.Position, ItemID: r.ItemID, Domain: r.Domain, Stem: v.Stem, Exhibit: v.Exhibit,
			Options: v.Options, Answer: r.Answer, Flagged: r.Flagged}
	}
	return out, nil
}

// ResponseUpdate changes a saved response. A nil field is left as it is;
// an empty Answer clears the answer.
type ResponseUpdate struct {
	Answer  *string
	Flagged *bool
}

// SaveResponse stores a candidate's answer to one item of an open attempt.
// When it returns nil the answer is committed to the database. It fails with
// ErrClosed after submission or once the deadline (plus Grace) has passed,
// and with a *valid.Error when the answer is not an option of the item.
func (s *Service) SaveResponse(ctx context.Context, attemptID, itemID string, u ResponseUpdate) error {
	now := s.now().UTC()
	return s.tx(ctx, func(tx *gorm.DB) error {
		var a attemptRow
		if err := first(tx, &a, "attempt", attemptID); err != nil {
			return err
		}
		if a.Status != InProgress || now.After(a.Deadline.Add(s.Grace)) {
			return ErrClosed
		}
		if uuid.Validate(itemID) != nil {
			return notFound("item in attempt", itemID)
		}
		var r responseRow
		err := tx.Where("attempt_id = ? AND item_id = ?", attemptID, itemID).First(&r).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return notFound("item in attempt", itemID)
		}
		if err != nil {
			return fmt.Errorf("assess: save response: %w", err)
		}
		changes := map[string]any{}
		if u.Answer != nil {
			if *u.Answer == "" {
				changes["answer"] = nil
			} else {
				if err := s.in(tx).checkOption(ctx, r.ItemVersionID, *u.Answer); err != nil {
					return err
				}
				changes["answer"] = *u.Answer
			}
			changes["answered_at"] = now
		}
		if u.Flagged != nil {
			changes["flagged"] = *u.Flagged
		}
		if len(changes) == 0 {
			return valid.Errorf("answer", "nothing to save: send answer or flagged")
		}
		// The status condition closes the race with a concurrent submit:
		// an answer lands before the submit or not at all.
		res := tx.Model(&responseRow{}).Where("attempt_id = ? AND position = ? AND EXISTS (SELECT 1 FROM attempts WHERE id = ? AND status = ?)",
			attemptID, r.Position, attemptID, InProgress).Updates(changes)
		if res.Error != nil {
			return fmt.Errorf("assess: save response: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrClosed
		}
		return nil
	})
}

func (s *Service) checkOption(ctx context.Context, versionID, optionID string) error {
	v, err := s.items.Versions(ctx, []string{versionID})
	if err != nil {
		return err
	}
	for _, o := range v[versionID].Options {
		if o.ID == optionID {
			return nil
		}
	}
	return valid.Errorf("answer", "is not an option of this item")
}

// Result is a scored attempt.
type Result struct {
	AttemptID       string
	ExamID          string
	CandidateID     string
	Score           float64
	MaxScore        float64
	Passed          bool
	Cut             float64
	StandardID      string
	StandardVersion int
	Domains         []DomainScore
	CredentialID    string
	SubmittedAt     time.Time
	SubmittedBy     string
}

// DomainScore is the subscore of one blueprint domain.
type DomainScore struct {
	Code  string  `json:"code"`
	Name  string  `json:"name"`
	Score float64 `json:"score"`
	Max   float64 `json:"max"`
}

// Submit closes an attempt, scores it against the exam's approved standard
// and, on a pass, calls OnPass. It is safe to call twice, concurrently or
// after a crash: exactly one call scores, every call returns the same
// result, and a pass whose credential is missing is issued again.
func (s *Service) Submit(ctx context.Context, attemptID, by string) (Result, error) {
	now := s.now().UTC()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&attemptRow{}).Where("id = ? AND status = ?", attemptID, InProgress).
			Updates(map[string]any{"status": Submitted, "submitted_at": now, "submitted_by": by})
		if res.Error != nil {
			return fmt.Errorf("assess: submit: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return nil // already submitted: fall through to the stored result
		}
		return s.score(ctx, tx, attemptID)
	})
	if err != nil {
		return Result{}, err
	}
	return s.settle(ctx, attemptID)
}

// score computes and stores the score of a just-submitted attempt inside tx.
func (s *Service) score(ctx context.Context, tx *gorm.DB, attemptID string) error {
	s = s.in(tx)
	var a attemptRow
	if err := first(tx, &a, "attempt", attemptID); err != nil {
		return err
	}
	std, err := approvedStandard(tx, a.ExamID)
	if err != nil {
		return err
	}
	exam, err := s.Exam(ctx, a.ExamID)
	if err != nil {
		return err
	}
	var rows []responseRow
	if err := tx.Where("attempt_id = ?", attemptID).Order("position").Find(&rows).Error; err != nil {
		return fmt.Errorf("assess: score: %w", err)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ItemVersionID
	}
	versions, err := s.items.Versions(ctx, ids)
	if err != nil {
		return err
	}
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = versions[r.ItemVersionID].Key
	}
	sc := scoreResponses(exam.Domains, rows, keys)
	for i, r := range rows {
		if err := tx.Model(&responseRow{}).Where("attempt_id = ? AND position = ?", attemptID, r.Position).
			Update("correct", sc.correct[i]).Error; err != nil {
			return fmt.Errorf("assess: score: %w", err)
		}
	}
	passed := sc.total >= std.Cut
	domains, _ := json.Marshal(sc.domains)
	return tx.Model(&attemptRow{}).Where("id = ?", attemptID).Updates(map[string]any{
		"score": sc.total, "max_score": float64(len(rows)), "passed": passed,
		"standard_id": std.ID, "standard_version": std.Version, "domain_scores": string(domains),
	}).Error
}

type scored struct {
	total   float64
	correct []bool
	domains []DomainScore
}

// scoreResponses is number-correct scoring: one point per item whose answer
// is its key, summed overall and per blueprint domain.
func scoreResponses(blueprint []Domain, rows []responseRow, keys []string) scored {
	out := scored{correct: make([]bool, len(rows))}
	idx := map[string]int{}
	for _, d := range blueprint {
		idx[d.Code] = len(out.domains)
		out.domains = append(out.domains, DomainScore{Code: d.Code, Name: d.Name})
	}
	for i, r := range rows {
		j, ok := idx[r.Domain]
		if !ok {
			j = len(out.domains)
			idx[r.Domain] = j
			out.domains = append(out.domains, DomainScore{Code: r.Domain, Name: r.Domain})
		}
		out.domains[j].Max++
		if r.Answer != nil && *r.Answer == keys[i] {
			out.correct[i] = true
			out.total++
			out.domains[j].Score++
		}
	}
	return out
}

// settle returns the stored result of a submitted attempt and, for a pass
// without its credential, calls OnPass and records the credential id.
func (s *Service) settle(ctx context.Context, attemptID string) (Result, error) {
	r, err := s.Result(ctx, attemptID)
	if err != nil || !r.Passed || r.CredentialID != "" || s.OnPass == nil {
		return r, err
	}
	a, err := s.Attempt(ctx, attemptID)
	if err != nil {
		return Result{}, err
	}
	exam, err := s.Exam(ctx, a.ExamID)
	if err != nil {
		return Result{}, err
	}
	if exam.AchievementID == "" {
		return r, nil
	}
	std, err := s.Standard(ctx, r.StandardID)
	if err != nil {
		return Result{}, err
	}
	credID, err := s.OnPass(ctx, Pass{AttemptID: a.ID, CandidateID: a.CandidateID, ExamID: a.ExamID,
		AchievementID: exam.AchievementID, Score: r.Score, Standard: std, SubmittedAt: r.SubmittedAt})
	if err != nil {
		return Result{}, fmt.Errorf("assess: issue credential: %w", err)
	}
	if err := s.db.WithContext(ctx).Model(&attemptRow{}).Where("id = ? AND credential_id IS NULL", attemptID).
		Update("credential_id", credID).Error; err != nil {
		return Result{}, fmt.Errorf("assess: record credential: %w", err)
	}
	// A concurrent settle may have recorded its id first; the stored one wins.
	return s.Result(ctx, attemptID)
}

// Result returns the result of a submitted attempt; ErrConflict while the
// attempt is still in progress.
func (s *Service) Result(ctx context.Context, attemptID string) (Result, error) {
	var a attemptRow
	if err := first(s.db.WithContext(ctx), &a, "attempt", attemptID); err != nil {
		return Result{}, err
	}
	if a.Status != Submitted || a.Score == nil {
		return Result{}, fmt.Errorf("%w: attempt %s is not scored", ErrConflict, attemptID)
	}
	r := Result{AttemptID: a.ID, ExamID: a.ExamID, CandidateID: a.CandidateID, Score: *a.Score, SubmittedBy: a.SubmittedBy}
	if a.MaxScore != nil {
		r.MaxScore = *a.MaxScore
	}
	if a.SubmittedAt != nil {
		r.SubmittedAt = *a.SubmittedAt
	}
	if a.Passed != nil {
		r.Passed = *a.Passed
	}
	if a.StandardID != nil {
		std, err := s.Standard(ctx, *a.StandardID)
		if err != nil {
			return Result{}, err
		}
		r.StandardID, r.StandardVersion, r.Cut = std.ID, std.Version, std.Cut
	}
	if a.CredentialID != nil {
		r.CredentialID = *a.CredentialID
	}
	if a.DomainScores != "" {
		if err := json.Unmarshal([]byte(a.DomainScores), &r.Domains); err != nil {
			return Result{}, fmt.Errorf("assess: domain scores of %s: %w", a.ID, err)
		}
	}
	return r, nil
}

// SubmitExpired submits every open attempt whose deadline has passed, as
// the deadline would, and issues any credential a past pass is still
// missing. It returns how many attempts it submitted.
func (s *Service) SubmitExpired(ctx context.Context) (int, error) {
	var due []string
	if err := s.db.WithContext(ctx).Model(&attemptRow{}).Where("status = ? AND deadline < ?", InProgress, s.now().UTC().Add(-s.Grace)).
		Pluck("id", &due).Error; err != nil {
		return 0, fmt.Errorf("assess: expired attempts: %w", err)
	}
	for _, id := range due {
		if _, err := s.Submit(ctx, id, "deadline"); err != nil {
			return 0, err
		}
	}
	var unissued []string
	if err := s.db.WithContext(ctx).Model(&attemptRow{}).Where("status = ? AND passed AND credential_id IS NULL AND NOT simulated", Submitted).
		Pluck("id", &unissued).Error; err != nil {
		return 0, fmt.Errorf("assess: unissued passes: %w", err)
	}
	for _, id := range unissued {
		if _, err := s.settle(ctx, id); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// RecentAttempts lists the newest live attempts (not imported or simulated
// history), at most limit, for proctors.
func (s *Service) RecentAttempts(ctx context.Context, limit int) ([]Attempt, error) {
	var rows []attemptRow
	if err := s.db.WithContext(ctx).Where("NOT simulated AND submitted_by <> ?", "import").
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
