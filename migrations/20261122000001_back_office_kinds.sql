-- New kinds for the back office. PostgreSQL lets a new enum value be used only after the
-- transaction that added it commits, so they come in a migration of their own.

-- A teller's cash drawer (one account per drawer opening), and the account that absorbs the
-- differences found when drawers are counted.
ALTER TYPE internal_ledger ADD VALUE 'teller_drawer';
ALTER TYPE internal_ledger ADD VALUE 'over_short';

-- Cash moved between the vault and a drawer, and a drawer's counted difference.
ALTER TYPE transfer_kind ADD VALUE 'drawer_transfer';
ALTER TYPE transfer_kind ADD VALUE 'over_short';
