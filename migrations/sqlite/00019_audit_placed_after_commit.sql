-- +goose Up
-- On PostgreSQL an audit entry is now written unplaced and placed in the
-- chain after its transaction commits; SQLite, whose writers take turns
-- anyway, places it as it is written. The table has the same columns in
-- both dialects, so that a backup of either restores into the other: the
-- entry's place in the chain (pos, = seq for the entries already written)
-- and links that may be empty until it is placed. SQLite cannot drop a NOT
-- NULL, so the table is rebuilt. The trigger refuses any UPDATE but placing
-- an entry once, its content unchanged.

CREATE TABLE audit_log_placed (
    seq       bigint PRIMARY KEY,
    at        datetime NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    subject   text NOT NULL,
    before    text NOT NULL DEFAULT '',
    after     text NOT NULL DEFAULT '',
    prev_hash text,
    hash      text,
    pos       bigint,
    CHECK ((pos IS NULL) = (hash IS NULL) AND (hash IS NULL) = (prev_hash IS NULL))
);
INSERT INTO audit_log_placed (seq, at, actor, action, subject, before, after, prev_hash, hash, pos)
SELECT seq, at, actor, action, subject, before, after, prev_hash, hash, seq FROM audit_log;
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;
DROP TABLE audit_log;
ALTER TABLE audit_log_placed RENAME TO audit_log;

CREATE UNIQUE INDEX audit_log_pos ON audit_log (pos);
CREATE INDEX audit_log_unplaced ON audit_log (seq) WHERE hash IS NULL;

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (OLD.pos IS NULL AND NEW.pos IS NOT NULL
    AND NEW.seq IS OLD.seq AND NEW.at IS OLD.at AND NEW.actor IS OLD.actor AND NEW.action IS OLD.action
    AND NEW.subject IS OLD.subject AND NEW.before IS OLD.before AND NEW.after IS OLD.after)
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose Down
-- Going down is exact only while every entry is placed in its order of
-- writing, as the older release places them.
CREATE TABLE audit_log_older (
    seq       bigint PRIMARY KEY,
    at        datetime NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    subject   text NOT NULL,
    before    text NOT NULL DEFAULT '',
    after     text NOT NULL DEFAULT '',
    prev_hash text NOT NULL,
    hash      text NOT NULL
);
INSERT INTO audit_log_older (seq, at, actor, action, subject, before, after, prev_hash, hash)
SELECT seq, at, actor, action, subject, before, after, prev_hash, hash FROM audit_log;
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;
DROP TABLE audit_log;
ALTER TABLE audit_log_older RENAME TO audit_log;

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
