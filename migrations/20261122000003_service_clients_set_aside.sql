-- Upgrading a database that already holds service credentials. 20261123000002 adds to
-- `service_clients` a constraint that the existing rows (the web tier's credentials) satisfy only
-- once it has marked them as acting for users, which it does after adding the constraint: on a
-- database with credentials it failed. This migration runs before it: while the table has its old
-- shape, its rows are set aside, and 20261123000003 puts them back, marked as the web tier's.
-- On a database where 20261123000002 already ran, both do nothing.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM information_schema.columns
        WHERE table_schema = current_schema()
          AND table_name = 'service_clients'
          AND column_name = 'acts_for_users'
    ) THEN
        CREATE TABLE service_clients_set_aside AS
            SELECT id, name, key_hash, created_at, revoked_at FROM service_clients;
        DELETE FROM service_clients;
    END IF;
END
$$;
