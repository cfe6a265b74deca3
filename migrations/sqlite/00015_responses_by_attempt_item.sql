-- +goose Up
-- A save reads the candidate's response to one item of the attempt. The
-- responses were keyed by (attempt_id, position) and indexed by item_id
-- alone. SQLite answered the read by the item's index, and PostgreSQL,
-- with or without statistics, ANDed the two: either way each save read
-- every response to its item in the window (5,700 index entries a save at
-- 6,000 candidates). This index answers the read on its own.

CREATE INDEX responses_attempt_item ON responses (attempt_id, item_id);

-- +goose Down
DROP INDEX responses_attempt_item;
