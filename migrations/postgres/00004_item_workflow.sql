-- +goose Up
-- The review workflow: draft → in_review → approved, and retired. 'active'
-- was the only deliverable status before; it is now 'approved'.
ALTER TABLE items DROP CONSTRAINT items_status_check;
UPDATE items SET status = 'approved' WHERE status = 'active';
ALTER TABLE items ADD CONSTRAINT items_status_check CHECK (status IN ('draft', 'in_review', 'approved', 'retired'));
-- The last approved version, the one delivered to candidates while a newer
-- working version (current_version) is edited or reviewed. NULL until the
-- first approval. Every item that was active or retired had been published
-- at its current version.
ALTER TABLE items ADD COLUMN published_version integer;
UPDATE items SET published_version = current_version WHERE status IN ('approved', 'retired');
ALTER TABLE items ADD CONSTRAINT items_published_version_check
    CHECK (published_version IS NULL OR (published_version >= 1 AND published_version <= current_version));
-- The kind of the working version, so the bank can be filtered by kind.
ALTER TABLE items ADD COLUMN kind text NOT NULL DEFAULT 'single_choice';
UPDATE items SET kind = v.content->>'kind'
    FROM item_versions v
    WHERE v.item_id = items.id AND v.version = items.current_version AND COALESCE(v.content->>'kind', '') <> '';
CREATE INDEX items_program_status ON items (program_id, status, updated_at);
-- Who approved a version, and when; NULL for versions never approved.
ALTER TABLE item_versions ADD COLUMN approved_by uuid REFERENCES users (id);
ALTER TABLE item_versions ADD COLUMN approved_at timestamptz;
CREATE INDEX item_versions_author ON item_versions (author_id);
-- Review comments, on an item or on one of its versions.
CREATE TABLE item_comments (
    id         uuid PRIMARY KEY,
    item_id    uuid NOT NULL REFERENCES items (id),
    version    integer CHECK (version IS NULL OR version >= 1),
    author_id  uuid REFERENCES users (id),
    body       text NOT NULL CHECK (body <> ''),
    created_at timestamptz NOT NULL
);
CREATE INDEX item_comments_item ON item_comments (item_id, created_at);

-- +goose Down
DROP TABLE item_comments;
DROP INDEX item_versions_author;
ALTER TABLE item_versions DROP COLUMN approved_at;
ALTER TABLE item_versions DROP COLUMN approved_by;
DROP INDEX items_program_status;
ALTER TABLE items DROP COLUMN kind;
ALTER TABLE items DROP CONSTRAINT items_published_version_check;
ALTER TABLE items DROP COLUMN published_version;
ALTER TABLE items DROP CONSTRAINT items_status_check;
UPDATE items SET status = 'active' WHERE status = 'approved';
UPDATE items SET status = 'draft' WHERE status = 'in_review';
ALTER TABLE items ADD CONSTRAINT items_status_check CHECK (status IN ('draft', 'active', 'retired'));
