-- +goose Up
-- Scoring a submit reads each response's item version in full, with the
-- item's IRT parameters: every column of 24 versions and items for a
-- 24-item exam, a third of a submit's time. A server now remembers what
-- scoring needs of a version, checked against the item's revision: a
-- random token that any change to one of its versions (a rekey, an edit of
-- a draft) or to its IRT parameters replaces. Delivery counts do not
-- change it. Like exam_revisions, the table is derived: backups leave it
-- out.

CREATE TABLE item_revisions (
    item_id  text PRIMARY KEY NOT NULL,
    revision text NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER item_versions_revise AFTER UPDATE ON item_versions BEGIN
    INSERT OR REPLACE INTO item_revisions (item_id, revision) VALUES (NEW.item_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER items_revise AFTER UPDATE OF irt_model, irt_a, irt_b, irt_c, calibrated_at, calibration_n ON items BEGIN
    INSERT OR REPLACE INTO item_revisions (item_id, revision) VALUES (NEW.id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER items_revise;
DROP TRIGGER item_versions_revise;
DROP TABLE item_revisions;
