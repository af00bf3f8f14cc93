-- What an adversarial review found the runtime role could still do, closed:
--
-- 1. Temporary objects. TEMP on a database is PUBLIC's by default: with it the runtime role
--    could create a temporary trigger whose UPDATE of a balance ran at trigger depth 1, where
--    accounts_balance_from_entries does not look; and a temporary table named like a ledger
--    table, which functions without a fixed search_path read first (pg_temp is searched before
--    anything unless it is named), so the deferred balance check summed the wrong rows. The
--    bank's roles need no temporary objects.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;

-- 2. Every function of the schema looks up names in pg_catalog and public only, and in pg_temp
--    last, whoever calls it.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public' AND p.prokind = 'f'
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, public, pg_temp', f);
    END LOOP;
END
$$;
