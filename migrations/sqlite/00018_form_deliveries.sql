-- +goose Up
-- A start of an exam with forms gives the candidate the least-used form,
-- and counted every attempt of the exam by form to find it: the more
-- candidates had started, the dearer each start. A trigger now counts each
-- form's attempts as they are inserted, in the inserting transaction. The
-- table is derived from attempts: backups leave it out, and a restore's
-- inserts count again.

CREATE TABLE form_deliveries (
    form_id   text PRIMARY KEY NOT NULL,
    delivered integer NOT NULL
);

INSERT INTO form_deliveries (form_id, delivered)
SELECT form_id, count(*) FROM attempts WHERE form_id IS NOT NULL GROUP BY form_id;

-- +goose StatementBegin
CREATE TRIGGER attempts_form_delivered AFTER INSERT ON attempts WHEN NEW.form_id IS NOT NULL BEGIN
    INSERT INTO form_deliveries (form_id, delivered) VALUES (NEW.form_id, 1)
    ON CONFLICT (form_id) DO UPDATE SET delivered = delivered + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER attempts_form_delivered;
DROP TABLE form_deliveries;
