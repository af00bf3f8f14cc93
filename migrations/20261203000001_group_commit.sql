-- Group commit: a transaction posting many requests claims all their keys first, as a request
-- posted alone does, and gives back the claims of those it refused (a request posted alone gives
-- its claim back by rolling back). Only such a claim may be deleted: unfinished, and made by the
-- deleting transaction itself. A completed answer is never changed nor forgotten, so a key that
-- moved money keeps its answer, and a second request under it can only replay it.
CREATE FUNCTION idempotency_records_keep_answers() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF OLD.response_status IS NOT NULL THEN
        RAISE EXCEPTION 'a completed answer is never changed or deleted'
            USING ERRCODE = 'insufficient_privilege',
                  CONSTRAINT = 'idempotency_records_append_only';
    END IF;
    IF TG_OP = 'DELETE' AND OLD.xmin::text <> (pg_current_xact_id()::xid)::text THEN
        RAISE EXCEPTION 'only the transaction that claimed a key may give the claim back'
            USING ERRCODE = 'insufficient_privilege',
                  CONSTRAINT = 'idempotency_records_append_only';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER idempotency_records_keep_answers BEFORE UPDATE OR DELETE ON idempotency_records
    FOR EACH ROW EXECUTE FUNCTION idempotency_records_keep_answers();
CREATE TRIGGER idempotency_records_no_truncate BEFORE TRUNCATE ON idempotency_records
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

GRANT DELETE ON idempotency_records TO bank_runtime;
