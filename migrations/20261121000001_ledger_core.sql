-- The ledger core: customers, users and sessions, accounts, transfers, the append-only ledger,
-- idempotency records and the hash-chained audit log.
--
-- The database is the last line of defence. Whatever the logic tier gets wrong, these rules hold:
--   * the entries of a transfer sum to zero (deferred constraint trigger at commit);
--   * an account's balance is the sum of its entries, maintained only by the entry trigger;
--   * a balance never goes below its floor (CHECK on accounts);
--   * ledger entries and audit rows are never updated or deleted;
--   * an amount never has more decimals than its currency allows.

-- Currencies the bank holds, with the number of decimals an amount in them may carry (ISO 4217).
CREATE TABLE currencies (
    code        text     PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
    minor_units smallint NOT NULL CHECK (minor_units BETWEEN 0 AND 4)
);

INSERT INTO currencies (code, minor_units) VALUES
    ('EUR', 2), ('USD', 2), ('GBP', 2), ('CHF', 2), ('JPY', 0);

-- Raises unless `amount` fits the decimals of `currency`. Shared by every money column's trigger.
CREATE FUNCTION assert_amount_fits_currency(amount numeric, currency text) RETURNS void
LANGUAGE plpgsql STABLE AS $$
DECLARE
    units smallint;
BEGIN
    SELECT minor_units INTO units FROM currencies WHERE code = currency;
    IF units IS NULL THEN
        RAISE EXCEPTION 'unknown currency %', currency USING ERRCODE = 'foreign_key_violation',
            CONSTRAINT = 'amount_currency_known';
    END IF;
    IF amount <> round(amount, units) THEN
        RAISE EXCEPTION 'amount % has more decimals than % allows (%)', amount, currency, units
            USING ERRCODE = 'check_violation', CONSTRAINT = 'amount_scale_fits_currency';
    END IF;
END;
$$;

CREATE TABLE customers (
    id            uuid        PRIMARY KEY,
    full_name     text        NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    email         text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%'),
    phone         text        CHECK (phone ~ '^\+?[0-9 ]{6,20}$'),
    date_of_birth date,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));

CREATE TYPE user_role AS ENUM ('customer', 'teller', 'supervisor', 'admin');

CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    username      text        NOT NULL CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    -- Argon2id in PHC string form; the parameters travel with the hash.
    password_hash text        NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role          user_role   NOT NULL,
    customer_id   uuid        REFERENCES customers (id),
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- A customer user belongs to exactly one customer; staff belong to none.
    CONSTRAINT users_customer_matches_role CHECK ((role = 'customer') = (customer_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_username_key ON users (username);

-- Sign-in throttling is kept per attempted username, whether or not such a user exists, so that
-- the throttle itself reveals nothing.
CREATE TABLE sign_in_throttle (
    username      text        PRIMARY KEY,
    failures      integer     NOT NULL CHECK (failures >= 0),
    last_failure  timestamptz NOT NULL,
    locked_until  timestamptz
);

CREATE TABLE user_sessions (
    id          uuid        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id),
    -- SHA-256 of the opaque bearer token; the token itself is never stored.
    token_hash  bytea       NOT NULL CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    CHECK (expires_at > created_at)
);
CREATE UNIQUE INDEX user_sessions_token_hash_key ON user_sessions (token_hash);
CREATE INDEX user_sessions_user_id_idx ON user_sessions (user_id) WHERE revoked_at IS NULL;

-- Credentials of the services that call the logic tier (the presentation tier, internal services).
CREATE TABLE service_clients (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
    key_hash    bytea       NOT NULL CHECK (length(key_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE UNIQUE INDEX service_clients_key_hash_key ON service_clients (key_hash);

CREATE TYPE account_kind AS ENUM ('customer', 'internal');
CREATE TYPE account_status AS ENUM ('open', 'frozen', 'closed');
CREATE TYPE account_product AS ENUM ('current', 'savings');
-- Which side increases the account: customer deposits are credit-normal (the bank owes them),
-- the vault's cash is debit-normal (the bank holds it).
CREATE TYPE normal_side AS ENUM ('credit', 'debit');
-- What an internal account is for; one of each per currency.
CREATE TYPE internal_ledger AS ENUM ('vault_cash', 'capital');

-- Only the floor is a CHECK constraint: PostgreSQL evaluates every CHECK of a table on every
-- update, and balances are updated twice per transfer. The identity rules, which concern columns
-- that never change, are checked by `accounts_identity` when a row is written with them.
CREATE TABLE accounts (
    id              uuid            PRIMARY KEY,
    -- Ten digits, the last a Damm check digit; internal accounts start with 9.
    number          text            NOT NULL,
    kind            account_kind    NOT NULL,
    product         account_product,
    name            text            NOT NULL,
    customer_id     uuid            REFERENCES customers (id),
    ledger          internal_ledger,
    currency        text            NOT NULL REFERENCES currencies (code),
    status          account_status  NOT NULL DEFAULT 'open',
    normal_side     normal_side     NOT NULL DEFAULT 'credit',
    -- Signed sum of all entries, credits positive. Maintained only by the ledger entry trigger.
    balance         numeric(24, 4)  NOT NULL DEFAULT 0,
    overdraft_limit numeric(24, 4)  NOT NULL DEFAULT 0,
    -- Internal accounts that absorb differences (equity, over/short) have no floor.
    floor_enforced  boolean         NOT NULL DEFAULT true,
    created_at      timestamptz     NOT NULL DEFAULT now(),
    -- The floor: the balance seen from the account's normal side never goes below minus its
    -- overdraft limit (zero for most accounts).
    CONSTRAINT accounts_balance_above_floor CHECK (
        NOT floor_enforced
        OR (CASE normal_side WHEN 'credit' THEN balance ELSE -balance END) >= -overdraft_limit)
);
CREATE UNIQUE INDEX accounts_number_key ON accounts (number);
-- Lets ledger entries reference (account, currency) so an entry's currency is its account's.
CREATE UNIQUE INDEX accounts_id_currency_key ON accounts (id, currency);
CREATE INDEX accounts_customer_id_idx ON accounts (customer_id);
CREATE UNIQUE INDEX accounts_ledger_currency_key ON accounts (ledger, currency) WHERE kind = 'internal';

CREATE FUNCTION accounts_identity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.number, NEW.kind, NEW.product, NEW.customer_id, NEW.ledger,
            NEW.currency, NEW.normal_side, NEW.floor_enforced)
        IS DISTINCT FROM (OLD.number, OLD.kind, OLD.product, OLD.customer_id, OLD.ledger,
            OLD.currency, OLD.normal_side, OLD.floor_enforced) THEN
        RAISE EXCEPTION 'an account''s number, kind, owner, currency and sides never change'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_identity_immutable';
    END IF;
    IF TG_OP = 'INSERT' AND NEW.balance <> 0 THEN
        RAISE EXCEPTION 'an account opens with a zero balance'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_balance_from_entries';
    END IF;
    IF NEW.number !~ '^[0-9]{10}$' THEN
        RAISE EXCEPTION 'an account number has ten digits'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_number_format';
    END IF;
    IF length(NEW.name) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'an account name has 1 to 100 characters'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_name_length';
    END IF;
    IF (NEW.kind = 'customer') <> (NEW.customer_id IS NOT NULL AND NEW.product IS NOT NULL) THEN
        RAISE EXCEPTION 'customer accounts, and only they, have an owner and a product'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_owner_matches_kind';
    END IF;
    IF (NEW.kind = 'internal') <> (NEW.ledger IS NOT NULL) THEN
        RAISE EXCEPTION 'internal accounts, and only they, serve a ledger purpose'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_ledger_matches_kind';
    END IF;
    IF (NEW.kind = 'internal') <> (NEW.number LIKE '9%') THEN
        RAISE EXCEPTION 'internal account numbers, and only they, start with 9'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_internal_number_prefix';
    END IF;
    IF NEW.kind = 'customer' AND NOT (NEW.normal_side = 'credit' AND NEW.floor_enforced) THEN
        RAISE EXCEPTION 'customer accounts are credit-normal and have a floor'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_customer_accounts_credit_normal';
    END IF;
    IF NEW.overdraft_limit < 0 THEN
        RAISE EXCEPTION 'an overdraft limit is not negative'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_overdraft_limit_positive';
    END IF;
    PERFORM assert_amount_fits_currency(NEW.overdraft_limit, NEW.currency);
    RETURN NEW;
END;
$$;
CREATE TRIGGER accounts_identity_on_insert BEFORE INSERT ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_identity();
-- Fires only for updates that name an identity column; balance updates never do.
CREATE TRIGGER accounts_identity_on_update
    BEFORE UPDATE OF number, kind, product, name, customer_id, ledger, currency, normal_side,
        overdraft_limit, floor_enforced ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_identity();

-- Only the ledger entry trigger (one trigger level down) may move a balance. The WHEN condition
-- is evaluated before this trigger runs, so a direct UPDATE sees depth 0 and the entry trigger 1.
CREATE FUNCTION refuse_balance_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'balances change only through ledger entries'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_balance_from_entries';
END;
$$;
CREATE TRIGGER accounts_balance_from_entries BEFORE UPDATE OF balance ON accounts
    FOR EACH ROW WHEN (pg_trigger_depth() < 1 AND NEW.balance IS DISTINCT FROM OLD.balance)
    EXECUTE FUNCTION refuse_balance_change();
CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege', CONSTRAINT = TG_TABLE_NAME || '_append_only';
END;
$$;
CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION refuse_delete();

-- Amounts set aside against an account's available balance (not its ledger balance).
CREATE TABLE holds (
    id          uuid           PRIMARY KEY,
    account_id  uuid           NOT NULL REFERENCES accounts (id),
    amount      numeric(24, 4) NOT NULL CHECK (amount > 0),
    reason      text           NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    created_at  timestamptz    NOT NULL DEFAULT now(),
    expires_at  timestamptz    NOT NULL,
    released_at timestamptz
);
CREATE INDEX holds_active_idx ON holds (account_id) WHERE released_at IS NULL;

CREATE TYPE transfer_kind AS ENUM ('transfer', 'cash_deposit', 'cash_withdrawal', 'opening_cash', 'reversal');
CREATE TYPE transfer_status AS ENUM ('posted');

CREATE TABLE transfers (
    id                  uuid            PRIMARY KEY,
    idempotency_key     text            NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    kind                transfer_kind   NOT NULL,
    status              transfer_status NOT NULL,
    amount              numeric(24, 4)  NOT NULL CHECK (amount > 0),
    currency            text            NOT NULL REFERENCES currencies (code),
    debit_account_id    uuid            NOT NULL,
    credit_account_id   uuid            NOT NULL,
    memo                text            NOT NULL DEFAULT '' CHECK (length(memo) <= 140),
    -- NULL only for the system's own postings (the demo bank's opening cash).
    initiated_by        uuid            REFERENCES users (id),
    created_at          timestamptz     NOT NULL DEFAULT now(),
    reverses_transfer_id uuid           REFERENCES transfers (id),
    request_id          text,
    FOREIGN KEY (debit_account_id, currency) REFERENCES accounts (id, currency),
    FOREIGN KEY (credit_account_id, currency) REFERENCES accounts (id, currency),
    CONSTRAINT transfers_distinct_accounts CHECK (debit_account_id <> credit_account_id),
    CONSTRAINT transfers_reversal_links CHECK ((kind = 'reversal') = (reverses_transfer_id IS NOT NULL))
);
-- A transfer is reversed at most once.
CREATE UNIQUE INDEX transfers_reverses_key ON transfers (reverses_transfer_id);
CREATE INDEX transfers_initiated_by_key ON transfers (initiated_by, idempotency_key);

CREATE FUNCTION transfers_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'transfers are never rewritten; post a reversal instead'
            USING ERRCODE = 'insufficient_privilege', CONSTRAINT = 'transfers_append_only';
    END IF;
    PERFORM assert_amount_fits_currency(NEW.amount, NEW.currency);
    RETURN NEW;
END;
$$;
CREATE TRIGGER transfers_guard BEFORE INSERT OR UPDATE ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_guard();
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION refuse_delete();

CREATE TABLE ledger_entries (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id   uuid           NOT NULL REFERENCES transfers (id),
    account_id    uuid           NOT NULL,
    currency      text           NOT NULL,
    -- Signed: credits positive, debits negative.
    amount        numeric(24, 4) NOT NULL CHECK (amount <> 0),
    -- The account's balance right after this entry; set by the trigger, never by a caller.
    balance_after numeric(24, 4) NOT NULL,
    posted_at     timestamptz    NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, currency) REFERENCES accounts (id, currency)
);
CREATE INDEX ledger_entries_transfer_idx ON ledger_entries (transfer_id);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, id DESC);

