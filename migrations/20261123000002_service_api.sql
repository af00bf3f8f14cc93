-- The API as a product for internal services: scoped API keys, two-phase transfers, atomic
-- batches and the event feed (an outbox written by triggers in the same transaction as the
-- change it reports).

-- A service account has no password: nobody signs in as it; its API key is its credential.
ALTER TABLE users DROP CONSTRAINT users_password_hash_check;
ALTER TABLE users ADD CONSTRAINT users_password_hash_check
    CHECK (password_hash LIKE '$argon2id$%' OR (role = 'service' AND password_hash = '!'));

-- Two kinds of credential. The presentation tier's acts for signed-in users (it forwards their
-- session tokens) and has no scopes of its own. An internal service's API key acts as its own
-- service account, only within its scopes and its rate limit. Rotation replaces the secret and
-- may let the previous one work for a grace period.
ALTER TABLE service_clients
    ADD COLUMN acts_for_users        boolean     NOT NULL DEFAULT false,
    ADD COLUMN service_account_id    uuid        UNIQUE REFERENCES users (id),
    ADD COLUMN scopes                text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN key_prefix            text        CHECK (key_prefix ~ '^[a-z]{3}_[A-Za-z0-9_-]{4,16}$'),
    ADD COLUMN rate_limit_per_minute integer     NOT NULL DEFAULT 600
        CHECK (rate_limit_per_minute BETWEEN 1 AND 100000),
    ADD COLUMN created_by            uuid        REFERENCES users (id),
    ADD COLUMN revoked_by            uuid        REFERENCES users (id),
    ADD COLUMN last_used_at          timestamptz,
    ADD COLUMN rotated_at            timestamptz,
    ADD COLUMN previous_key_hash     bytea       CHECK (length(previous_key_hash) = 32),
    ADD COLUMN previous_valid_until  timestamptz,
    ADD CONSTRAINT service_clients_scopes_known CHECK (scopes <@ ARRAY[
        'accounts:read', 'accounts:write', 'customers:read', 'customers:write',
        'transfers:read', 'transfers:write', 'events:read']::text[]),
    ADD CONSTRAINT service_clients_kind CHECK (
        (acts_for_users AND service_account_id IS NULL AND scopes = '{}')
        OR (NOT acts_for_users AND service_account_id IS NOT NULL)),
    ADD CONSTRAINT service_clients_previous_key CHECK (
        (previous_key_hash IS NULL) = (previous_valid_until IS NULL));
-- Credentials registered before this migration are the presentation tier's.
UPDATE service_clients SET acts_for_users = true;
CREATE INDEX service_clients_previous_key_hash_idx ON service_clients (previous_key_hash)
    WHERE previous_key_hash IS NOT NULL;

-- Events for the feed. A trigger writes each one in the transaction that made the change, after
-- that transaction holds its row locks, so `written_seq` orders conflicting changes as they
-- committed. `position` is given after commit by the sequencer (one at a time, under an advisory
-- lock), gap-free and in `written_seq` order: a reader that resumes after a position misses
-- nothing.
CREATE SEQUENCE events_written_seq AS bigint;
CREATE TABLE events (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    written_seq  bigint      NOT NULL DEFAULT nextval('events_written_seq'),
    position     bigint      CHECK (position > 0),
    type         text        NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
    subject_id   uuid        NOT NULL,
    payload      jsonb       NOT NULL,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    sequenced_at timestamptz,
    CHECK ((position IS NULL) = (sequenced_at IS NULL))
);
ALTER SEQUENCE events_written_seq OWNED BY events.written_seq;
CREATE UNIQUE INDEX events_position_key ON events (position);
CREATE INDEX events_unsequenced_idx ON events (written_seq) WHERE position IS NULL;

