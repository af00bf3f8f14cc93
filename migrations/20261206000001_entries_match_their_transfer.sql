-- What a transfer says is what its entries move, when it says, and money is always a number.
--
-- * The entries' statement check (ledger_entries_inserted) summed each transfer's entries to zero
--   but did not compare them with the transfer: a writer could record a transfer of 5 from one
--   account to another while its entries moved 500 between two others, or in another currency,
--   and a statement, the portal's history and the event feed would all show the 5. Every writer
--   gives a transfer exactly two entries, its amount from its debit account and to its credit
--   account, in its currency; the check now refuses anything else
--   (`ledger_entries_match_transfer`), for one more lookup by primary key per transfer.
-- * A writer could also date a transfer or an entry (`created_at`, `posted_at`) into the past,
--   inside a period whose statements were already sent. No writer states either; both must now
--   be the transaction's own time (`transfers_created_now`, `ledger_entries_posted_now`).
-- * A reversal named the transfer it reverses but was not tied to it: "reversal of T" could move
--   any amount between any accounts. It must now mirror T: the same amount and currency, from
--   T's credit account back to its debit account (`transfers_reversal_mirrors`).
-- * PostgreSQL's numeric has a NaN that a column of numeric(24, 4) accepts and that sorts above
--   every number, so `amount > 0` lets it through. The entries' check already refused NaN
--   entries (their sum is not 0), but a NaN overdraft limit, daily limit or approval threshold
--   would quietly switch that limit off. Every numeric column of the schema now refuses it (a
--   test sees that any added later does too; infinity does not fit numeric(24, 4) at all). The
--   constraints are added NOT VALID here, so this migration scans nothing, but the lock each
--   ALTER TABLE takes is held until the migration commits: it waits at most 5 s for any of them
--   (a long report on a table), and if it does not get one it fails whole and is simply run
--   again, rather than holding up the postings queued behind it. The next migration checks the
--   existing rows under a lock that lets reads and writes go on.

SET LOCAL lock_timeout = '5s';

-- A transfer is dated now, as its entries are (below): the writers never say when; a reversal
-- mirrors the transfer it reverses.
CREATE OR REPLACE FUNCTION transfers_inserted() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    finer record;
    bare uuid;
BEGIN
    SELECT n.id, n.created_at INTO finer FROM new_transfers n WHERE n.created_at <> now() LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'transfer % is dated %, not now', finer.id, finer.created_at
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transfers_created_now';
    END IF;
    -- A reversal is its transfer's mirror: the same amount and currency, from the account it
    -- credited back to the account it debited.
    SELECT n.id INTO bare FROM new_transfers n
     WHERE n.kind = 'reversal'
       AND NOT EXISTS (SELECT 1 FROM transfers o
                        WHERE o.id = n.reverses_transfer_id AND o.amount = n.amount
                          AND o.currency = n.currency AND o.debit_account_id = n.credit_account_id
                          AND o.credit_account_id = n.debit_account_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'reversal % does not mirror the transfer it reverses', bare
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transfers_reversal_mirrors';
    END IF;
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

CREATE OR REPLACE FUNCTION ledger_entries_inserted() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    wrong record;
BEGIN
    -- An entry is posted now: no writer dates one into a period whose statements were sent.
    SELECT e.id, e.posted_at INTO wrong FROM new_entries e WHERE e.posted_at <> now() LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entry % is dated %, not now', wrong.id, wrong.posted_at
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_posted_now';
    END IF;
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
    -- already has its own. They are exactly its two legs: its amount from its debit account and
    -- to its credit account, in its currency.
    SELECT t.transfer_id, s.total, s.n, t.added, s.legs, tr.amount, tr.currency,
           tr.debit_account_id, tr.credit_account_id INTO wrong
      FROM (SELECT transfer_id, count(*) AS added FROM new_entries GROUP BY transfer_id) AS t
      -- A lookup by primary key for each transfer, for the same reason (the LIMIT keeps the
      -- planner from folding it into a join, which it planned as a scan of every transfer).
      LEFT JOIN LATERAL (SELECT x.amount, x.currency, x.debit_account_id, x.credit_account_id
                           FROM transfers x WHERE x.id = t.transfer_id LIMIT 1) AS tr ON true
     CROSS JOIN LATERAL (
             SELECT coalesce(sum(l.amount), 0) AS total, count(*) AS n,
                    count(*) FILTER (WHERE l.currency = tr.currency AND (
                                (l.account_id = tr.debit_account_id AND l.amount = -tr.amount)
                             OR (l.account_id = tr.credit_account_id AND l.amount = tr.amount)))
                        AS legs
               FROM ledger_entries l WHERE l.transfer_id = t.transfer_id) AS s
     WHERE s.total <> 0 OR s.n <> 2 OR s.n <> t.added OR s.legs <> 2
     LIMIT 1;
    IF FOUND THEN
        IF wrong.n <> wrong.added THEN
            RAISE EXCEPTION 'transfer % already has its entries', wrong.transfer_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_balanced';
        END IF;
        IF wrong.total <> 0 OR wrong.n < 2 THEN
            RAISE EXCEPTION 'entries of transfer % sum to % over % entries',
                    wrong.transfer_id, wrong.total, wrong.n
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_balanced';
        END IF;
        RAISE EXCEPTION 'entries of transfer % are not its % % from account % to account %',
                wrong.transfer_id, wrong.amount, wrong.currency, wrong.debit_account_id,
                wrong.credit_account_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entries_match_transfer';
    END IF;
    RETURN NULL;
END;
$$;

DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT c.relname AS tbl, a.attname AS col
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
           AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'numeric'::regtype
         ORDER BY c.relname, a.attnum
    LOOP
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (%I <> ''NaN'') NOT VALID',
                       col.tbl, col.tbl || '_' || col.col || '_is_a_number', col.col);
    END LOOP;
END;
$$;
