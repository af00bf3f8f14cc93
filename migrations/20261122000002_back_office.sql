-- The teller and back-office side of the bank: identity fields of customers, scoped freezes,
-- cash drawers, four-eyes approval requests, limits, and search indexes for the audit log.

-- Onboarding records the customer's address and identity document.
ALTER TABLE customers
    ADD COLUMN address     text CHECK (length(address) BETWEEN 5 AND 300),
    ADD COLUMN id_document text CHECK (id_document ~ '^[A-Z0-9-]{5,30}$'),
    ADD COLUMN updated_at  timestamptz;
CREATE INDEX customers_phone_idx ON customers (phone);
CREATE INDEX customers_id_document_idx ON customers (id_document);

-- What a freeze stops: every movement, only money going out, or only money coming in.
CREATE TYPE freeze_scope AS ENUM ('all', 'debits', 'credits');
ALTER TABLE accounts
    ADD COLUMN freeze_scope  freeze_scope,
    ADD COLUMN status_reason text CHECK (length(status_reason) BETWEEN 1 AND 200),
    ADD CONSTRAINT accounts_frozen_has_scope CHECK ((status = 'frozen') = (freeze_scope IS NOT NULL));

-- A closed account holds nothing and never reopens.
CREATE FUNCTION accounts_status_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'closed' AND NEW.status <> 'closed' THEN
        RAISE EXCEPTION 'a closed account never reopens'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_closed_is_final';
    END IF;
    IF NEW.status = 'closed' AND OLD.status <> 'closed' AND NEW.balance <> 0 THEN
        RAISE EXCEPTION 'an account closes only at a zero balance'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_closed_at_zero';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER accounts_status_guard BEFORE UPDATE OF status ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_status_guard();

-- Every drawer opening has its own internal account, so the vault keeps one account per currency.
DROP INDEX accounts_ledger_currency_key;
CREATE UNIQUE INDEX accounts_ledger_currency_key ON accounts (ledger, currency)
    WHERE kind = 'internal' AND ledger <> 'teller_drawer';

-- Who placed and released a hold.
ALTER TABLE holds
    ADD COLUMN placed_by   uuid REFERENCES users (id),
    ADD COLUMN released_by uuid REFERENCES users (id);

-- A teller's cash drawer, from opening with a float from the vault to closing with a count.
CREATE TABLE teller_drawers (
    id            uuid           PRIMARY KEY,
    teller_id     uuid           NOT NULL REFERENCES users (id),
    account_id    uuid           NOT NULL REFERENCES accounts (id),
    currency      text           NOT NULL REFERENCES currencies (code),
    opened_at     timestamptz    NOT NULL DEFAULT now(),
    opening_float numeric(24, 4) NOT NULL CHECK (opening_float >= 0),
    closed_at     timestamptz,
    -- The cash counted at closing, by denomination ({"50.00": 3, ...}), its total and the
    -- difference from what the ledger said the drawer held (positive: over; negative: short).
    denominations jsonb,
    counted       numeric(24, 4) CHECK (counted >= 0),
    difference    numeric(24, 4),
    CONSTRAINT teller_drawers_closed_with_count
        CHECK ((closed_at IS NULL) = (counted IS NULL) AND (counted IS NULL) = (difference IS NULL))
);
CREATE UNIQUE INDEX teller_drawers_account_key ON teller_drawers (account_id);
-- One open drawer per teller and currency.
CREATE UNIQUE INDEX teller_drawers_open_key ON teller_drawers (teller_id, currency)
    WHERE closed_at IS NULL;

-- Amounts above which a teller's operation needs a supervisor, and the default daily limit of a
-- customer's transfers to others, per currency.
CREATE TABLE currency_limits (
    currency             text           PRIMARY KEY REFERENCES currencies (code),
    approval_threshold   numeric(24, 4) NOT NULL CHECK (approval_threshold > 0),
    daily_transfer_limit numeric(24, 4) NOT NULL CHECK (daily_transfer_limit > 0),
    updated_at           timestamptz    NOT NULL DEFAULT now(),
    updated_by           uuid           REFERENCES users (id)
);
INSERT INTO currency_limits (currency, approval_threshold, daily_transfer_limit) VALUES
    ('EUR', 10000, 5000), ('USD', 10000, 5000), ('GBP', 10000, 5000), ('CHF', 10000, 5000),
    ('JPY', 1000000, 500000);

-- A customer's own daily limit, where it differs from the bank's.
CREATE TABLE customer_daily_limits (
    customer_id uuid           NOT NULL REFERENCES customers (id),
    currency    text           NOT NULL REFERENCES currencies (code),
    daily_limit numeric(24, 4) NOT NULL CHECK (daily_limit >= 0),
    PRIMARY KEY (customer_id, currency)
);

