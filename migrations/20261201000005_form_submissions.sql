-- The portal's single-use form tokens: a form a user has sent once is refused the second time
-- (a double click with JavaScript off, Back and send again), so a form that moves no money still
-- acts once. A token is recorded by its digest, for the user who sent it; rows older than a day
-- are purged (no page lives that long: the portal's sessions end sooner).
CREATE TABLE form_submissions (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea       NOT NULL CHECK (octet_length(token_hash) = 32),
    sent_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, token_hash)
);

CREATE INDEX form_submissions_sent_at ON form_submissions (sent_at);

COMMENT ON TABLE form_submissions IS
    'portal forms already sent, by user and token digest: a second sending is refused';

GRANT SELECT, INSERT, DELETE ON form_submissions TO bank_runtime;
