-- +goose Up
-- Standard setting in the browser and the psychometrician's workbench:
-- panelists who sign in, studies run in rounds with feedback released
-- between them, judgements beyond Angoff ratings, standards adopted with a
-- reason and an effective date, voluntary demographics kept apart from the
-- rest of a candidate's record, stored IRT calibration runs, and item flags.

-- Panelists sign in to rate; the role is theirs alone.
ALTER TABLE user_roles DROP CONSTRAINT user_roles_role_check;
ALTER TABLE user_roles ADD CONSTRAINT user_roles_role_check
    CHECK (role IN ('admin', 'program_manager', 'psychometrician', 'proctor', 'author', 'candidate', 'panelist'));

-- A study of an exam (or one of its forms) is open until its standard is
-- adopted; current_round is the round panelists work in, released_round the
-- last round whose feedback the facilitator has shown them.
ALTER TABLE studies ADD COLUMN form_id uuid REFERENCES exam_forms (id);
ALTER TABLE studies ADD COLUMN mcc text NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN planned_rounds integer NOT NULL DEFAULT 2 CHECK (planned_rounds >= 1);
ALTER TABLE studies ADD COLUMN current_round integer NOT NULL DEFAULT 1 CHECK (current_round >= 1);
ALTER TABLE studies ADD COLUMN released_round integer NOT NULL DEFAULT 0 CHECK (released_round >= 0);
ALTER TABLE studies ADD COLUMN status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed'));

-- A panelist is a signed-in user; submitted_round is the last round they
-- marked complete.
ALTER TABLE study_panelists ADD COLUMN user_id uuid REFERENCES users (id);
ALTER TABLE study_panelists ADD COLUMN submitted_round integer NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX study_panelists_user ON study_panelists (study_id, user_id);

-- Judgements that are not a rating of one item: a Bookmark page, Hofstee's
-- four values, Beuk's cut and pass rate.
CREATE TABLE study_judgements (
    study_id    uuid NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    panelist_id uuid NOT NULL REFERENCES study_panelists (id) ON DELETE CASCADE,
    round       integer NOT NULL CHECK (round >= 1),
    kind        text NOT NULL,
    value       double precision NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (study_id, panelist_id, round, kind)
);

-- A standard is adopted with a reason when its cut differs from the
-- panel's recommendation, and takes effect at effective_at.
ALTER TABLE standards ADD COLUMN recommended_cut double precision;
ALTER TABLE standards ADD COLUMN adoption_reason text NOT NULL DEFAULT '';
ALTER TABLE standards ADD COLUMN effective_at timestamptz;
UPDATE standards SET effective_at = approved_at WHERE approved_at IS NOT NULL;

-- Voluntary demographics, apart from the user record: only aggregate
-- reports (impact by group, DIF) read them.
CREATE TABLE demographics (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    variable    text NOT NULL,
    value       text NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, variable)
);

-- IRT calibration runs of an exam, versioned; a run may be linked onto the
-- scale of an earlier run through common (anchor) items.
CREATE TABLE calibration_runs (
    id            uuid PRIMARY KEY,
    exam_id       uuid NOT NULL REFERENCES exams (id),
    version       integer NOT NULL,
    model         text NOT NULL,
    status        text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    anchor_run_id uuid REFERENCES calibration_runs (id),
    persons       integer NOT NULL DEFAULT 0,
    result        text NOT NULL DEFAULT '',
    error         text NOT NULL DEFAULT '',
    note          text NOT NULL DEFAULT '',
    created_by    uuid REFERENCES users (id),
    created_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    UNIQUE (exam_id, version)
);

-- A psychometrician's flag on an item for review, open until resolved.
CREATE TABLE item_flags (
    id          uuid PRIMARY KEY,
    item_id     uuid NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    reason      text NOT NULL CHECK (reason <> ''),
    raised_by   uuid REFERENCES users (id),
    raised_at   timestamptz NOT NULL,
    resolved_by uuid REFERENCES users (id),
    resolved_at timestamptz,
    resolution  text NOT NULL DEFAULT ''
);
CREATE INDEX item_flags_open ON item_flags (item_id) WHERE resolved_at IS NULL;

-- +goose Down
DROP TABLE item_flags;
DROP TABLE calibration_runs;
DROP TABLE demographics;
ALTER TABLE standards DROP COLUMN effective_at;
ALTER TABLE standards DROP COLUMN adoption_reason;
ALTER TABLE standards DROP COLUMN recommended_cut;
DROP TABLE study_judgements;
DROP INDEX study_panelists_user;
ALTER TABLE study_panelists DROP COLUMN submitted_round;
ALTER TABLE study_panelists DROP COLUMN user_id;
ALTER TABLE studies DROP COLUMN status;
ALTER TABLE studies DROP COLUMN released_round;
ALTER TABLE studies DROP COLUMN current_round;
ALTER TABLE studies DROP COLUMN planned_rounds;
ALTER TABLE studies DROP COLUMN mcc;
ALTER TABLE studies DROP COLUMN form_id;
DELETE FROM user_roles WHERE role = 'panelist';
ALTER TABLE user_roles DROP CONSTRAINT user_roles_role_check;
ALTER TABLE user_roles ADD CONSTRAINT user_roles_role_check
    CHECK (role IN ('admin', 'program_manager', 'psychometrician', 'proctor', 'author', 'candidate'));
