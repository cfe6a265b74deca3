-- +goose Up
-- A webcam frame is kept in its record (image), written in the
-- transaction that records it; blob_key is '' for such a frame, and
-- check-in photos stay in the blob store. Retention clears image.
ALTER TABLE proctor_snapshots ADD COLUMN image blob;

-- Webcam frames, nearly every row, have no check-in.
DROP INDEX proctor_snapshots_checkin;
CREATE INDEX proctor_snapshots_checkin ON proctor_snapshots (checkin_id) WHERE checkin_id IS NOT NULL;

-- +goose Down
DROP INDEX proctor_snapshots_checkin;
CREATE INDEX proctor_snapshots_checkin ON proctor_snapshots (checkin_id);
ALTER TABLE proctor_snapshots DROP COLUMN image;
