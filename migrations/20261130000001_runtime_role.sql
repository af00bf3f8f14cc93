-- The runtime role. The schema belongs to the migration owner (bank_owner), which alone runs DDL;
-- the logic tier logs in as a member of bank_runtime, which holds only the privileges the logic
-- tier uses. The ledger's facts — transfers, ledger_entries, audit_log — are append-only by
-- privilege as well as by trigger: the runtime role may read and add to them, never change,
-- remove, truncate or alter them, nor disable their triggers (only an owner may).
--
-- bank_runtime is created before the first migration by whoever sets up the database
-- (deploy/local/up; data::testing for the tests): creating roles is not the schema's business.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bank_runtime') THEN
        RAISE EXCEPTION 'the role bank_runtime does not exist: create it (NOLOGIN) before migrating';
    END IF;
END
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, bank_runtime;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC, bank_runtime;

-- Facts: read and added to, nothing else.
GRANT SELECT, INSERT ON transfers, ledger_entries, audit_log, transfer_batches TO bank_runtime;

-- Reference data the logic tier reads; limits an admin changes.
GRANT SELECT ON currencies TO bank_runtime;
GRANT SELECT, UPDATE ON currency_limits TO bank_runtime;

-- State the logic tier keeps current.
GRANT SELECT, INSERT, UPDATE ON
    accounts, approval_requests, customers, daily_outflows, events, holds, idempotency_records,
    pending_transfers, service_clients, sign_in_challenges, teller_drawers, user_sessions, users
    TO bank_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON
    customer_daily_limits, portal_sessions, recovery_codes, sign_in_throttle
    TO bank_runtime;
GRANT SELECT, INSERT, DELETE ON payees TO bank_runtime;

-- Ids drawn from sequences (nextval, never setval).
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO bank_runtime;
