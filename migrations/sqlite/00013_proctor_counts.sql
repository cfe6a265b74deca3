-- +goose Up
-- The live console scores an attempt's risk from the count of each kind of
-- event after every batch a page sends and every snapshot; counting the
-- attempt's whole log each time grew with the exam. The chain's head now
-- carries the running counts (a JSON object, kind → count), updated in the
-- same statement that moves it. Attempts whose events predate the chain get
-- a head at place 0, so that every attempt with events has one.

ALTER TABLE proctor_chains ADD COLUMN counts text NOT NULL DEFAULT '{}';

INSERT INTO proctor_chains (attempt_id, seq, hash)
SELECT DISTINCT e.attempt_id, 0, '' FROM proctor_events e
WHERE NOT EXISTS (SELECT 1 FROM proctor_chains c WHERE c.attempt_id = e.attempt_id);

UPDATE proctor_chains SET counts = COALESCE(
    (SELECT json_group_object(k.kind, k.n)
       FROM (SELECT kind, COUNT(*) AS n FROM proctor_events e WHERE e.attempt_id = proctor_chains.attempt_id GROUP BY kind) k),
    '{}');

-- +goose Down
DELETE FROM proctor_chains WHERE seq = 0;
ALTER TABLE proctor_chains DROP COLUMN counts;
