-- Know your customer: an identity document is recorded with its kind, the country that issued it
-- and its expiry, and one document identifies one customer. An account is opened only for a
-- customer whose identity is complete (the logic tier checks it); these columns hold it.
ALTER TABLE customers
    ADD COLUMN id_document_kind    text CHECK (id_document_kind IN ('passport', 'national_id', 'driving_licence')),
    ADD COLUMN id_document_country text CHECK (id_document_country ~ '^[A-Z]{2}$'),
    ADD COLUMN id_document_expires date;

-- The same document (issuing country and number, its separators aside, whatever kind it is
-- recorded as) cannot be a second customer's.
CREATE UNIQUE INDEX customers_identity_document_key
    ON customers (id_document_country, replace(id_document, '-', ''))
    WHERE id_document_country IS NOT NULL AND id_document IS NOT NULL;
