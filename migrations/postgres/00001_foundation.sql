-- +goose Up
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    password_hash text NOT NULL DEFAULT '',
    simulated     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);

CREATE TABLE user_roles (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    text NOT NULL CHECK (role IN ('admin', 'program_manager', 'psychometrician', 'proctor', 'author', 'candidate')),
    PRIMARY KEY (user_id, role)
);

CREATE TABLE sessions (
    token_hash   text PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE programs (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);

CREATE TABLE items (
    id              uuid PRIMARY KEY,
    program_id      uuid NOT NULL REFERENCES programs (id),
    domain          text NOT NULL,
    status          text NOT NULL CHECK (status IN ('draft', 'active', 'retired')),
    current_version integer NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE item_versions (
    id         uuid PRIMARY KEY,
    item_id    uuid NOT NULL REFERENCES items (id),
    version    integer NOT NULL,
    stem       text NOT NULL,
    exhibit    text NOT NULL DEFAULT '',
    options    text NOT NULL,
    answer_key text NOT NULL,
    rationale  text NOT NULL DEFAULT '',
    author_id  uuid REFERENCES users (id),
    created_at timestamptz NOT NULL,
    UNIQUE (item_id, version)
);

CREATE TABLE exams (
    id               uuid PRIMARY KEY,
    program_id       uuid NOT NULL REFERENCES programs (id),
    slug             text NOT NULL,
    title            text NOT NULL,
    description      text NOT NULL DEFAULT '',
    duration_seconds integer NOT NULL CHECK (duration_seconds > 0),
    achievement_id   uuid,
    created_at       timestamptz NOT NULL,
    UNIQUE (program_id, slug)
);

CREATE TABLE exam_domains (
    exam_id     uuid NOT NULL REFERENCES exams (id) ON DELETE CASCADE,
    code        text NOT NULL,
    position    integer NOT NULL,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    skill       text NOT NULL DEFAULT '',
    PRIMARY KEY (exam_id, code)
);

CREATE TABLE exam_items (
    exam_id  uuid NOT NULL REFERENCES exams (id) ON DELETE CASCADE,
    item_id  uuid NOT NULL REFERENCES items (id),
    position integer NOT NULL,
    PRIMARY KEY (exam_id, item_id)
);

CREATE TABLE studies (
    id         uuid PRIMARY KEY,
    exam_id    uuid NOT NULL REFERENCES exams (id),
    method     text NOT NULL,
    title      text NOT NULL,
    created_by uuid REFERENCES users (id),
    created_at timestamptz NOT NULL
);

CREATE TABLE study_panelists (
    id            uuid PRIMARY KEY,
    study_id      uuid NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    name          text NOT NULL,
    qualification text NOT NULL DEFAULT ''
);

CREATE TABLE ratings (
    study_id    uuid NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    panelist_id uuid NOT NULL REFERENCES study_panelists (id) ON DELETE CASCADE,
    item_id     uuid NOT NULL REFERENCES items (id),
    round       integer NOT NULL,
    rating      double precision NOT NULL CHECK (rating >= 0 AND rating <= 1),
    PRIMARY KEY (study_id, panelist_id, item_id, round)
);

CREATE TABLE standards (
    id                   uuid PRIMARY KEY,
    exam_id              uuid NOT NULL REFERENCES exams (id),
    version              integer NOT NULL,
    study_id             uuid REFERENCES studies (id),
    method               text NOT NULL,
    panelists            integer NOT NULL,
    cut                  double precision NOT NULL,
    max_score            double precision NOT NULL,
    cut_se               double precision NOT NULL,
    reliability          double precision NOT NULL,
    decision_consistency double precision NOT NULL,
    status               text NOT NULL CHECK (status IN ('proposed', 'approved', 'superseded')),
    proposed_by          uuid REFERENCES users (id),
    approved_by          uuid REFERENCES users (id),
    approved_at          timestamptz,
    created_at           timestamptz NOT NULL,
    UNIQUE (exam_id, version)
);
CREATE UNIQUE INDEX standards_one_approved ON standards (exam_id) WHERE status = 'approved';

CREATE TABLE attempts (
    id               uuid PRIMARY KEY,
    exam_id          uuid NOT NULL REFERENCES exams (id),
    candidate_id     uuid NOT NULL REFERENCES users (id),
    status           text NOT NULL CHECK (status IN ('in_progress', 'submitted')),
    started_at       timestamptz NOT NULL,
    deadline         timestamptz NOT NULL,
    submitted_at     timestamptz,
    submitted_by     text NOT NULL DEFAULT '',
    score            double precision,
    max_score        double precision,
    passed           boolean,
    standard_id      uuid REFERENCES standards (id),
    standard_version integer,
    domain_scores    text NOT NULL DEFAULT '',
    credential_id    uuid,
    simulated        boolean NOT NULL DEFAULT false
);
CREATE INDEX attempts_exam ON attempts (exam_id, status);
CREATE INDEX attempts_candidate ON attempts (candidate_id);

CREATE TABLE responses (
    attempt_id      uuid NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    position        integer NOT NULL,
    item_id         uuid NOT NULL REFERENCES items (id),
    item_version_id uuid NOT NULL REFERENCES item_versions (id),
    domain          text NOT NULL,
    answer          text,
    flagged         boolean NOT NULL DEFAULT false,
    correct         boolean,
    answered_at     timestamptz,
    PRIMARY KEY (attempt_id, position)
);
CREATE INDEX responses_item ON responses (item_id);

CREATE TABLE proctor_events (
    id          bigserial PRIMARY KEY,
    attempt_id  uuid NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    client_at   timestamptz,
    received_at timestamptz NOT NULL
);
CREATE INDEX proctor_events_attempt ON proctor_events (attempt_id, id);

CREATE TABLE issuers (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    url         text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);

CREATE TABLE issuer_keys (
    id                   text PRIMARY KEY,
    issuer_id            uuid NOT NULL REFERENCES issuers (id),
    public_key_multibase text NOT NULL,
    created_at           timestamptz NOT NULL,
    retired_at           timestamptz
);

CREATE TABLE achievements (
    id               uuid PRIMARY KEY,
    issuer_id        uuid NOT NULL REFERENCES issuers (id),
    slug             text NOT NULL UNIQUE,
    name             text NOT NULL,
    description      text NOT NULL,
    criteria         text NOT NULL,
    achievement_type text NOT NULL,
    alignments       text NOT NULL DEFAULT '[]',
    created_at       timestamptz NOT NULL
);

CREATE TABLE pathways (
    id             uuid PRIMARY KEY,
    achievement_id uuid NOT NULL UNIQUE REFERENCES achievements (id),
    created_at     timestamptz NOT NULL
);

CREATE TABLE pathway_requirements (
    pathway_id     uuid NOT NULL REFERENCES pathways (id) ON DELETE CASCADE,
    achievement_id uuid NOT NULL REFERENCES achievements (id),
    PRIMARY KEY (pathway_id, achievement_id)
);

CREATE TABLE credentials (
    id                uuid PRIMARY KEY,
    issuance_key      text NOT NULL UNIQUE,
    achievement_id    uuid NOT NULL REFERENCES achievements (id),
    recipient_id      uuid NOT NULL REFERENCES users (id),
    document          text NOT NULL,
    issued_at         timestamptz NOT NULL,
    revoked_at        timestamptz,
    revocation_reason text NOT NULL DEFAULT ''
);
CREATE INDEX credentials_recipient ON credentials (recipient_id);

CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY,
    at        timestamptz NOT NULL,
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
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TRIGGER audit_log_no_update ON audit_log;
DROP FUNCTION audit_log_append_only();
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
