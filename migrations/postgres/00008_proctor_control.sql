-- +goose Up
-- Live proctoring control: a proctor holds an attempt (its clock stops
-- until resumed), adds time, terminates it, and messages the candidate.
-- After the exam, flagged attempts wait in a review queue; the reviewer's
-- decision (clear, warn, invalidate) decides the credential.

ALTER TABLE attempts ADD COLUMN held_at timestamptz;
ALTER TABLE attempts ADD COLUMN held_by uuid REFERENCES users (id);
ALTER TABLE attempts ADD COLUMN added_seconds integer NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN terminated_at timestamptz;
ALTER TABLE attempts ADD COLUMN terminated_by uuid REFERENCES users (id);
ALTER TABLE attempts ADD COLUMN termination_reason text NOT NULL DEFAULT '';

CREATE TABLE proctor_messages (
    id         uuid PRIMARY KEY,
    attempt_id uuid NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    sender_id  uuid REFERENCES users (id),
    body       text NOT NULL CHECK (body <> ''),
    sent_at    timestamptz NOT NULL
);
CREATE INDEX proctor_messages_attempt ON proctor_messages (attempt_id, sent_at);

-- An invalidated attempt keeps its score but not its pass. (An exam's
-- proctoring policy lives in its settings.)
ALTER TABLE attempts ADD COLUMN invalidated_at timestamptz;

CREATE TABLE proctor_reviews (
    attempt_id uuid PRIMARY KEY REFERENCES attempts (id) ON DELETE CASCADE,
    status     text NOT NULL CHECK (status IN ('pending', 'cleared', 'warned', 'invalidated')),
    risk       double precision NOT NULL DEFAULT 0,
    reasons    text NOT NULL DEFAULT '',
    opened_by  text NOT NULL,
    opened_at  timestamptz NOT NULL,
    decided_by uuid REFERENCES users (id),
    decided_at timestamptz,
    note       text NOT NULL DEFAULT ''
);
CREATE INDEX proctor_reviews_status ON proctor_reviews (status, risk);

-- +goose Down
DROP TABLE proctor_reviews;
ALTER TABLE attempts DROP COLUMN invalidated_at;
DROP TABLE proctor_messages;
ALTER TABLE attempts DROP COLUMN termination_reason;
ALTER TABLE attempts DROP COLUMN terminated_by;
ALTER TABLE attempts DROP COLUMN terminated_at;
ALTER TABLE attempts DROP COLUMN added_seconds;
ALTER TABLE attempts DROP COLUMN held_by;
ALTER TABLE attempts DROP COLUMN held_at;
