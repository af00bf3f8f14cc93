-- The credentials 20261122000003 set aside come back as the web tier's (see there).
DO $$
BEGIN
    IF to_regclass('service_clients_set_aside') IS NOT NULL THEN
        INSERT INTO service_clients (id, name, key_hash, created_at, revoked_at, acts_for_users)
            SELECT id, name, key_hash, created_at, revoked_at, true FROM service_clients_set_aside;
        DROP TABLE service_clients_set_aside;
    END IF;
END
$$;
