-- A foreign-key check runs a query and takes a FOR KEY SHARE lock on the row it points at, after
-- every insert. Every payment to a biller points at the same biller row and payable account, and
-- every payment in a currency at the same revenue account: those lock bits turn the hottest rows
-- into a queue, which BillPay's ledger is designed to avoid. And the checks were a sixth of the
-- database's work per payment.
--
-- The payment path writes a journal, its entries and the payment in one statement, with ids it
-- made together, so these references cannot dangle short of a bug; `billpay ledger verify`
-- proves they do not. Accounts, billers, customers, bills and journals are never deleted.
ALTER TABLE entries DROP CONSTRAINT IF EXISTS entries_account_id_fkey;
ALTER TABLE entries DROP CONSTRAINT IF EXISTS entries_journal_id_fkey;
ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_biller_id_fkey;
ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_customer_id_fkey;
ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_bill_id_fkey;
ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_wallet_account_fkey;
ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_journal_id_fkey;
