-- Second-factor secrets move under a server key kept outside the database (the logic tier's
-- BANK_SECRETS_KEY_FILE): TOTP secrets are stored sealed (ChaCha20-Poly1305, bound to the user;
-- a secret stored before this is sealed the next time its owner uses it), and recovery codes are
-- stored as an HMAC under that key instead of a plain SHA-256.
--
-- Recovery codes issued before this carried about 40 bits and were stored as plain SHA-256
-- digests, which the new check never matches: they are withdrawn rather than left to be counted
-- as usable. Two-step sign-in stays on for their owners; enrolling again (password and a current
-- code) issues new codes of about 99 bits.
DELETE FROM recovery_codes;

COMMENT ON COLUMN users.totp_secret IS
    'sealed by the logic tier under its server key (version byte, nonce, ChaCha20-Poly1305); 20 bytes in the clear only for a secret stored before sealing';
COMMENT ON COLUMN recovery_codes.code_hash IS
    'HMAC-SHA256 of the normalised code under the logic tier''s server key';
