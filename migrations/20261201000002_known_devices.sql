-- Devices a user has signed in from. A sign-in from one of them is counted against that device,
-- not against the username, so someone who does not hold the device cannot keep the user
-- locked out by failing sign-ins under their name, and it passes the bank-wide slow-down that
-- password spraying meets. The device holds a random token (in the portal, a long-lived cookie);
-- the bank keeps only its SHA-256. A token signs nobody in by itself.
CREATE TABLE known_devices (
    token_hash   bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX known_devices_user_id_idx ON known_devices (user_id, created_at);

GRANT SELECT, INSERT, DELETE ON known_devices TO bank_runtime;
