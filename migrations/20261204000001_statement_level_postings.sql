-- Postings are checked and applied once per statement instead of once per row.
--
-- A group of transfers is written in one statement (see data::transfers::post_transfers), but
-- each row still paid for its own trigger calls: the entry trigger updated its account's balance
-- one entry at a time, the deferred check summed each entry's transfer at commit, and every
-- transfer wrote its event and checked its scale by itself. Those calls were most of a posting's
-- cost in the database. Each check now runs once over the statement's rows (its transition
-- table), and each touched balance is updated once, by the statement's net amount. What is
-- checked does not change:
--
-- * the writer supplies each entry's balance_after (its account's balance plus the statement's
--   entries for it so far, in entry order); the statement's check recomputes every one from the
--   account's new balance and refuses the statement if any differs;
-- * every balance_after of an account with a floor is above it, so no entry in a statement can
--   take an account under its floor, even one a later entry of the same statement makes good;
--   the account's own CHECK still refuses a final balance under it;
-- * an amount finer than its currency is refused, by the same function as before;
-- * a transfer's entries all arrive in one statement (none is added to a transfer that has its
--   own: a balanced pair added to an old transfer once passed the sum);
-- * every transfer an INSERT gives entries to sums to zero over at least two entries once the
--   statement is done (entries are append-only, so that holds at commit too); a transfer must
--   have its entries by the end of the statement that inserts it (the writers insert both in one
--   statement), where the deferred check looked for them only at commit;
-- * balances still move only through ledger entries: the update below runs one trigger level
--   down, where accounts_balance_from_entries lets it through (as it lets through any trigger's
--   update, and only the schema's owner creates triggers);
-- * a writer states balance_after from the balance it read under the account's lock; a writer
--   that did not hold it has its statement refused, never a wrong figure stored.
--
-- The binaries built with this migration state balance_after; an older build's postings are
-- refused whole after it (the column is NOT NULL), until its instances are replaced.

-- Transfers --------------------------------------------------------------------------------------

DROP TRIGGER transfers_guard ON transfers;
DROP TRIGGER transfers_event ON transfers;
DROP FUNCTION transfers_event();
DROP TRIGGER transfers_have_entries ON transfers;
DROP FUNCTION transfers_have_entries();

-- Still refuses any rewrite of a transfer, row by row (an update of a transfer is an attack, not
-- a workload).
CREATE TRIGGER transfers_append_only BEFORE UPDATE ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_guard();

-- Every transfer an INSERT wrote: its amount fits its currency, it has its entries (the
-- statement's own, inserted alongside it: this runs once the whole statement is done), and it has
-- one event, `transfer.reversed` for a reversal, else `transfer.posted`, in the order the rows
-- were written.
CREATE FUNCTION transfers_inserted() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    finer record;
    bare uuid;
BEGIN
    SELECT n.amount, n.currency INTO finer
      FROM new_transfers n JOIN currencies c ON c.code = n.currency
     WHERE n.amount <> round(n.amount, c.minor_units)
     LIMIT 1;
    IF FOUND THEN
        PERFORM assert_amount_fits_currency(finer.amount, finer.currency);
    END IF;
    -- Per transfer, through the index on transfer_id: a subquery with LIMIT stays a lookup for
    -- each row, where an anti-join could be planned as a scan of the whole ledger.
    SELECT n.id INTO bare FROM new_transfers n
     CROSS JOIN LATERAL (SELECT count(*) AS found
                           FROM (SELECT 1 FROM ledger_entries l
                                  WHERE l.transfer_id = n.id LIMIT 1) AS one) AS e
     WHERE e.found = 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'transfer % has no entries', bare
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_balanced';
    END IF;
    INSERT INTO events (type, subject_id, payload, occurred_at)
    SELECT CASE WHEN n.kind = 'reversal' THEN 'transfer.reversed' ELSE 'transfer.posted' END,
           n.id,
           jsonb_build_object(
               'transfer_id', n.id,
               'kind', n.kind,
               'status', n.status,
               'amount', round(n.amount, cur.minor_units)::text,
               'currency', n.currency,
               'debit_account', d.number,
               'credit_account', c.number,
               'memo', n.memo,
               'reverses_transfer_id', n.reverses_transfer_id,
               'batch_id', n.batch_id,
               'created_at', n.created_at),
           n.created_at
      FROM (SELECT t.*, row_number() OVER () AS written FROM new_transfers t) n
      JOIN currencies cur ON cur.code = n.currency
      JOIN accounts d ON d.id = n.debit_account_id
      JOIN accounts c ON c.id = n.credit_account_id
     ORDER BY n.written;
    RETURN NULL;
END;
$$;
CREATE TRIGGER transfers_inserted AFTER INSERT ON transfers
    REFERENCING NEW TABLE AS new_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION transfers_inserted();

-- Ledger entries ---------------------------------------------------------------------------------

DROP TRIGGER ledger_entries_apply ON ledger_entries;
DROP FUNCTION ledger_entries_apply();
DROP TRIGGER ledger_entries_balanced ON ledger_entries;
DROP FUNCTION ledger_entries_balanced();

CREATE FUNCTION ledger_entries_inserted() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    wrong record;
BEGIN
    SELECT e.amount, e.currency INTO wrong
      FROM new_entries e JOIN currencies c ON c.code = e.currency
     WHERE e.amount <> round(e.amount, c.minor_units)
     LIMIT 1;
    IF FOUND THEN
        PERFORM assert_amount_fits_currency(wrong.amount, wrong.currency);
    END IF;

    -- Each touched account moves once, by the statement's net amount; then every entry's
    -- balance_after must be that new balance less the entries after it, and above the floor.
    WITH net AS (
             SELECT account_id, sum(amount) AS amount FROM new_entries GROUP BY account_id
         ),
         moved AS (
             UPDATE accounts a SET balance = a.balance + net.amount
               FROM net
              WHERE a.id = net.account_id
             RETURNING a.id, a.balance, a.normal_side, a.overdraft_limit, a.floor_enforced
         ),
         entry AS (
             SELECT e.id, e.account_id, e.balance_after, m.id IS NULL AS no_account,
                    m.balance - coalesce(sum(e.amount) OVER (
                        PARTITION BY e.account_id ORDER BY e.id DESC
                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS recomputed,
                    m.floor_enforced AND (CASE m.normal_side WHEN 'credit' THEN e.balance_after
                                          ELSE -e.balance_after END) < -m.overdraft_limit
                        AS below_floor
               FROM new_entries e LEFT JOIN moved m ON m.id = e.account_id
         )
    SELECT * INTO wrong FROM entry
     WHERE no_account OR balance_after IS DISTINCT FROM recomputed OR below_floor
     ORDER BY id
     LIMIT 1;
    IF FOUND THEN
        IF wrong.no_account THEN
            RAISE EXCEPTION 'no account %', wrong.account_id
                USING ERRCODE = 'foreign_key_violation';
        ELSIF wrong.balance_after IS NOT DISTINCT FROM wrong.recomputed THEN
            RAISE EXCEPTION 'entry % would take account % to %, below its floor',
                    wrong.id, wrong.account_id, wrong.balance_after
                USING ERRCODE = 'check_violation', CONSTRAINT = 'accounts_balance_above_floor';
        END IF;
        RAISE EXCEPTION 'entry % says its account''s balance after it is %, but it is %',
                wrong.id, wrong.balance_after, wrong.recomputed
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_balance_after';
    END IF;

    -- Summed per transfer, through the index on transfer_id: an aggregate in a LATERAL subquery
    -- is a lookup for each transfer whatever the ledger's size, where a semi-join was planned as
    -- a merge over the whole index (a second per 100 transfers once the ledger held 750,000
    -- entries).
    -- A transfer's entries all come in one statement: none is ever added to a transfer that
    -- already has its own.
    SELECT t.transfer_id, s.total, s.n, t.added INTO wrong
      FROM (SELECT transfer_id, count(*) AS added FROM new_entries GROUP BY transfer_id) AS t
     CROSS JOIN LATERAL (SELECT coalesce(sum(l.amount), 0) AS total, count(*) AS n
                           FROM ledger_entries l WHERE l.transfer_id = t.transfer_id) AS s
     WHERE s.total <> 0 OR s.n < 2 OR s.n <> t.added
     LIMIT 1;
    IF FOUND THEN
        IF wrong.n <> wrong.added THEN
            RAISE EXCEPTION 'transfer % already has its entries', wrong.transfer_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_balanced';
        END IF;
        RAISE EXCEPTION 'entries of transfer % sum to % over % entries',
                wrong.transfer_id, wrong.total, wrong.n
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_balanced';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER ledger_entries_inserted AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_inserted();
COMMENT ON COLUMN ledger_entries.balance_after IS
    'The account''s balance right after this entry: stated by the writer, checked by ledger_entries_inserted.';

-- Idempotency records ----------------------------------------------------------------------------
-- (The same guard as before, called less often.)

-- Completing a claim is the common update; the guard needs to run only when the row already holds
-- an answer (which it refuses) or is deleted (which it checks).
DROP TRIGGER idempotency_records_keep_answers ON idempotency_records;
CREATE TRIGGER idempotency_records_keep_answers BEFORE UPDATE ON idempotency_records
    FOR EACH ROW WHEN (OLD.response_status IS NOT NULL)
    EXECUTE FUNCTION idempotency_records_keep_answers();
CREATE TRIGGER idempotency_records_give_back BEFORE DELETE ON idempotency_records
    FOR EACH ROW EXECUTE FUNCTION idempotency_records_keep_answers();
