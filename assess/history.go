package assess

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/items"
)

// PastAttempt is an attempt from an earlier administration — a pilot or
// field test, or an import from another platform — with its answers by
// item id.
type PastAttempt struct {
	CandidateID string
	StartedAt   time.Time
	SubmittedAt time.Time
	Answers     map[string]string // item id → option id of a choice item; a missing item was not answered
}

// importedBy is the submitted_by of the attempts RecordHistory stores.
const importedBy = "import"

// RecordHistory stores past attempts of an exam, scored number-correct on
// the current item versions. They were taken before any standard decided
// them, so they carry a score but no pass or fail; they feed item
// statistics and standard setting. They are marked simulated when the
// data are synthetic.
func (s *Service) RecordHistory(ctx context.Context, examID string, past []PastAttempt, simulated bool) error {
	exam, err := s.Exam(ctx, examID)
	if err != nil {
		return err
	}
	pool, err := s.items.Current(ctx, exam.ItemIDs)
	if err != nil {
		return err
	}
	contents := make([]items.Content, len(pool))
	for i, it := range pool {
		contents[i] = it.Content
	}
	attempts := make([]attemptRow, 0, len(past))
	responses := make([]responseRow, 0, len(past)*len(pool))
	for _, p := range past {
		a := attemptRow{ID: uuid.NewString(), ExamID: examID, CandidateID: p.CandidateID, Status: Submitted,
			StartedAt: p.StartedAt.UTC(), Deadline: p.StartedAt.UTC().Add(exam.Duration), SubmittedAt: ptr(p.SubmittedAt.UTC()),
			SubmittedBy: importedBy, Simulated: simulated, Mode: ModeFixed, TimeMultiplier: 1}
		rows := make([]responseRow, len(pool))
		for i, it := range pool {
			rows[i] = newRow(i+1, it, "", true)
			rows[i].AttemptID = a.ID
			if ans, ok := p.Answers[it.ID]; ok {
				rows[i].Answer = &ans
				at := p.SubmittedAt.UTC()
				rows[i].AnsweredAt = &at
			}
		}
		sc := scoreRows(exam.Domains, rows, contents)
		for i := range rows {
			c := sc.full[i]
			rows[i].Correct, rows[i].Points = &c, &sc.points[i]
		}
		domains, _ := json.Marshal(sc.domains)
		a.Score, a.MaxScore, a.DomainScores = &sc.total, &sc.max, string(domains)
		attempts = append(attempts, a)
		responses = append(responses, rows...)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(attempts, 500).Error; err != nil {
			return fmt.Errorf("assess: record history: %w", err)
		}
		if err := tx.CreateInBatches(responses, 1000).Error; err != nil {
			return fmt.Errorf("assess: record history: %w", err)
		}
		return nil
	})
}

func ptr[T any](v T) *T { return &v }
