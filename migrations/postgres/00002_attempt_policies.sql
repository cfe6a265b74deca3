-- +goose Up
-- Attempt policies: how often and when a candidate may sit an exam.
ALTER TABLE exams ADD COLUMN max_attempts integer NOT NULL DEFAULT 0 CHECK (max_attempts >= 0);
ALTER TABLE exams ADD COLUMN retake_wait_seconds integer NOT NULL DEFAULT 0 CHECK (retake_wait_seconds >= 0);
ALTER TABLE exams ADD COLUMN opens_at timestamptz;
ALTER TABLE exams ADD COLUMN closes_at timestamptz;

-- +goose Down
ALTER TABLE exams DROP COLUMN closes_at;
ALTER TABLE exams DROP COLUMN opens_at;
ALTER TABLE exams DROP COLUMN retake_wait_seconds;
ALTER TABLE exams DROP COLUMN max_attempts;