-- What a customer has sent to others today (UTC). The posting transaction adds to it with one
-- upsert whose row lock serialises that customer's transfers, so the limit is never
-- check-then-act.
CREATE TABLE daily_outflows (
    customer_id uuid           NOT NULL REFERENCES customers (id),
    day         date           NOT NULL,
    currency    text           NOT NULL REFERENCES currencies (code),
    total       numeric(24, 4) NOT NULL CHECK (total >= 0),
    PRIMARY KEY (customer_id, day, currency)
);

-- Maker-checker: an operation a second member of staff must approve.
CREATE TYPE approval_kind AS ENUM
    ('cash_deposit', 'cash_withdrawal', 'transfer', 'reversal', 'overdraft_limit');
CREATE TYPE approval_status AS ENUM ('pending', 'approved', 'rejected', 'expired');

CREATE TABLE approval_requests (
    id                   uuid            PRIMARY KEY,
    kind                 approval_kind   NOT NULL,
    status               approval_status NOT NULL DEFAULT 'pending',
    maker_id             uuid            NOT NULL REFERENCES users (id),
    checker_id           uuid            REFERENCES users (id),
    -- The customer account the operation concerns, and its owner.
    account_id           uuid            NOT NULL REFERENCES accounts (id),
    customer_id          uuid            REFERENCES customers (id),
    amount               numeric(24, 4)  CHECK (amount > 0),
    currency             text            REFERENCES currencies (code),
    summary              text            NOT NULL CHECK (length(summary) BETWEEN 1 AND 300),
    reason               text            NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
    -- What to do once approved, in the logic tier's terms.
    operation            jsonb           NOT NULL,
    idempotency_key      text            CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    -- The funds set aside while the request waits.
    hold_id              uuid            REFERENCES holds (id),
    reverses_transfer_id uuid            REFERENCES transfers (id),
    -- The posting made when it was approved.
    transfer_id          uuid            REFERENCES transfers (id),
    created_at           timestamptz     NOT NULL DEFAULT now(),
    expires_at           timestamptz     NOT NULL,
    decided_at           timestamptz,
    decision_note        text            NOT NULL DEFAULT '' CHECK (length(decision_note) <= 200),
    request_id           text,
    CHECK (expires_at > created_at),
    CONSTRAINT approval_requests_four_eyes CHECK (checker_id IS NULL OR checker_id <> maker_id),
    CONSTRAINT approval_requests_decided
        CHECK ((status = 'pending') = (decided_at IS NULL)
           AND (status IN ('approved', 'rejected')) = (checker_id IS NOT NULL))
);
CREATE INDEX approval_requests_pending_idx ON approval_requests (created_at) WHERE status = 'pending';
CREATE INDEX approval_requests_account_idx ON approval_requests (account_id, created_at DESC);
CREATE INDEX approval_requests_customer_idx ON approval_requests (customer_id, created_at DESC);
-- One pending reversal of a transfer at a time (and `transfers_reverses_key` allows one posted).
CREATE UNIQUE INDEX approval_requests_one_reversal_key ON approval_requests (reverses_transfer_id)
    WHERE status = 'pending';

-- The database refuses a decision that breaks four eyes, whatever route the write takes: only a
-- pending request is decided, once, by a supervisor who is not its maker.
CREATE FUNCTION approval_requests_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'approval request % was already decided', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'approval_requests_decided_once';
    END IF;
    IF (NEW.id, NEW.kind, NEW.maker_id, NEW.account_id, NEW.amount, NEW.operation, NEW.created_at)
        IS DISTINCT FROM
       (OLD.id, OLD.kind, OLD.maker_id, OLD.account_id, OLD.amount, OLD.operation, OLD.created_at) THEN
        RAISE EXCEPTION 'an approval request''s content never changes'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'approval_requests_immutable';
    END IF;
    IF NEW.status IN ('approved', 'rejected') AND NOT EXISTS (
        SELECT 1 FROM users WHERE id = NEW.checker_id AND role = 'supervisor' AND NOT disabled
    ) THEN
        RAISE EXCEPTION 'only a supervisor decides an approval request'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'approval_requests_checker_supervisor';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER approval_requests_guard BEFORE UPDATE ON approval_requests
    FOR EACH ROW EXECUTE FUNCTION approval_requests_guard();
CREATE TRIGGER approval_requests_no_delete BEFORE DELETE ON approval_requests
    FOR EACH ROW EXECUTE FUNCTION refuse_delete();

-- Searching the audit log.
CREATE INDEX audit_log_actor_idx ON audit_log (actor_user_id, id DESC);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC);
CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);
