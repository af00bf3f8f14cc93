-- A service account: the identity an internal service's API key acts as. Its own migration,
-- because a new enum value cannot be used in the transaction that adds it.
ALTER TYPE user_role ADD VALUE 'service';
