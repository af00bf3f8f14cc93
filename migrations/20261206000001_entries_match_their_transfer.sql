-- What a transfer says is what its entries move, and money is always a number.
--
-- * The entries' statement check (ledger_entries_inserted) summed each transfer's entries to zero
--   but did not compare them with the transfer: a writer could record a transfer of 5 from one
--   account to another while its entries moved 500 between two others, or in another currency,
--   and a statement, the portal's history and the event feed would all show the 5. Every writer
--   gives a transfer exactly two entries, its amount from its debit account and to its credit
--   account, in its currency; the check now refuses anything else
--   (`ledger_entries_match_transfer`), for one more lookup by primary key per transfer.
-- * PostgreSQL's numeric has a NaN that a column of numeric(24, 4) accepts, that sorts above
--   every number (so `amount > 0` lets it through) and equals itself (so a NaN transfer's NaN
--   entries sum to NaN and "match"): one would make its accounts' balances NaN for good. Every
--   numeric column of the schema refuses it (a test sees that any added later does too;
--   infinity does not fit numeric(24, 4) at all). The constraints are added NOT VALID here,
--   which locks each table only for a moment, and checked against the existing rows by the next
--   migration, which lets reads and writes go on while it scans.

CREATE OR REPLACE FUNCTION ledger_entries_inserted() RETURNS trigger LANGUAGE plpgsql
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