-- An event is never rewritten or removed; the sequencer only gives it its position, once.
CREATE FUNCTION events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.position IS NOT NULL OR NEW.position IS NULL
       OR (NEW.id, NEW.written_seq, NEW.type, NEW.subject_id, NEW.payload, NEW.occurred_at)
          IS DISTINCT FROM (OLD.id, OLD.written_seq, OLD.type, OLD.subject_id, OLD.payload, OLD.occurred_at)
    THEN
        RAISE EXCEPTION 'events are append-only; only an unsequenced event gets its position'
            USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'events_append_only';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER events_guard BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_guard();

-- An amount as text in its currency's scale ("12.50", "1000" for JPY).
CREATE FUNCTION amount_text(amount numeric, currency text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT round(amount, (SELECT minor_units FROM currencies WHERE code = currency))::text
$$;

-- Transfers that move as one: every leg of a batch commits or none does.
CREATE TABLE transfer_batches (
    id              uuid        PRIMARY KEY,
    initiated_by    uuid        NOT NULL REFERENCES users (id),
    idempotency_key text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    size            integer     NOT NULL CHECK (size BETWEEN 1 AND 100),
    created_at      timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE transfers ADD COLUMN batch_id uuid REFERENCES transfer_batches (id);
CREATE INDEX transfers_batch_idx ON transfers (batch_id) WHERE batch_id IS NOT NULL;

-- Every posted transfer: one event, `transfer.reversed` for a reversal, else `transfer.posted`.
CREATE FUNCTION transfers_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, subject_id, payload, occurred_at)
    SELECT CASE WHEN NEW.kind = 'reversal' THEN 'transfer.reversed' ELSE 'transfer.posted' END,
           NEW.id,
           jsonb_build_object(
               'transfer_id', NEW.id,
               'kind', NEW.kind,
               'status', NEW.status,
               'amount', amount_text(NEW.amount, NEW.currency),
               'currency', NEW.currency,
               'debit_account', d.number,
               'credit_account', c.number,
               'memo', NEW.memo,
               'reverses_transfer_id', NEW.reverses_transfer_id,
               'batch_id', NEW.batch_id,
               'created_at', NEW.created_at),
           NEW.created_at
    FROM accounts d, accounts c
    WHERE d.id = NEW.debit_account_id AND c.id = NEW.credit_account_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER transfers_event AFTER INSERT ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_event();

-- Every change of an account's status or of what its freeze stops.
CREATE FUNCTION accounts_status_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, subject_id, payload)
    VALUES ('account.status_changed', NEW.id, jsonb_build_object(
        'account', NEW.number,
        'status', NEW.status,
        'previous_status', OLD.status,
        'freeze_scope', NEW.freeze_scope,
        'reason', NEW.status_reason));
    RETURN NULL;
END;
$$;
CREATE TRIGGER accounts_status_event AFTER UPDATE OF status, freeze_scope ON accounts
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.freeze_scope IS DISTINCT FROM NEW.freeze_scope)
    EXECUTE FUNCTION accounts_status_event();

