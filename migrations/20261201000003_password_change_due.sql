-- A password someone else chose (a teller onboarding a customer, an admin creating a member of
-- staff) is known to two people: its holder must replace it before doing anything else. Set when
-- such a password is stored, cleared when the holder sets their own.
ALTER TABLE users ADD COLUMN password_change_due boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN users.password_change_due IS
    'the password was set by someone other than its holder; every request but changing it is refused until it is';
