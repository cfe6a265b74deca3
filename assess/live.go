package assess

import (
	"context"
	"fmt"
)

// LiveFilter chooses the attempts LiveAttempts lists.
type LiveFilter struct {
	// All lists every exam's attempts (an administrator's console);
	// otherwise only ExamIDs' are listed, and none when it is empty.
	All     bool
	ExamIDs []string
	// Limit bounds the list, newest first; 0 means MaxLive.
	Limit int
}

// MaxLive is the most attempts LiveAttempts returns.
const MaxLive = 500

// LiveAttempts lists the attempts in progress of the filter's exams, the
// newest first, for the proctors' live console. Simulated (pilot) and
// imported attempts are never in progress, so none is listed.
func (s *Service) LiveAttempts(ctx context.Context, f LiveFilter) ([]Attempt, error) {
	if !f.All && len(f.ExamIDs) == 0 {
		return nil, nil
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxLive {
		limit = MaxLive
	}
	q := s.db.WithContext(ctx).Where("status = ? AND NOT simulated", InProgress)
	if !f.All {
		q = q.Where("exam_id IN ?", f.ExamIDs)
	}
	var rows []attemptRow
	if err := q.Order("started_at DESC, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("assess: live attempts: %w", err)
	}
	out := make([]Attempt, len(rows))
	for i, r := range rows {
		out[i] = r.attempt()
	}
	return out, nil
}
