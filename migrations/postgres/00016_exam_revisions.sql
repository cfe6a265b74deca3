-- +goose Up
-- An exam is its row and the rows of six tables beside it (blueprint,
-- pool, prerequisites, forms, their sections and items). Every candidate
-- request that needs the exam read all of them; a server now keeps them in
-- memory, checked against the exam's revision: a token that any change to
-- those six tables replaces, whatever the code path or the instance that
-- made it. A new token is random, so that a rolled-back change never
-- leaves behind a token that a later change could reuse. The table is
-- derived: backups leave it out, and a restore's inserts fill it.

CREATE TABLE exam_revisions (
    exam_id  uuid PRIMARY KEY,
    revision text NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION exam_revise() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
BEGIN
    IF TG_ARGV[0] = 'form_id' THEN
        INSERT INTO exam_revisions (exam_id, revision)
        SELECT exam_id, gen_random_uuid()::text FROM exam_forms WHERE id = (changed->>'form_id')::uuid
        ON CONFLICT (exam_id) DO UPDATE SET revision = EXCLUDED.revision;
    ELSE
        INSERT INTO exam_revisions (exam_id, revision) VALUES ((changed->>'exam_id')::uuid, gen_random_uuid()::text)
        ON CONFLICT (exam_id) DO UPDATE SET revision = EXCLUDED.revision;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER exam_domains_revise AFTER INSERT OR UPDATE OR DELETE ON exam_domains
    FOR EACH ROW EXECUTE FUNCTION exam_revise('exam_id');
CREATE TRIGGER exam_items_revise AFTER INSERT OR UPDATE OR DELETE ON exam_items
    FOR EACH ROW EXECUTE FUNCTION exam_revise('exam_id');
CREATE TRIGGER exam_prerequisites_revise AFTER INSERT OR UPDATE OR DELETE ON exam_prerequisites
    FOR EACH ROW EXECUTE FUNCTION exam_revise('exam_id');
CREATE TRIGGER exam_forms_revise AFTER INSERT OR UPDATE OR DELETE ON exam_forms
    FOR EACH ROW EXECUTE FUNCTION exam_revise('exam_id');
CREATE TRIGGER exam_form_sections_revise AFTER INSERT OR UPDATE OR DELETE ON exam_form_sections
    FOR EACH ROW EXECUTE FUNCTION exam_revise('form_id');
CREATE TRIGGER exam_form_items_revise AFTER INSERT OR UPDATE OR DELETE ON exam_form_items
    FOR EACH ROW EXECUTE FUNCTION exam_revise('form_id');

-- +goose Down
DROP TRIGGER exam_form_items_revise ON exam_form_items;
DROP TRIGGER exam_form_sections_revise ON exam_form_sections;
DROP TRIGGER exam_forms_revise ON exam_forms;
DROP TRIGGER exam_prerequisites_revise ON exam_prerequisites;
DROP TRIGGER exam_items_revise ON exam_items;
DROP TRIGGER exam_domains_revise ON exam_domains;
DROP FUNCTION exam_revise();
DROP TABLE exam_revisions;
