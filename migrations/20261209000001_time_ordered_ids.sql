-- Row ids in time order (UUID version 7, RFC 9562): 48 bits of the Unix time in milliseconds,
-- then random bits. A random id (version 4) puts each new row's index entry on a random leaf of
-- the primary key, and of every index that names it (an entry's transfer, an event's subject):
-- once the index outgrows memory each insert reads a leaf from disk, and after every checkpoint
-- the first change to each leaf writes the whole page to the WAL, which both standbys replay.
-- In time order new entries go to the rightmost leaves. The logic tier mints its ids this way
-- (`Uuid::now_v7`); this is the database's own, for the rows it names itself. Ids stay
-- unguessable enough to be no capability: every read is authorised by owner, never by knowing
-- an id.
CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, public, pg_temp AS $$
    -- The random id's first six bytes become the time, and its version 4 (0100 in the high half
    -- of byte 6) becomes 7 (0111); the variant gen_random_uuid set stays.
    SELECT encode(
        set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                                PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp())
                                                                 * 1000)::bigint) FROM 3)
                                FROM 1 FOR 6),
                        52, 1),
                53, 1),
        'hex')::uuid
$$;

ALTER TABLE events ALTER COLUMN id SET DEFAULT uuid_v7();
