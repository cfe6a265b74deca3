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
    item_id  uuid PRIMARY KEY,
    revision text NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION item_revise() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO item_revisions (item_id, revision) VALUES ((to_jsonb(NEW)->>TG_ARGV[0])::uuid, gen_random_uuid()::text)
    ON CONFLICT (item_id) DO UPDATE SET revision = EXCLUDED.revision;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER item_versions_revise AFTER UPDATE ON item_versions
    FOR EACH ROW EXECUTE FUNCTION item_revise('item_id');
CREATE TRIGGER items_revise AFTER UPDATE OF program_id, domain, kind, status, current_version, published_version, irt_model, irt_a, irt_b, irt_c, calibrated_at, calibration_n ON items
    FOR EACH ROW EXECUTE FUNCTION item_revise('id');

-- +goose Down
DROP TRIGGER items_revise ON items;
DROP TRIGGER item_versions_revise ON item_versions;
DROP FUNCTION item_revise();
DROP TABLE item_revisions;
