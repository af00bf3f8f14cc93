-- A hold's amount has no more decimals than its account's currency allows, as every other money
-- column already has: a hold of 0.001 EUR would set aside money no transfer can move, and a
-- pending transfer posting it in full could never be written.
CREATE FUNCTION holds_amount_fits_currency() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM assert_amount_fits_currency(NEW.amount,
        (SELECT currency FROM accounts WHERE id = NEW.account_id));
    RETURN NEW;
END;
$$;

CREATE TRIGGER holds_amount_fits_currency BEFORE INSERT OR UPDATE OF amount, account_id ON holds
    FOR EACH ROW EXECUTE FUNCTION holds_amount_fits_currency();