-- Two-phase transfers: created pending (the amount held on the debit account until it expires),
-- then posted (in full or for less) or voided, once.
CREATE TYPE pending_transfer_status AS ENUM ('pending', 'posted', 'voided');
CREATE TABLE pending_transfers (
    id                 uuid                    PRIMARY KEY,
    initiated_by       uuid                    NOT NULL REFERENCES users (id),
    idempotency_key    text                    NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    debit_account_id   uuid                    NOT NULL,
    credit_account_id  uuid                    NOT NULL,
    currency           text                    NOT NULL REFERENCES currencies (code),
    amount             numeric(24, 4)          NOT NULL CHECK (amount > 0),
    memo               text                    NOT NULL DEFAULT '' CHECK (length(memo) <= 140),
    hold_id            uuid                    NOT NULL UNIQUE REFERENCES holds (id),
    status             pending_transfer_status NOT NULL DEFAULT 'pending',
    created_at         timestamptz             NOT NULL DEFAULT now(),
    expires_at         timestamptz             NOT NULL,
    resolved_at        timestamptz,
    resolved_by        uuid                    REFERENCES users (id),
    void_reason        text                    CHECK (void_reason IN ('voided', 'expired')),
    posted_amount      numeric(24, 4)          CHECK (posted_amount > 0),
    posted_transfer_id uuid                    UNIQUE REFERENCES transfers (id),
    request_id         text,
    FOREIGN KEY (debit_account_id, currency) REFERENCES accounts (id, currency),
    FOREIGN KEY (credit_account_id, currency) REFERENCES accounts (id, currency),
    CONSTRAINT pending_transfers_distinct_accounts CHECK (debit_account_id <> credit_account_id),
    CONSTRAINT pending_transfers_expiry CHECK (expires_at > created_at),
    CONSTRAINT pending_transfers_posted_within CHECK (posted_amount <= amount),
    CONSTRAINT pending_transfers_resolution CHECK (
        (status = 'pending' AND resolved_at IS NULL AND void_reason IS NULL
            AND posted_amount IS NULL AND posted_transfer_id IS NULL)
        OR (status = 'posted' AND resolved_at IS NOT NULL AND void_reason IS NULL
            AND posted_amount IS NOT NULL AND posted_transfer_id IS NOT NULL)
        OR (status = 'voided' AND resolved_at IS NOT NULL AND void_reason IS NOT NULL
            AND posted_amount IS NULL AND posted_transfer_id IS NULL))
);
CREATE INDEX pending_transfers_due_idx ON pending_transfers (expires_at) WHERE status = 'pending';
CREATE INDEX pending_transfers_key_idx ON pending_transfers (initiated_by, idempotency_key);

-- A pending transfer is resolved at most once, and what it asked for never changes.
CREATE FUNCTION pending_transfers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM assert_amount_fits_currency(NEW.amount, NEW.currency);
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' OR OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'a pending transfer is resolved once and then never changes'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'pending_transfers_resolved_once';
    END IF;
    IF (NEW.id, NEW.initiated_by, NEW.idempotency_key, NEW.debit_account_id,
        NEW.credit_account_id, NEW.currency, NEW.amount, NEW.memo, NEW.hold_id, NEW.created_at,
        NEW.expires_at)
       IS DISTINCT FROM (OLD.id, OLD.initiated_by, OLD.idempotency_key, OLD.debit_account_id,
        OLD.credit_account_id, OLD.currency, OLD.amount, OLD.memo, OLD.hold_id, OLD.created_at,
        OLD.expires_at)
    THEN
        RAISE EXCEPTION 'what a pending transfer asked for never changes'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'pending_transfers_immutable';
    END IF;
    IF NEW.posted_amount IS NOT NULL THEN
        PERFORM assert_amount_fits_currency(NEW.posted_amount, NEW.currency);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER pending_transfers_guard BEFORE INSERT OR UPDATE OR DELETE ON pending_transfers
    FOR EACH ROW EXECUTE FUNCTION pending_transfers_guard();

-- `transfer.pending` when one is created, `transfer.voided` when one is voided or expires. A
-- posted one is reported by the transfer it posts.
CREATE FUNCTION pending_transfers_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (type, subject_id, payload)
    SELECT CASE WHEN TG_OP = 'INSERT' THEN 'transfer.pending' ELSE 'transfer.voided' END,
           NEW.id,
           jsonb_build_object(
               'pending_transfer_id', NEW.id,
               'status', NEW.status,
               'amount', amount_text(NEW.amount, NEW.currency),
               'currency', NEW.currency,
               'debit_account', d.number,
               'credit_account', c.number,
               'memo', NEW.memo,
               'expires_at', NEW.expires_at,
               'void_reason', NEW.void_reason)
    FROM accounts d, accounts c
    WHERE d.id = NEW.debit_account_id AND c.id = NEW.credit_account_id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER pending_transfers_created_event AFTER INSERT ON pending_transfers
    FOR EACH ROW EXECUTE FUNCTION pending_transfers_event();
CREATE TRIGGER pending_transfers_voided_event AFTER UPDATE OF status ON pending_transfers
    FOR EACH ROW WHEN (NEW.status = 'voided')
    EXECUTE FUNCTION pending_transfers_event();
