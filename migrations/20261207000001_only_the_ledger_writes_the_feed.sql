-- Only the ledger writes the event feed, and no writer chooses where an entry sorts.
--
-- * The feed is written by triggers, in the transaction of the change it reports, but the
--   runtime role could also INSERT an event of its own: a `transfer.posted` crediting a
--   merchant with money that never moved, which an internal service reading the feed would act
--   on. No writer inserts events itself, so the runtime role no longer may; the three triggers
--   that write them run as the schema's owner instead (SECURITY DEFINER, with the search path
--   they already fix, so no caller's objects stand in for the tables they use). A trigger
--   function cannot be called other than as its trigger.
-- * The runtime role may UPDATE an event only to give it its position (the sequencer); the guard
--   already refuses any other change, and now the privilege does too.
-- * An entry's id is its order in the account's history (statements and the balance after each
--   entry follow it). With INSERT on every column the runtime role could write
--   `OVERRIDING SYSTEM VALUE` and choose an id: one the sequence has not reached yet (the next
--   posting to draw it would fail) or one in a gap left by a rolled-back posting (an entry
--   filed into the past). It may now insert every column but the id.

ALTER FUNCTION transfers_inserted() SECURITY DEFINER;
ALTER FUNCTION accounts_status_event() SECURITY DEFINER;
ALTER FUNCTION pending_transfers_event() SECURITY DEFINER;

REVOKE INSERT, UPDATE ON events FROM bank_runtime;
GRANT UPDATE (position, sequenced_at) ON events TO bank_runtime;

REVOKE INSERT ON ledger_entries FROM bank_runtime;
GRANT INSERT (transfer_id, account_id, currency, amount, balance_after, posted_at)
    ON ledger_entries TO bank_runtime;
