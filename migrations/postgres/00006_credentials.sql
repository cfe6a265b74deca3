-- +goose Up
-- Credentials at production depth: RSA keys beside Ed25519 for VC-JWT,
-- achievement design and validity, bitstring status lists (revocation and
-- suspension), expiry, renewal and re-issue links, recipient-controlled
-- visibility, and pathway rules beyond "all of".

ALTER TABLE issuer_keys ADD COLUMN algorithm text NOT NULL DEFAULT 'Ed25519';
ALTER TABLE issuer_keys ADD COLUMN public_key_jwk text NOT NULL DEFAULT '';

ALTER TABLE achievements ADD COLUMN level text NOT NULL DEFAULT '';
ALTER TABLE achievements ADD COLUMN color text NOT NULL DEFAULT '';
ALTER TABLE achievements ADD COLUMN validity_days integer NOT NULL DEFAULT 0;
ALTER TABLE achievements ADD COLUMN updated_at timestamptz;

ALTER TABLE pathways ADD COLUMN rule text NOT NULL DEFAULT '';

-- What a credential says of its standard: classification accuracy and the
-- conditional SEM at the cut, estimated when the standard is proposed.
ALTER TABLE standards ADD COLUMN classification_accuracy double precision;
ALTER TABLE standards ADD COLUMN csem_at_cut double precision;

CREATE TABLE status_lists (
    id         uuid PRIMARY KEY,
    issuer_id  uuid NOT NULL REFERENCES issuers (id),
    length     integer NOT NULL,
    created_at timestamptz NOT NULL
);

ALTER TABLE credentials ADD COLUMN request text NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN key_id text NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN valid_until timestamptz;
ALTER TABLE credentials ADD COLUMN status_list_id uuid REFERENCES status_lists (id);
ALTER TABLE credentials ADD COLUMN status_index integer;
ALTER TABLE credentials ADD COLUMN suspended_at timestamptz;
ALTER TABLE credentials ADD COLUMN suspension_reason text NOT NULL DEFAULT '';
ALTER TABLE credentials ADD COLUMN supersedes uuid REFERENCES credentials (id);
ALTER TABLE credentials ADD COLUMN public boolean NOT NULL DEFAULT false;
-- An index is used once per list: the revocation and suspension lists
-- share it, so one credential has one position in both.
CREATE UNIQUE INDEX credentials_status ON credentials (status_list_id, status_index);

-- +goose Down
DROP INDEX credentials_status;
ALTER TABLE credentials DROP COLUMN public;
ALTER TABLE credentials DROP COLUMN supersedes;
ALTER TABLE credentials DROP COLUMN suspension_reason;
ALTER TABLE credentials DROP COLUMN suspended_at;
ALTER TABLE credentials DROP COLUMN status_index;
ALTER TABLE credentials DROP COLUMN status_list_id;
ALTER TABLE credentials DROP COLUMN valid_until;
ALTER TABLE credentials DROP COLUMN key_id;
ALTER TABLE credentials DROP COLUMN request;
DROP TABLE status_lists;
ALTER TABLE standards DROP COLUMN csem_at_cut;
ALTER TABLE standards DROP COLUMN classification_accuracy;
ALTER TABLE pathways DROP COLUMN rule;
ALTER TABLE achievements DROP COLUMN updated_at;
ALTER TABLE achievements DROP COLUMN validity_days;
ALTER TABLE achievements DROP COLUMN color;
ALTER TABLE achievements DROP COLUMN level;
ALTER TABLE issuer_keys DROP COLUMN public_key_jwk;
ALTER TABLE issuer_keys DROP COLUMN algorithm;
