-- +goose Up
-- Delivery engine: answers of every item kind, idempotent saves, forms,
-- adaptive and on-the-fly modes, accommodations, breaks, reporting scales
-- and prerequisites.

-- An exam is delivered as fixed forms (or its whole pool), as a form
-- assembled per candidate (loft) or adaptively (cat). settings holds the
-- mode's settings and the reporting scale as JSON (assess.examSettings).
ALTER TABLE exams ADD COLUMN mode text NOT NULL DEFAULT 'fixed' CHECK (mode IN ('fixed', 'loft', 'cat'));
ALTER TABLE exams ADD COLUMN instructions text NOT NULL DEFAULT '';
ALTER TABLE exams ADD COLUMN different_form_on_retake boolean NOT NULL DEFAULT false;
ALTER TABLE exams ADD COLUMN settings text NOT NULL DEFAULT '{}';

-- A blueprint domain asks for an item count (fixed forms, LOFT) or a
-- weight (CAT content balancing).
ALTER TABLE exam_domains ADD COLUMN item_count integer NOT NULL DEFAULT 0 CHECK (item_count >= 0);
ALTER TABLE exam_domains ADD COLUMN weight double precision NOT NULL DEFAULT 0 CHECK (weight >= 0);

-- Achievements a candidate must hold to start an exam.
CREATE TABLE exam_prerequisites (
    exam_id        uuid NOT NULL REFERENCES exams (id) ON DELETE CASCADE,
    achievement_id uuid NOT NULL,
    PRIMARY KEY (exam_id, achievement_id)
);

-- Named fixed forms of an exam: ordered items in titled sections; pretest
-- items are delivered but not scored.
CREATE TABLE exam_forms (
    id         uuid PRIMARY KEY,
    exam_id    uuid NOT NULL REFERENCES exams (id) ON DELETE CASCADE,
    name       text NOT NULL,
    position   integer NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (exam_id, name)
);
CREATE TABLE exam_form_sections (
    form_id      uuid NOT NULL REFERENCES exam_forms (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    title        text NOT NULL,
    instructions text NOT NULL DEFAULT '',
    PRIMARY KEY (form_id, position)
);
CREATE TABLE exam_form_items (
    form_id  uuid NOT NULL REFERENCES exam_forms (id) ON DELETE CASCADE,
    position integer NOT NULL,
    item_id  uuid NOT NULL REFERENCES items (id),
    section  integer NOT NULL DEFAULT 0,
    pretest  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (form_id, position),
    UNIQUE (form_id, item_id)
);

-- Accommodations a program manager grants a candidate for an exam.
CREATE TABLE accommodations (
    exam_id             uuid NOT NULL REFERENCES exams (id) ON DELETE CASCADE,
    candidate_id        uuid NOT NULL REFERENCES users (id),
    time_multiplier     double precision NOT NULL DEFAULT 1 CHECK (time_multiplier >= 1 AND time_multiplier <= 4),
    extra_break_minutes integer NOT NULL DEFAULT 0 CHECK (extra_break_minutes >= 0),
    note                text NOT NULL DEFAULT '',
    granted_by          uuid REFERENCES users (id),
    granted_at          timestamptz NOT NULL,
    PRIMARY KEY (exam_id, candidate_id)
);

-- An attempt keeps its mode, the seed of its option orders, its form, the
-- accommodation it started with, its break state and its IRT and scaled
-- scores.
ALTER TABLE attempts ADD COLUMN mode text NOT NULL DEFAULT 'fixed' CHECK (mode IN ('fixed', 'loft', 'cat'));
ALTER TABLE attempts ADD COLUMN seed bigint NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN form_id uuid REFERENCES exam_forms (id);
ALTER TABLE attempts ADD COLUMN time_multiplier double precision NOT NULL DEFAULT 1;
ALTER TABLE attempts ADD COLUMN break_allowance_seconds integer NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN break_used_seconds integer NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN paused_at timestamptz;
ALTER TABLE attempts ADD COLUMN cat_done boolean NOT NULL DEFAULT false;
ALTER TABLE attempts ADD COLUMN theta double precision;
ALTER TABLE attempts ADD COLUMN theta_se double precision;
ALTER TABLE attempts ADD COLUMN scaled_score double precision;
-- The cut applied to this attempt: raw points on its form, on the θ metric
-- (CAT, calibrated LOFT) and on the reporting scale, with the scale as JSON.
ALTER TABLE attempts ADD COLUMN cut double precision;
ALTER TABLE attempts ADD COLUMN theta_cut double precision;
ALTER TABLE attempts ADD COLUMN scaled_cut double precision;
ALTER TABLE attempts ADD COLUMN scale text NOT NULL DEFAULT '';
-- One open attempt per candidate, across all exams.
CREATE UNIQUE INDEX attempts_one_open ON attempts (candidate_id) WHERE status = 'in_progress';

-- A response keeps the whole items.Answer as JSON (answer keeps the option
-- id of choice items, and is all that older rows have), the browser's
-- sequence number of the last applied change, the points earned of the
-- points possible, and whether the item counts (pretest items do not).
ALTER TABLE responses ADD COLUMN answer_json text;
ALTER TABLE responses ADD COLUMN seq bigint NOT NULL DEFAULT 0;
ALTER TABLE responses ADD COLUMN points double precision;
ALTER TABLE responses ADD COLUMN max_points double precision NOT NULL DEFAULT 1;
ALTER TABLE responses ADD COLUMN scored boolean NOT NULL DEFAULT true;
ALTER TABLE responses ADD COLUMN section text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE responses DROP COLUMN section;
ALTER TABLE responses DROP COLUMN scored;
ALTER TABLE responses DROP COLUMN max_points;
ALTER TABLE responses DROP COLUMN points;
ALTER TABLE responses DROP COLUMN seq;
ALTER TABLE responses DROP COLUMN answer_json;
DROP INDEX attempts_one_open;
ALTER TABLE attempts DROP COLUMN scale;
ALTER TABLE attempts DROP COLUMN scaled_cut;
ALTER TABLE attempts DROP COLUMN theta_cut;
ALTER TABLE attempts DROP COLUMN cut;
ALTER TABLE attempts DROP COLUMN scaled_score;
ALTER TABLE attempts DROP COLUMN theta_se;
ALTER TABLE attempts DROP COLUMN theta;
ALTER TABLE attempts DROP COLUMN cat_done;
ALTER TABLE attempts DROP COLUMN paused_at;
ALTER TABLE attempts DROP COLUMN break_used_seconds;
ALTER TABLE attempts DROP COLUMN break_allowance_seconds;
ALTER TABLE attempts DROP COLUMN time_multiplier;
ALTER TABLE attempts DROP COLUMN form_id;
ALTER TABLE attempts DROP COLUMN seed;
ALTER TABLE attempts DROP COLUMN mode;
DROP TABLE accommodations;
DROP TABLE exam_form_items;
DROP TABLE exam_form_sections;
DROP TABLE exam_forms;
DROP TABLE exam_prerequisites;
ALTER TABLE exam_domains DROP COLUMN weight;
ALTER TABLE exam_domains DROP COLUMN item_count;
ALTER TABLE exams DROP COLUMN settings;
ALTER TABLE exams DROP COLUMN different_form_on_retake;
ALTER TABLE exams DROP COLUMN instructions;
ALTER TABLE exams DROP COLUMN mode;
