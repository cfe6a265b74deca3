-- +goose Up
-- The sweeper (every few seconds, on every instance) and the metrics
-- gauges look attempts up by status alone: in progress past their
-- deadline, submitted passes without a credential. The index on
-- (exam_id, status) cannot serve those, so they scanned the table.

CREATE INDEX attempts_status_deadline ON attempts (status, deadline);

-- +goose Down
DROP INDEX attempts_status_deadline;
