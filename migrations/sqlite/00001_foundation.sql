-- +goose Up
CREATE TABLE users (
    id            text PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    password_hash text NOT NULL DEFAULT '',
    simulated     boolean NOT NULL DEFAULT false,
    created_at    datetime NOT NULL
);

CREATE TABLE user_roles (
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    text NOT NULL CHECK (role IN ('admin', 'program_manager', 'psychometrician', 'proctor', 'author', 'candidate')),
    PRIMARY KEY (user_id, role)
);

CREATE TABLE sessions (
    token_hash   text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   datetime NOT NULL,
    expires_at   datetime NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE programs (
    id          text PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  datetime NOT NULL
);

CREATE TABLE items (
    id              text PRIMARY KEY,
    program_id      text NOT NULL REFERENCES programs (id),
    domain          text NOT NULL,
    status          text NOT NULL CHECK (status IN ('draft', 'active', 'retired')),
    current_version integer NOT NULL,
    created_at      datetime NOT NULL,
    updated_at      datetime NOT NULL
);

CREATE TABLE item_versions (
    id         text PRIMARY KEY,
    item_id    text NOT NULL REFERENCES items (id),
    version    integer NOT NULL,
    stem       text NOT NULL,
    exhibit    text NOT NULL DEFAULT '',
    options    text NOT NULL,
    answer_key text NOT NULL,
    rationale  text NOT NULL DEFAULT '',
    author_id  text REFERENCES users (id),
    created_at datetime NOT NULL,
    UNIQUE (item_id, version)
);

CREATE TABLE exams (
    id               text PRIMARY KEY,
    program_id       text NOT NULL REFERENCES programs (id),
    slug             text NOT NULL,
    title            text NOT NULL,
    description      text NOT NULL DEFAULT '',
    duration_seconds integer NOT NULL CHECK (duration_seconds > 0),
    achievement_id   text,
    created_at       datetime NOT NULL,
    UNIQUE (program_id, slug)
);

CREATE TABLE exam_domains (
    exam_id     text NOT NULL REFERENCES exams (id) ON DELETE CASCADE,
    code        text NOT NULL,
    position    integer NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    skill       text NOT NULL DEFAULT '',
    PRIMARY KEY (exam_id, code)
);

CREATE TABLE exam_items (
    exam_id  text NOT NULL REFERENCES exams (id) ON DELETE CASCADE,
    item_id  text NOT NULL REFERENCES items (id),
    position integer NOT NULL,
    PRIMARY KEY (exam_id, item_id)
);

CREATE TABLE studies (
    id         text PRIMARY KEY,
    exam_id    text NOT NULL REFERENCES exams (id),
    method     text NOT NULL,
    title      text NOT NULL,
    created_by text REFERENCES users (id),
    created_at datetime NOT NULL
);

CREATE TABLE study_panelists (
    id            text PRIMARY KEY,
    study_id      text NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    name          text NOT NULL,
    qualification text NOT NULL DEFAULT ''
);

CREATE TABLE ratings (
    study_id    text NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    panelist_id text NOT NULL REFERENCES study_panelists (id) ON DELETE CASCADE,
    item_id     text NOT NULL REFERENCES items (id),
    round       integer NOT NULL,
    rating      real NOT NULL CHECK (rating >= 0 AND rating <= 1),
    PRIMARY KEY (study_id, panelist_id, item_id, round)
);

CREATE TABLE standards (
    id                   text PRIMARY KEY,
    exam_id              text NOT NULL REFERENCES exams (id),
    version              integer NOT NULL,
    study_id             text REFERENCES studies (id),
    method               text NOT NULL,
    panelists            integer NOT NULL,
    cut                  real NOT NULL,
    max_score            real NOT NULL,
    cut_se               real NOT NULL,
    reliability          real NOT NULL,
    decision_consistency real NOT NULL,
    status               text NOT NULL CHECK (status IN ('proposed', 'approved', 'superseded')),
    proposed_by          text REFERENCES users (id),
    approved_by          text REFERENCES users (id),
    approved_at          datetime,
    created_at           datetime NOT NULL,
    UNIQUE (exam_id, version)
);
CREATE UNIQUE INDEX standards_one_approved ON standards (exam_id) WHERE status = 'approved';

CREATE TABLE attempts (
    id               text PRIMARY KEY,
    exam_id          text NOT NULL REFERENCES exams (id),
    candidate_id     text NOT NULL REFERENCES users (id),
    status           text NOT NULL CHECK (status IN ('in_progress', 'submitted')),
    started_at       datetime NOT NULL,
    deadline         datetime NOT NULL,
    submitted_at     datetime,
    submitted_by     text NOT NULL DEFAULT '',
    score            real,
    max_score        real,
    passed           boolean,
    standard_id      text REFERENCES standards (id),
    standard_version integer,
    domain_scores    text NOT NULL DEFAULT '',
    credential_id    text,
    simulated        boolean NOT NULL DEFAULT false
);
CREATE INDEX attempts_exam ON attempts (exam_id, status);
CREATE INDEX attempts_candidate ON attempts (candidate_id);

CREATE TABLE responses (
    attempt_id      text NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    position        integer NOT NULL,
    item_id         text NOT NULL REFERENCES items (id),
    item_version_id text NOT NULL REFERENCES item_versions (id),
    domain          text NOT NULL,
    answer          text,
    flagged         boolean NOT NULL DEFAULT false,
    correct         boolean,
    answered_at     datetime,
    PRIMARY KEY (attempt_id, position)
);
CREATE INDEX responses_item ON responses (item_id);

CREATE TABLE proctor_events (
    id          integer PRIMARY KEY AUTOINCREMENT,
    attempt_id  text NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    client_at   datetime,
    received_at datetime NOT NULL
);
CREATE INDEX proctor_events_attempt ON proctor_events (attempt_id, id);

CREATE TABLE issuers (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    url         text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    created_at  datetime NOT NULL
);

CREATE TABLE issuer_keys (
    id                   text PRIMARY KEY,
    issuer_id            text NOT NULL REFERENCES issuers (id),
    public_key_multibase text NOT NULL,
    created_at           datetime NOT NULL,
    retired_at           datetime
);

CREATE TABLE achievements (
    id               text PRIMARY KEY,
    issuer_id        text NOT NULL REFERENCES issuers (id),
    slug             text NOT NULL UNIQUE,
    name             text NOT NULL,
    description      text NOT NULL,
    criteria         text NOT NULL,
    achievement_type text NOT NULL,
    alignments       text NOT NULL DEFAULT '[]',
    created_at       datetime NOT NULL
);

CREATE TABLE pathways (
    id             text PRIMARY KEY,
    achievement_id text NOT NULL UNIQUE REFERENCES achievements (id),
    created_at     datetime NOT NULL
);

CREATE TABLE pathway_requirements (
    pathway_id     text NOT NULL REFERENCES pathways (id) ON DELETE CASCADE,
    achievement_id text NOT NULL REFERENCES achievements (id),
    PRIMARY KEY (pathway_id, achievement_id)
);

CREATE TABLE credentials (
    id                text PRIMARY KEY,
    issuance_key      text NOT NULL UNIQUE,
    achievement_id    text NOT NULL REFERENCES achievements (id),
    recipient_id      text NOT NULL REFERENCES users (id),
    document          text NOT NULL,
    issued_at         datetime NOT NULL,
    revoked_at        datetime,
    revocation_reason text NOT NULL DEFAULT ''
);
CREATE INDEX credentials_recipient ON credentials (recipient_id);

CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY,
    at        datetime NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    subject   text NOT NULL,
    before    text NOT NULL DEFAULT '',
    after     text NOT NULL DEFAULT '',
    prev_hash text NOT NULL,
    hash      text NOT NULL
);

CREATE TABLE audit_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash text NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_log_no_delete;
DROP TRIGGER audit_log_no_update;
DROP TABLE audit_head;
DROP TABLE audit_log;
DROP TABLE credentials;
DROP TABLE pathway_requirements;
DROP TABLE pathways;
DROP TABLE achievements;
DROP TABLE issuer_keys;
DROP TABLE issuers;
DROP TABLE proctor_events;
DROP TABLE responses;
DROP TABLE attempts;
DROP TABLE standards;
DROP TABLE ratings;
DROP TABLE study_panelists;
DROP TABLE studies;
DROP TABLE exam_items;
DROP TABLE exam_domains;
DROP TABLE exams;
DROP TABLE item_versions;
DROP TABLE items;
DROP TABLE programs;
DROP TABLE sessions;
DROP TABLE user_roles;
DROP TABLE users;
