-- The feed's positions are handed out in turn.
--
-- * The runtime role may give an unsequenced event its position (the sequencer does), and the
--   row guard let it give any position above 0: the largest bigint, after which every run of the
--   sequencer fails ("bigint out of range") and the feed stops for good; or positions that put
--   the events of one run out of the order they were written. A statement now gives the events
--   it sequences the positions right after the feed's last, one after another in the order the
--   events were written, stamped with the transaction's time; anything else is refused
--   (`events_sequenced_in_turn`). Which of the committed, unsequenced events a run takes is not
--   checked: one that commits during the run may be older than those it takes (it comes next).
--
-- (The triggers that write events render times in the writer's session time zone, UTC for
-- every sqlx connection. Pinning them with `SET TimeZone = 'UTC'` on the trigger functions made
-- postings in batches of 100 about seven times slower, measured with deploy/local/bench, so it
-- is not done; the offline check reads the feed in UTC.)

CREATE FUNCTION events_sequenced() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    lowest bigint;
    size bigint;
    wrong uuid;
BEGIN
    SELECT min(s.position), count(*) INTO lowest, size FROM sequenced s;
    IF size = 0 THEN
        RETURN NULL;
    END IF;
    SELECT t.id INTO wrong
      FROM (SELECT s.id, s.position, s.sequenced_at,
                   row_number() OVER (ORDER BY s.written_seq) AS n
              FROM sequenced s) AS t
     -- Differences, not sums: a position near the largest bigint must be refused, not overflow.
     WHERE t.position - lowest <> t.n - 1 OR t.sequenced_at <> now()
        OR (SELECT max(e.position) FROM events e) - lowest <> size - 1
        OR (lowest > 1 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.position = lowest - 1))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'event % is not given the next position in turn', wrong
            USING ERRCODE = 'check_violation', CONSTRAINT = 'events_sequenced_in_turn';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER events_sequenced AFTER UPDATE ON events
    REFERENCING NEW TABLE AS sequenced
    FOR EACH STATEMENT EXECUTE FUNCTION events_sequenced();
