-- Checkpoints of the audit chain, attested under a key the database never sees.
--
-- The chain finds a row changed after it was written, but not a tail rewritten with every hash
-- recomputed: anyone who can write the table past its triggers (the schema's owner, a superuser,
-- whoever holds a copy of the disk) can recompute SHA-256 too. So the logic tier checks the
-- chain's newest rows every minute and records the head it checked: its id, its hash, and an
-- HMAC of both under a key derived from the server key (`BANK_SECRETS_KEY_FILE`, a file the
-- logic tier alone reads). A rewrite of any record a checkpoint covers now contradicts that
-- checkpoint, and a checkpoint made up to match the rewrite fails its HMAC. Removing the newer
-- checkpoints as well leaves the verifier reporting the chain anchored only up to an older
-- record, at an older time; every checkpoint is also written to the logic tier's log, off this
-- database.
--
-- A record may have several checkpoints: a writer without the key can add one that fails its
-- HMAC (the verifier reports it) but cannot take a record's place from the logic tier's own.
-- Each logic instance also keeps the newest record it vouched for in a file of its own
-- (`BANK_AUDIT_ANCHOR_FILE`), off this database, and checks the chain onwards from there: so a
-- rewrite of the chain with every checkpoint removed is not vouched for afresh from its start.
CREATE TABLE audit_checkpoints (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    audit_id   bigint      NOT NULL CHECK (audit_id > 0),
    audit_hash bytea       NOT NULL CHECK (length(audit_hash) = 32),
    mac        bytea       NOT NULL CHECK (length(mac) = 32),
    taken_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (audit_id, mac)
);
CREATE INDEX audit_checkpoints_in_order ON audit_checkpoints (audit_id, id);

CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

COMMENT ON TABLE audit_checkpoints IS
    'the audit chain''s head as the logic tier checked it, with an HMAC under its server key';

GRANT SELECT ON audit_checkpoints TO bank_runtime;
GRANT INSERT (audit_id, audit_hash, mac) ON audit_checkpoints TO bank_runtime;

-- The chain's records have positive ids, as its sequence draws them: a record planted below the
-- first, where a reader starting after 0 would not look, is refused (and the verifier reads
-- from the first row whatever its id).
ALTER TABLE audit_log ADD CONSTRAINT audit_log_id_positive CHECK (id > 0);
