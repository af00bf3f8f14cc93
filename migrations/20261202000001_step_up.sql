-- Step-up: a customer's payment to an account they have not saved as a payee, or of at least the
-- step-up threshold of its currency, is approved with a fresh second factor (or, for a customer
-- without one, the password) sent with the payment itself. The bank sets the threshold per
-- currency; a customer may lower their own, never raise it above the bank's.
ALTER TABLE currency_limits
    ADD COLUMN step_up_threshold numeric(24, 4) NOT NULL DEFAULT 1000
        CHECK (step_up_threshold > 0);
UPDATE currency_limits SET step_up_threshold = 150000 WHERE currency = 'JPY';
ALTER TABLE currency_limits ALTER COLUMN step_up_threshold DROP DEFAULT;

CREATE TABLE customer_step_up_thresholds (
    customer_id uuid           NOT NULL REFERENCES customers (id),
    currency    text           NOT NULL REFERENCES currencies (code),
    threshold   numeric(24, 4) NOT NULL CHECK (threshold >= 0),
    updated_at  timestamptz    NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, currency)
);

COMMENT ON TABLE customer_step_up_thresholds IS
    'a customer''s own step-up threshold per currency, at most the bank''s: payments of at least it need a fresh second factor';

GRANT SELECT, INSERT, UPDATE, DELETE ON customer_step_up_thresholds TO bank_runtime;
