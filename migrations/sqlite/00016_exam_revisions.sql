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
    exam_id  text PRIMARY KEY NOT NULL,
    revision text NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER exam_domains_revise_insert AFTER INSERT ON exam_domains BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (NEW.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_domains_revise_update AFTER UPDATE ON exam_domains BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (NEW.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_domains_revise_delete AFTER DELETE ON exam_domains BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (OLD.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_items_revise_insert AFTER INSERT ON exam_items BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (NEW.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_items_revise_update AFTER UPDATE ON exam_items BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (NEW.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_items_revise_delete AFTER DELETE ON exam_items BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (OLD.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_prerequisites_revise_insert AFTER INSERT ON exam_prerequisites BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (NEW.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_prerequisites_revise_update AFTER UPDATE ON exam_prerequisites BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (NEW.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_prerequisites_revise_delete AFTER DELETE ON exam_prerequisites BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (OLD.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_forms_revise_insert AFTER INSERT ON exam_forms BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (NEW.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_forms_revise_update AFTER UPDATE ON exam_forms BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (NEW.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_forms_revise_delete AFTER DELETE ON exam_forms BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision) VALUES (OLD.exam_id, lower(hex(randomblob(16))));
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_form_sections_revise_insert AFTER INSERT ON exam_form_sections BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision)
    SELECT exam_id, lower(hex(randomblob(16))) FROM exam_forms WHERE id = NEW.form_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_form_sections_revise_update AFTER UPDATE ON exam_form_sections BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision)
    SELECT exam_id, lower(hex(randomblob(16))) FROM exam_forms WHERE id = NEW.form_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_form_sections_revise_delete AFTER DELETE ON exam_form_sections BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision)
    SELECT exam_id, lower(hex(randomblob(16))) FROM exam_forms WHERE id = OLD.form_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_form_items_revise_insert AFTER INSERT ON exam_form_items BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision)
    SELECT exam_id, lower(hex(randomblob(16))) FROM exam_forms WHERE id = NEW.form_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_form_items_revise_update AFTER UPDATE ON exam_form_items BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision)
    SELECT exam_id, lower(hex(randomblob(16))) FROM exam_forms WHERE id = NEW.form_id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER exam_form_items_revise_delete AFTER DELETE ON exam_form_items BEGIN
    INSERT OR REPLACE INTO exam_revisions (exam_id, revision)
    SELECT exam_id, lower(hex(randomblob(16))) FROM exam_forms WHERE id = OLD.form_id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER exam_form_items_revise_delete;
DROP TRIGGER exam_form_items_revise_update;
DROP TRIGGER exam_form_items_revise_insert;
DROP TRIGGER exam_form_sections_revise_delete;
DROP TRIGGER exam_form_sections_revise_update;
DROP TRIGGER exam_form_sections_revise_insert;
DROP TRIGGER exam_forms_revise_delete;
DROP TRIGGER exam_forms_revise_update;
DROP TRIGGER exam_forms_revise_insert;
DROP TRIGGER exam_prerequisites_revise_delete;
DROP TRIGGER exam_prerequisites_revise_update;
DROP TRIGGER exam_prerequisites_revise_insert;
DROP TRIGGER exam_items_revise_delete;
DROP TRIGGER exam_items_revise_update;
DROP TRIGGER exam_items_revise_insert;
DROP TRIGGER exam_domains_revise_delete;
DROP TRIGGER exam_domains_revise_update;
DROP TRIGGER exam_domains_revise_insert;
DROP TABLE exam_revisions;