-- Applies an entry to its account's balance and records the balance after it. The account row's
-- CHECK constraint refuses a balance below the floor, so no entry can take an account under it.
CREATE FUNCTION ledger_entries_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One statement applies the entry and checks its scale against the account's currency.
    UPDATE accounts a SET balance = a.balance + NEW.amount
        FROM currencies c
        WHERE a.id = NEW.account_id AND c.code = a.currency
          AND NEW.amount = round(NEW.amount, c.minor_units)
        RETURNING a.balance INTO NEW.balance_after;
    IF NOT FOUND THEN
        -- Either there is no such account or the amount is finer than its currency: say which.
        PERFORM 1 FROM accounts WHERE id = NEW.account_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no account %', NEW.account_id USING ERRCODE = 'foreign_key_violation';
        END IF;
        PERFORM assert_amount_fits_currency(NEW.amount, NEW.currency);
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_entries_apply BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_apply();

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege', CONSTRAINT = TG_TABLE_NAME || '_append_only';
END;
$$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- At commit, every transfer touched in the transaction must balance: its entries sum to zero,
-- and there are at least two of them.
CREATE FUNCTION ledger_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
    n     integer;
BEGIN
    SELECT coalesce(sum(amount), 0), count(*) INTO total, n
        FROM ledger_entries WHERE transfer_id = NEW.transfer_id;
    IF total <> 0 OR n < 2 THEN
        RAISE EXCEPTION 'entries of transfer % sum to % over % entries', NEW.transfer_id, total, n
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_balanced';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entries_balanced();

