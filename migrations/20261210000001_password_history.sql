-- The passwords a user had before: a new password may be none of the last four (as PCI DSS
-- 8.3.7 asks), so a password that leaked, and that the bank reset at the counter, cannot simply
-- be chosen again.
--
-- The database keeps the history itself: whenever a user's password changes, by whatever path
-- (their own change, a reset by staff), a trigger files the hash it replaced and keeps the
-- newest four. The trigger runs as the schema's owner and the runtime role may only read the
-- history, so the tier that checks a new password against it can neither forget a password
-- nor plant one.

CREATE TABLE password_history (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash text        NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    replaced_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_history_user_idx ON password_history (user_id, id DESC);

CREATE FUNCTION users_password_replaced() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    -- A service account's '!' is no password anyone had.
    IF OLD.password_hash LIKE '$argon2id$%' THEN
        INSERT INTO password_history (user_id, password_hash)
        VALUES (OLD.id, OLD.password_hash);
        DELETE FROM password_history
         WHERE user_id = OLD.id
           AND id < (SELECT min(id) FROM (SELECT id FROM password_history
                                           WHERE user_id = OLD.id
                                           ORDER BY id DESC LIMIT 4) newest);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER users_password_replaced
    AFTER UPDATE OF password_hash ON users
    FOR EACH ROW WHEN (OLD.password_hash IS DISTINCT FROM NEW.password_hash)
    EXECUTE FUNCTION users_password_replaced();

REVOKE ALL ON FUNCTION users_password_replaced() FROM PUBLIC;
GRANT SELECT ON password_history TO bank_runtime;
