-- +goose Up
-- Item versions keep their whole content as JSON, so every item kind keeps
-- its key (keys, numeric tolerance, accepted answers, pairs), its weight and
-- its tags. The older columns stay filled for single-choice items.
ALTER TABLE item_versions ADD COLUMN content text;
-- The latest IRT parameters of an item (set by a calibration) and how often
-- it has been delivered, for adaptive and on-the-fly delivery.
ALTER TABLE items ADD COLUMN irt_model text NOT NULL DEFAULT '' CHECK (irt_model IN ('', '1PL', '2PL', '3PL', 'Rasch'));
ALTER TABLE items ADD COLUMN irt_a real;
ALTER TABLE items ADD COLUMN irt_b real;
ALTER TABLE items ADD COLUMN irt_c real;
ALTER TABLE items ADD COLUMN calibrated_at datetime;
ALTER TABLE items ADD COLUMN calibration_n integer NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN exposure_count integer NOT NULL DEFAULT 0 CHECK (exposure_count >= 0);
-- Enemy items never appear on one form; a pair is stored once, smaller id first.
CREATE TABLE item_enemies (
    item_id  text NOT NULL REFERENCES items (id),
    enemy_id text NOT NULL REFERENCES items (id),
    PRIMARY KEY (item_id, enemy_id),
    CHECK (item_id < enemy_id)
);
CREATE INDEX item_enemies_enemy ON item_enemies (enemy_id);

-- +goose Down
DROP TABLE item_enemies;
ALTER TABLE items DROP COLUMN exposure_count;
ALTER TABLE items DROP COLUMN calibration_n;
ALTER TABLE items DROP COLUMN calibrated_at;
ALTER TABLE items DROP COLUMN irt_c;
ALTER TABLE items DROP COLUMN irt_b;
ALTER TABLE items DROP COLUMN irt_a;
ALTER TABLE items DROP COLUMN irt_model;
ALTER TABLE item_versions DROP COLUMN content;
