-- +goose NO TRANSACTION
-- +goose Up
-- The review workflow: draft → in_review → approved, and retired. 'active'
-- was the only deliverable status before; it is now 'approved'.
--
-- SQLite cannot alter a CHECK constraint, so the items table is rebuilt the
-- way https://sqlite.org/lang_altertable.html#otheralter prescribes: foreign
-- keys off (a pragma that does nothing inside a transaction, hence NO
-- TRANSACTION: goose runs these statements on one connection), then one
-- transaction that copies, drops and renames. The tables that reference
-- items name it, so they point at the new table once it is renamed.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE items_new (
    id                text PRIMARY KEY,
    program_id        text NOT NULL REFERENCES programs (id),
    domain            text NOT NULL,
    status            text NOT NULL CHECK (status IN ('draft', 'in_review', 'approved', 'retired')),
    current_version   integer NOT NULL,
    created_at        datetime NOT NULL,
    updated_at        datetime NOT NULL,
    irt_model         text NOT NULL DEFAULT '' CHECK (irt_model IN ('', '1PL', '2PL', '3PL', 'Rasch')),
    irt_a             real,
    irt_b             real,
    irt_c             real,
    calibrated_at     datetime,
    calibration_n     integer NOT NULL DEFAULT 0,
    exposure_count    integer NOT NULL DEFAULT 0 CHECK (exposure_count >= 0),
    -- The last approved version, the one delivered to candidates while a
    -- newer working version (current_version) is edited or reviewed.
    published_version integer CHECK (published_version IS NULL OR (published_version >= 1 AND published_version <= current_version)),
    -- The kind of the working version, so the bank can be filtered by kind.
    kind              text NOT NULL DEFAULT 'single_choice'
);
INSERT INTO items_new (id, program_id, domain, status, current_version, created_at, updated_at, irt_model, irt_a, irt_b, irt_c,
        calibrated_at, calibration_n, exposure_count, published_version, kind)
    SELECT i.id, i.program_id, i.domain,
           CASE i.status WHEN 'active' THEN 'approved' ELSE i.status END,
           i.current_version, i.created_at, i.updated_at, i.irt_model, i.irt_a, i.irt_b, i.irt_c,
           i.calibrated_at, i.calibration_n, i.exposure_count,
           CASE WHEN i.status IN ('active', 'retired') THEN i.current_version END,
           COALESCE((SELECT NULLIF(json_extract(v.content, '$.kind'), '') FROM item_versions v
                     WHERE v.item_id = i.id AND v.version = i.current_version), 'single_choice')
    FROM items i;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
CREATE INDEX items_program_status ON items (program_id, status, updated_at);
-- Who approved a version, and when; NULL for versions never approved.
ALTER TABLE item_versions ADD COLUMN approved_by text REFERENCES users (id);
ALTER TABLE item_versions ADD COLUMN approved_at datetime;
CREATE INDEX item_versions_author ON item_versions (author_id);
-- Review comments, on an item or on one of its versions.
CREATE TABLE item_comments (
    id         text PRIMARY KEY,
    item_id    text NOT NULL REFERENCES items (id),
    version    integer CHECK (version IS NULL OR version >= 1),
    author_id  text REFERENCES users (id),
    body       text NOT NULL CHECK (body <> ''),
    created_at datetime NOT NULL
);
CREATE INDEX item_comments_item ON item_comments (item_id, created_at);
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP TABLE item_comments;
DROP INDEX item_versions_author;
-- approved_by is in a foreign key, which SQLite's DROP COLUMN refuses.
CREATE TABLE item_versions_old (
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
    content    text,
    UNIQUE (item_id, version)
);
INSERT INTO item_versions_old (id, item_id, version, stem, exhibit, options, answer_key, rationale, author_id, created_at, content)
    SELECT id, item_id, version, stem, exhibit, options, answer_key, rationale, author_id, created_at, content FROM item_versions;
DROP TABLE item_versions;
ALTER TABLE item_versions_old RENAME TO item_versions;
CREATE TABLE items_old (
    id              text PRIMARY KEY,
    program_id      text NOT NULL REFERENCES programs (id),
    domain          text NOT NULL,
    status          text NOT NULL CHECK (status IN ('draft', 'active', 'retired')),
    current_version integer NOT NULL,
    created_at      datetime NOT NULL,
    updated_at      datetime NOT NULL,
    irt_model       text NOT NULL DEFAULT '' CHECK (irt_model IN ('', '1PL', '2PL', '3PL', 'Rasch')),
    irt_a           real,
    irt_b           real,
    irt_c           real,
    calibrated_at   datetime,
    calibration_n   integer NOT NULL DEFAULT 0,
    exposure_count  integer NOT NULL DEFAULT 0 CHECK (exposure_count >= 0)
);
INSERT INTO items_old (id, program_id, domain, status, current_version, created_at, updated_at, irt_model, irt_a, irt_b, irt_c,
        calibrated_at, calibration_n, exposure_count)
    SELECT id, program_id, domain, CASE status WHEN 'approved' THEN 'active' WHEN 'in_review' THEN 'draft' ELSE status END,
           current_version, created_at, updated_at, irt_model, irt_a, irt_b, irt_c, calibrated_at, calibration_n, exposure_count
    FROM items;
DROP TABLE items;
ALTER TABLE items_old RENAME TO items;
COMMIT;
PRAGMA foreign_keys = ON;
