-- +goose Up
-- At most one active check-in — open, pending or admitted, that is not yet
-- used for an attempt nor rejected — per candidate and exam, so that two
-- concurrent openings cannot start two. Duplicates from before are
-- resolved first: the furthest along (admitted, then pending, then open),
-- then the newest, stays active; the others are rejected with a note
-- saying why, so the candidate's history keeps them.

UPDATE proctor_checkins SET status = 'rejected', decided_at = CURRENT_TIMESTAMP, decided_by = 'system:migration',
    note = 'Closed as a duplicate: another check-in for this exam was open at the same time.'
WHERE status IN ('open', 'pending', 'admitted') AND EXISTS (
    SELECT 1 FROM proctor_checkins k
    WHERE k.exam_id = proctor_checkins.exam_id AND k.candidate_id = proctor_checkins.candidate_id
      AND k.id <> proctor_checkins.id AND k.status IN ('open', 'pending', 'admitted')
      AND (CASE k.status WHEN 'admitted' THEN 3 WHEN 'pending' THEN 2 ELSE 1 END,
           k.created_at, k.id)
        > (CASE proctor_checkins.status WHEN 'admitted' THEN 3 WHEN 'pending' THEN 2 ELSE 1 END,
           proctor_checkins.created_at, proctor_checkins.id)
);

CREATE UNIQUE INDEX proctor_checkins_active ON proctor_checkins (exam_id, candidate_id)
    WHERE status IN ('open', 'pending', 'admitted');

-- +goose Down
DROP INDEX proctor_checkins_active;
