package assess

import (
	"context"
	"sync"
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
	if o, ok := s.owners.get(attemptID); ok {
		return o, nil
	}
	var row attemptRow
	if err := first(s.db.WithContext(ctx).Select("id", "candidate_id", "exam_id"), &row, "attempt", attemptID); err != nil {
		return AttemptOwner{}, err
	}
	o := AttemptOwner{AttemptID: row.ID, CandidateID: row.CandidateID, ExamID: row.ExamID}
	s.owners.put(o)
	return o, nil
}

// maxOwners bounds the memory of owners; when full it starts again.
const maxOwners = 200_000

// owners remembers AttemptOwners by attempt id; shared by a Service and
// its copies in transactions.
type owners struct {
	mu sync.RWMutex
	m  map[string]AttemptOwner
}

func (o *owners) get(id string) (AttemptOwner, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	v, ok := o.m[id]
	return v, ok
}

func (o *owners) put(v AttemptOwner) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m == nil || len(o.m) >= maxOwners {
		o.m = make(map[string]AttemptOwner)
	}
	o.m[v.AttemptID] = v
}
