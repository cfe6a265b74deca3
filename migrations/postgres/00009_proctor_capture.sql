-- +goose Up
-- Proctoring capture: the event log becomes a hash chain per attempt, so
-- that an edit or a deletion is detectable; webcam snapshots and check-in
-- photos are recorded (the images live in blob storage) and deleted after
-- the program's retention period; a candidate checks in (system check,
-- photos, the exam's rules) and is admitted before starting; proctors and
-- reviewers are assigned per exam; and the player reports the time spent
-- on each item, for the forensics of response times.

ALTER TABLE proctor_events ADD COLUMN seq bigint;
ALTER TABLE proctor_events ADD COLUMN prev_hash text NOT NULL DEFAULT '';
ALTER TABLE proctor_events ADD COLUMN hash text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX proctor_events_chain ON proctor_events (attempt_id, seq);

-- The head of each attempt's chain, locked while events are appended.
CREATE TABLE proctor_chains (
    attempt_id uuid PRIMARY KEY REFERENCES attempts (id) ON DELETE CASCADE,
    seq        bigint NOT NULL,
    hash       text NOT NULL
);

CREATE TABLE proctor_checkins (
    id                uuid PRIMARY KEY,
    exam_id           uuid NOT NULL REFERENCES exams (id),
    candidate_id      uuid NOT NULL REFERENCES users (id),
    status            text NOT NULL CHECK (status IN ('open', 'pending', 'admitted', 'rejected', 'used')),
    system_check      text NOT NULL DEFAULT '',
    rules_accepted_at timestamptz,
    created_at        timestamptz NOT NULL,
    submitted_at      timestamptz,
    decided_at        timestamptz,
    decided_by        text NOT NULL DEFAULT '',
    note              text NOT NULL DEFAULT '',
    attempt_id        uuid REFERENCES attempts (id) ON DELETE SET NULL
);
CREATE INDEX proctor_checkins_candidate ON proctor_checkins (candidate_id, exam_id, created_at);
CREATE INDEX proctor_checkins_status ON proctor_checkins (status, created_at);

CREATE TABLE proctor_snapshots (
    id           uuid PRIMARY KEY,
    attempt_id   uuid REFERENCES attempts (id) ON DELETE CASCADE,
    checkin_id   uuid REFERENCES proctor_checkins (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('webcam', 'candidate_photo', 'id_photo')),
    blob_key     text NOT NULL,
    content_type text NOT NULL,
    bytes        integer NOT NULL,
    sha256       text NOT NULL,
    faces        integer,
    looking_away boolean,
    taken_at     timestamptz,
    received_at  timestamptz NOT NULL,
    delete_after timestamptz NOT NULL,
    deleted_at   timestamptz,
    CHECK (attempt_id IS NOT NULL OR checkin_id IS NOT NULL)
);
CREATE INDEX proctor_snapshots_attempt ON proctor_snapshots (attempt_id, received_at);
CREATE INDEX proctor_snapshots_checkin ON proctor_snapshots (checkin_id);
CREATE INDEX proctor_snapshots_retention ON proctor_snapshots (delete_after) WHERE deleted_at IS NULL;

-- How long a program keeps proctoring images, in days.
ALTER TABLE programs ADD COLUMN snapshot_retention_days integer NOT NULL DEFAULT 90
    CHECK (snapshot_retention_days BETWEEN 1 AND 3650);

-- Proctors and reviewers assigned to an exam; only they (and admins) see
-- its live sessions, snapshots and case files.
CREATE TABLE exam_staff (
    exam_id uuid NOT NULL REFERENCES exams (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    text NOT NULL CHECK (role IN ('proctor', 'reviewer')),
    PRIMARY KEY (exam_id, user_id, role)
);
CREATE INDEX exam_staff_user ON exam_staff (user_id);

-- Seconds the item was on the candidate's screen, as the player measured.
ALTER TABLE responses ADD COLUMN seconds double precision;

-- +goose Down
ALTER TABLE responses DROP COLUMN seconds;
DROP TABLE exam_staff;
ALTER TABLE programs DROP COLUMN snapshot_retention_days;
DROP TABLE proctor_snapshots;
DROP TABLE proctor_checkins;
DROP TABLE proctor_chains;
DROP INDEX proctor_events_chain;
ALTER TABLE proctor_events DROP COLUMN hash;
ALTER TABLE proctor_events DROP COLUMN prev_hash;
ALTER TABLE proctor_events DROP COLUMN seq;
