-- +goose Up
-- A webcam frame is kept in its record, written by the statement that
-- records it and appends its findings to the attempt's chain: one commit
-- for the image and its record, where a file of its own cost a create,
-- two fsyncs and a rename. blob_key is '' for such a frame; check-in
-- photos stay in the blob store. Retention clears image.
ALTER TABLE proctor_snapshots ADD COLUMN image bytea;
-- JPEG and PNG do not compress: store them out of line as they are.
ALTER TABLE proctor_snapshots ALTER COLUMN image SET STORAGE EXTERNAL;

-- Webcam frames, nearly every row, have no check-in: leave them out of
-- the check-in index.
DROP INDEX proctor_snapshots_checkin;
CREATE INDEX proctor_snapshots_checkin ON proctor_snapshots (checkin_id) WHERE checkin_id IS NOT NULL;

-- +goose Down
DROP INDEX proctor_snapshots_checkin;
CREATE INDEX proctor_snapshots_checkin ON proctor_snapshots (checkin_id);
ALTER TABLE proctor_snapshots DROP COLUMN image;
