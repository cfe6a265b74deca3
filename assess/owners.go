package assess

import (
	"context"
)

// AttemptOwner is what never changes about an attempt: whose it is and of
// which exam.
type AttemptOwner struct {
	AttemptID   string
	CandidateID string
	ExamID      string
}

// Owner returns the attempt's AttemptOwner, from its Attempt.
func (a Attempt) Owner() AttemptOwner {
	return AttemptOwner{AttemptID: a.ID, CandidateID: a.CandidateID, ExamID: a.ExamID}
}

// AttemptOwner returns whose the attempt is and of which exam, or
// ErrNotFound. It never changes, so it is kept in memory after the first
// read: a candidate's page sends proctoring events every few seconds, and
// each batch is checked against its owner.
func (s *Service) AttemptOwner(ctx context.Context, attemptID string) (AttemptOwner, error) {
	if o, ok := s.owners.Get(attemptID); ok {
		return o, nil
	}
	var row attemptRow
	if err := first(s.db.WithContext(ctx).Select("id", "candidate_id", "exam_id"), &row, "attempt", attemptID); err != nil {
		return AttemptOwner{}, err
	}
	o := AttemptOwner{AttemptID: row.ID, CandidateID: row.CandidateID, ExamID: row.ExamID}
	s.owners.Put(o.AttemptID, o)
	return o, nil
}
