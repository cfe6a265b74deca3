-- +goose Up
-- A start reads each item of the form at its published version, and a
-- submit each response's version with the item's IRT parameters: every
-- column of 24 versions and items for a 24-item exam, a third of a
-- submit's time. A server now remembers them, checked against the item's
-- revision: a random token that any change to one of its versions (a
-- rekey, an edit of a draft) or to a column of its row replaces, but for
-- its delivery count and timestamps. A column added to items later that
-- changes what a read of an item gives must join the list below. Like
-- exam_revisions, the table is derived: backups leave it out.

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
CREATE TRIGGER items_revise AFTER UPDATE OF program_id, domain, kind, status, current_version, published_version, irt_model, irt_a, irt_b, irt_c, calibrated_at, calibration_n ON items BEGIN
    INSERT OR REPLACE INTO item_revisions (item_id, revision) VALUES (NEW.id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER items_revise;
DROP TRIGGER item_versions_revise;
DROP TABLE item_revisions;
