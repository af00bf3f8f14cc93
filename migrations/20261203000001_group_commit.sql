-- Group commit: a transaction posting many requests claims all their keys first, as a request
-- posted alone does, and gives back the claims of those it refused (a request posted alone gives
-- its claim back by rolling back). A claim is an unfinished row: only such rows may be deleted.
-- A completed answer is never forgotten, so a key that moved money keeps its answer.
CREATE FUNCTION idempotency_records_keep_answers() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF OLD.response_status IS NOT NULL THEN
        RAISE EXCEPTION 'a completed answer is never deleted'
            USING ERRCODE = 'insufficient_privilege',
                  CONSTRAINT = 'idempotency_records_append_only';
    END IF;
    RETURN OLD;
END;
$$;
CREATE TRIGGER idempotency_records_keep_answers BEFORE DELETE ON idempotency_records
    FOR EACH ROW EXECUTE FUNCTION idempotency_records_keep_answers();
CREATE TRIGGER idempotency_records_no_truncate BEFORE TRUNCATE ON idempotency_records
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

GRANT DELETE ON idempotency_records TO bank_runtime;
