-- +goose Up
-- A start of an exam with forms gives the candidate the least-used form,
-- and counted every attempt of the exam by form to find it: the more
-- candidates had started, the dearer each start. A trigger now counts each
-- form's attempts as they are inserted, in the inserting transaction. The
-- table is derived from attempts: backups leave it out, and a restore's
-- inserts count again.

CREATE TABLE form_deliveries (
    form_id   uuid PRIMARY KEY,
    delivered bigint NOT NULL
);

INSERT INTO form_deliveries (form_id, delivered)
SELECT form_id, count(*) FROM attempts WHERE form_id IS NOT NULL GROUP BY form_id;

-- +goose StatementBegin
CREATE FUNCTION form_delivered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO form_deliveries (form_id, delivered) VALUES (NEW.form_id, 1)
    ON CONFLICT (form_id) DO UPDATE SET delivered = form_deliveries.delivered + 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER attempts_form_delivered AFTER INSERT ON attempts
    FOR EACH ROW WHEN (NEW.form_id IS NOT NULL) EXECUTE FUNCTION form_delivered();

-- +goose Down
DROP TRIGGER attempts_form_delivered ON attempts;
DROP FUNCTION form_delivered();
DROP TABLE form_deliveries;
