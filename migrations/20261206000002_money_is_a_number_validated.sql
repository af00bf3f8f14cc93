-- Checks the existing rows against the constraints the previous migration added NOT VALID. A
-- validation takes a lock that lets reads and writes go on while it scans the table. A row
-- holding NaN stops the migration here, naming its table and column: no such row is written by
-- any release, so one would be a forgery to investigate, not data to convert.
DO $$
DECLARE
    con record;
BEGIN
    FOR con IN
        SELECT conrelid::regclass AS tbl, conname
          FROM pg_constraint
         WHERE connamespace = 'public'::regnamespace AND contype = 'c' AND NOT convalidated
           AND conname LIKE '%\_is\_a\_number'
         ORDER BY conrelid::regclass::text, conname
    LOOP
        EXECUTE format('ALTER TABLE %s VALIDATE CONSTRAINT %I', con.tbl, con.conname);
    END LOOP;
END;
$$;
