-- The SQL of one BillPay payment on PostgreSQL, for pgbench, statement for statement:
--   1. the read of the bill and its biller's rules;
--   2. the one guarded statement that writes the bill, the wallet, the journal and its three
--      entries, the payment and its idempotency record.
-- Ids, the fee and the journal digest, which the server computes in-process, are made here from
-- random numbers and pgbench arithmetic. Run with -M prepared, as the server uses prepared
-- statements. Each client pays from its own customer's wallet, as the load harness does, and
-- from its own share of the bills, so that pgbench never has to retry a guard (the server does).
\set per :nbills / :ncust
\set n (:client_id % :ncust) * :per + random(1, :per)
\set c :client_id % :ncust + 1
\set amount random(100, 999)
\set fee 10 + (:amount * 25 + 5000) / 10000
\set debit :amount + :fee
\set credit -1 * :debit
\set u random(1, 9000000000000000000)
SELECT b.id, b.biller_id, b.reference, b.customer_name, b.customer_id, b.currency, b.amount_due, b.outstanding, b.due_date, b.status, b.created_at, b.updated_at, r.status AS biller_status, r.amount_rule, r.fee_fixed, r.fee_bps, r.fee_payer, r.payable_account_id FROM bills b JOIN billers r ON r.id = b.biller_id WHERE b.id = (SELECT id FROM bench_bills WHERE n = :n) \gset bill_
WITH bill AS (UPDATE bills SET outstanding = outstanding - :amount, status = 'partially_paid', updated_at = '2026-11-28T00:00:00.000000Z' WHERE id = :bill_id AND outstanding = :bill_outstanding AND status = :bill_status AND EXISTS (SELECT 1 FROM billers WHERE id = :bill_biller_id AND status = 'active' AND amount_rule = 'overpayment' AND fee_fixed = 10 AND fee_bps = 25 AND fee_payer = 'customer') RETURNING id), wallet AS (UPDATE wallets SET balance = balance - :debit WHERE account_id = (SELECT account_id FROM bench_customers WHERE n = :c) AND balance >= :debit AND EXISTS (SELECT 1 FROM bill) RETURNING account_id), journal AS (INSERT INTO journals (id, kind, memo, digest, created_at) SELECT 'jrnl_pgb' || :u, 'payment', 'payment by pgbench', '0000000000000000000000000000000000000000000000000000000000000000', '2026-11-28T00:00:00.000000Z' FROM wallet RETURNING id), lines AS (INSERT INTO entries (journal_id, line, account_id, currency, amount) SELECT j.id, v.line, v.account_id, 'COP', v.amount FROM journal j CROSS JOIN (VALUES (1::bigint, (SELECT account_id FROM bench_customers WHERE n = :c), :credit::bigint), (2::bigint, :bill_payable_account_id::text, :amount::bigint), (3::bigint, 'acct_revenue_cop'::text, :fee::bigint)) AS v (line, account_id, amount) WHERE v.amount <> 0), payment AS (INSERT INTO payments (id, confirmation, customer_id, biller_id, bill_id, wallet_account, currency, amount, fee, fee_payer, refunded, status, journal_id, created_at) SELECT 'pay_pgb' || :u, 'PGB-' || :u, (SELECT customer_id FROM bench_customers WHERE n = :c), :bill_biller_id, :bill_id, w.account_id, 'COP', :amount, :fee, 'customer', 0, 'succeeded', 'jrnl_pgb' || :u, '2026-11-28T00:00:00.000000Z' FROM wallet w), idem AS (INSERT INTO idempotency_keys (api_key_id, key, request_hash, status, body, created_at) SELECT 'pgbench', 'k' || :u, 'hash', 201, '{"id":"pay"}', '2026-11-28T00:00:00.000000Z' FROM wallet) SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM bill) THEN billpay_abort('billpay_stale') WHEN NOT EXISTS (SELECT 1 FROM wallet) THEN billpay_abort('billpay_insufficient_funds') ELSE 1 END AS ok;