-- A transfer without entries would slip past the entry trigger, so transfers check too.
CREATE FUNCTION transfers_have_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger_entries WHERE transfer_id = NEW.id) THEN
        RAISE EXCEPTION 'transfer % has no entries', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_balanced';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER transfers_have_entries AFTER INSERT ON transfers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION transfers_have_entries();

-- The stored outcome of a money-moving request, committed with its postings.
CREATE TABLE idempotency_records (
    principal_id    uuid        NOT NULL,
    idempotency_key text        NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    request_hash    bytea       NOT NULL CHECK (length(request_hash) = 32),
    -- Empty only inside the transaction that claimed the key; set before it commits.
    response_status smallint    CHECK (response_status BETWEEN 200 AND 299),
    response_body   jsonb,
    CHECK ((response_status IS NULL) = (response_body IS NULL)),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal_id, idempotency_key)
);

-- Every state change made by staff or the system. Each row carries the hash of the row before it,
-- so rewriting or removing a row breaks the chain from that point on.
CREATE TABLE audit_log (
    id            bigint      PRIMARY KEY,
    occurred_at   timestamptz NOT NULL,
    actor_user_id uuid        REFERENCES users (id),
    actor_service text,
    action        text        NOT NULL CHECK (action ~ '^[a-z_.]{3,64}$'),
    subject_type  text        NOT NULL,
    subject_id    text        NOT NULL,
    before        jsonb,
    after         jsonb,
    request_id    text,
    prev_hash     bytea       NOT NULL CHECK (length(prev_hash) = 32),
    hash          bytea       NOT NULL CHECK (length(hash) = 32)
);
CREATE SEQUENCE audit_log_id_seq AS bigint OWNED BY audit_log.id;

-- The canonical text a row's hash covers; the verifier recomputes it the same way.
CREATE FUNCTION audit_row_hash(
    prev_hash bytea, id bigint, occurred_at timestamptz, actor_user_id uuid, actor_service text,
    action text, subject_type text, subject_id text, before jsonb, after jsonb, request_id text
) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev_hash || convert_to(concat_ws(E'\x1f',
        id::text,
        to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        coalesce(actor_user_id::text, ''), coalesce(actor_service, ''), action, subject_type,
        subject_id, coalesce(before::text, 'null'), coalesce(after::text, 'null'),
        coalesce(request_id, '')), 'UTF8'))
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev bytea;
BEGIN
    -- One writer at a time extends the chain; held until the transaction ends. Ids are drawn
    -- under the lock so that id order is chain order.
    PERFORM pg_advisory_xact_lock(hashtext('audit_log_chain'));
    SELECT hash INTO prev FROM audit_log ORDER BY id DESC LIMIT 1;
    NEW.prev_hash := coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    NEW.id := nextval('audit_log_id_seq');
    NEW.occurred_at := now();
    NEW.hash := audit_row_hash(NEW.prev_hash, NEW.id, NEW.occurred_at, NEW.actor_user_id,
        NEW.actor_service, NEW.action, NEW.subject_type, NEW.subject_id, NEW.before, NEW.after,
        NEW.request_id);
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
