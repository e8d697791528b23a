-- A foreign-key check takes a FOR KEY SHARE lock on the row it points at. Every payment to a
-- biller points at the same biller row and the same payable account, and every payment in a
-- currency at the same revenue account: those lock bits turn the hottest rows into a queue, which
-- is what BillPay's ledger is designed to avoid. These two references are instead checked by
-- `billpay ledger verify` (entries on unknown accounts, payments to unknown billers); the
-- accounts and billers themselves are never deleted.
ALTER TABLE entries DROP CONSTRAINT entries_account_id_fkey;
ALTER TABLE payments DROP CONSTRAINT payments_biller_id_fkey;
