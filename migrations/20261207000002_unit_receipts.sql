-- A receipt for each unit of work that has no idempotency key of its own (placing a hold,
-- opening an account, onboarding a customer, creating a member of staff or an API key, …).
--
-- When a COMMIT's answer is lost (the connection cut as it was sent, a failover), the logic
-- tier cannot tell whether the transaction committed, and runs the unit again. A keyed unit is
-- safe: its key's record says what the first attempt did. An unkeyed one would do it twice: two
-- holds on the customer's money, two accounts, or "this username is taken" for the user it has
-- just created. So every attempt of such a unit first takes the unit's receipt (an id the logic
-- tier draws once per unit, not per attempt), in the same transaction as the work. An attempt
-- that finds the receipt taken knows an earlier attempt committed, and answers with that
-- attempt's result instead of doing the work again; one whose earlier attempt is still
-- committing waits for it on the receipt's row. Receipts older than a day are purged: no unit
-- is retried for longer than its budget of seconds.
CREATE TABLE unit_receipts (
    id       uuid        PRIMARY KEY,
    taken_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX unit_receipts_taken_at ON unit_receipts (taken_at);

COMMENT ON TABLE unit_receipts IS
    'units of work without an idempotency key, one row per committed unit: a retry after an unknown COMMIT finds it';

GRANT SELECT, INSERT, DELETE ON unit_receipts TO bank_runtime;
