-- +goose Up
-- Sessions end after an idle period as well as at their absolute expiry:
-- the time a session was last used, recorded at most once a minute. Older
-- sessions have none until their next use, which starts their idle clock.

ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz;

-- +goose Down
ALTER TABLE sessions DROP COLUMN last_seen_at;
