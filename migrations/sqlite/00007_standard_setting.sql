-- +goose Up
-- Standard setting in the browser and the psychometrician's workbench:
-- panelists who sign in, studies run in rounds with feedback released
-- between them, judgements beyond Angoff ratings, standards adopted with a
-- reason and an effective date, voluntary demographics kept apart from the
-- rest of a candidate's record, stored IRT calibration runs, and item flags.

-- Panelists sign in to rate; the role is theirs alone.
-- SQLite cannot alter a CHECK constraint: the table is rebuilt.
CREATE TABLE user_roles_new (
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    text NOT NULL CHECK (role IN ('admin', 'program_manager', 'psychometrician', 'proctor', 'author', 'candidate', 'panelist')),
    PRIMARY KEY (user_id, role)
);
INSERT INTO user_roles_new (user_id, role) SELECT user_id, role FROM user_roles;
DROP TABLE user_roles;
ALTER TABLE user_roles_new RENAME TO user_roles;

-- A study of an exam (or one of its forms) is open until its standard is
-- adopted; current_round is the round panelists work in, released_round the
-- last round whose feedback the facilitator has shown them.
ALTER TABLE studies ADD COLUMN form_id text REFERENCES exam_forms (id);
ALTER TABLE studies ADD COLUMN mcc text NOT NULL DEFAULT '';
ALTER TABLE studies ADD COLUMN planned_rounds integer NOT NULL DEFAULT 2 CHECK (planned_rounds >= 1);
ALTER TABLE studies ADD COLUMN current_round integer NOT NULL DEFAULT 1 CHECK (current_round >= 1);
ALTER TABLE studies ADD COLUMN released_round integer NOT NULL DEFAULT 0 CHECK (released_round >= 0);
ALTER TABLE studies ADD COLUMN status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed'));

-- A panelist is a signed-in user; submitted_round is the last round they
-- marked complete.
ALTER TABLE study_panelists ADD COLUMN user_id text REFERENCES users (id);
ALTER TABLE study_panelists ADD COLUMN submitted_round integer NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX study_panelists_user ON study_panelists (study_id, user_id);

-- Judgements that are not a rating of one item: a Bookmark page, Hofstee's
-- four values, Beuk's cut and pass rate.
CREATE TABLE study_judgements (
    study_id    text NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    panelist_id text NOT NULL REFERENCES study_panelists (id) ON DELETE CASCADE,
    round       integer NOT NULL CHECK (round >= 1),
    kind        text NOT NULL,
    value       real NOT NULL,
    updated_at  datetime NOT NULL,
    PRIMARY KEY (study_id, panelist_id, round, kind)
);

-- A standard is adopted with a reason when its cut differs from the
-- panel's recommendation, and takes effect at effective_at.
ALTER TABLE standards ADD COLUMN recommended_cut real;
ALTER TABLE standards ADD COLUMN adoption_reason text NOT NULL DEFAULT '';
ALTER TABLE standards ADD COLUMN effective_at datetime;
UPDATE standards SET effective_at = approved_at WHERE approved_at IS NOT NULL;

-- Voluntary demographics, apart from the user record: only aggregate
-- reports (impact by group, DIF) read them.
CREATE TABLE demographics (
    user_id     text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    variable    text NOT NULL,
    value       text NOT NULL,
    recorded_at datetime NOT NULL,
    PRIMARY KEY (user_id, variable)
);

-- IRT calibration runs of an exam, versioned; a run may be linked onto the
-- scale of an earlier run through common (anchor) items.
CREATE TABLE calibration_runs (
    id            text PRIMARY KEY,
    exam_id       text NOT NULL REFERENCES exams (id),
    version       integer NOT NULL,
    model         text NOT NULL,
    status        text NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    anchor_run_id text REFERENCES calibration_runs (id),
    persons       integer NOT NULL DEFAULT 0,
    result        text NOT NULL DEFAULT '',
    error         text NOT NULL DEFAULT '',
    note          text NOT NULL DEFAULT '',
    created_by    text REFERENCES users (id),
    created_at    datetime NOT NULL,
    finished_at   datetime,
    UNIQUE (exam_id, version)
);

-- A psychometrician's flag on an item for review, open until resolved.
CREATE TABLE item_flags (
    id          text PRIMARY KEY,
    item_id     text NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    reason      text NOT NULL CHECK (reason <> ''),
    raised_by   text REFERENCES users (id),
    raised_at   datetime NOT NULL,
    resolved_by text REFERENCES users (id),
    resolved_at datetime,
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
CREATE TABLE user_roles_old (
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    text NOT NULL CHECK (role IN ('admin', 'program_manager', 'psychometrician', 'proctor', 'author', 'candidate')),
    PRIMARY KEY (user_id, role)
);
INSERT INTO user_roles_old (user_id, role) SELECT user_id, role FROM user_roles;
DROP TABLE user_roles;
ALTER TABLE user_roles_old RENAME TO user_roles;
