-- What the web banking portal needs of the logic tier: idle expiry and a readable list of
-- sessions, a TOTP second factor with recovery codes, the portal's own session records, and
-- saved payees.

-- A session also ends after a period without use; the customer sees where each one came from.
ALTER TABLE user_sessions
    ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN user_agent   text CHECK (length(user_agent) <= 300),
    ADD COLUMN client_ip    text CHECK (length(client_ip) <= 64);

-- TOTP (RFC 6238). The pending secret waits for the first correct code before it counts.
ALTER TABLE users
    ADD COLUMN totp_secret         bytea CHECK (length(totp_secret) BETWEEN 16 AND 64),
    ADD COLUMN totp_pending_secret bytea CHECK (length(totp_pending_secret) BETWEEN 16 AND 64),
    ADD COLUMN totp_enabled_at     timestamptz,
    -- The last time step a code was accepted for; a code is never accepted twice.
    ADD COLUMN totp_last_step      bigint,
    ADD CONSTRAINT users_totp_enabled_has_secret
        CHECK ((totp_enabled_at IS NULL) = (totp_secret IS NULL));

-- One-time recovery codes, stored as SHA-256 digests; each works once.
CREATE TABLE recovery_codes (
    user_id   uuid        NOT NULL REFERENCES users (id),
    code_hash bytea       NOT NULL CHECK (length(code_hash) = 32),
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- A password was right and a second factor is due: the challenge links the two steps.
CREATE TABLE sign_in_challenges (
    id         uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id),
    token_hash bytea       NOT NULL CHECK (length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    used_at    timestamptz,
    user_agent text CHECK (length(user_agent) <= 300),
    client_ip  text CHECK (length(client_ip) <= 64)
);
CREATE UNIQUE INDEX sign_in_challenges_token_hash_key ON sign_in_challenges (token_hash);

-- The presentation tier's sessions, kept here so that its instances hold no state. The key is a
-- digest of the session cookie and the payload is encrypted with a key derived from the cookie,
-- so neither this table nor the logic tier can read or use a session without the cookie.
CREATE TABLE portal_sessions (
    id_hash    bytea       PRIMARY KEY CHECK (length(id_hash) = 32),
    payload    bytea       NOT NULL CHECK (length(payload) <= 16384),
    expires_at timestamptz NOT NULL
);
CREATE INDEX portal_sessions_expires_at_idx ON portal_sessions (expires_at);

-- Accounts a customer pays often, under a name of their choosing.
CREATE TABLE payees (
    id             uuid        PRIMARY KEY,
    customer_id    uuid        NOT NULL REFERENCES customers (id),
    nickname       text        NOT NULL CHECK (length(nickname) BETWEEN 1 AND 40),
    account_number text        NOT NULL CHECK (account_number ~ '^[0-9]{10}$'),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payees_nickname_key ON payees (customer_id, lower(nickname));
CREATE INDEX payees_customer_idx ON payees (customer_id, created_at);
