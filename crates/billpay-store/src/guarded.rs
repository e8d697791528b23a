//! PostgreSQL's executor of a payment: every write in one statement, guarded by the values the
//! decision was made on. If the bill, the biller's rules or the wallet changed since they were
//! read, a guard fails, `billpay_fail` raises a BillPay SQLSTATE that undoes the whole statement,
//! and the payment is decided again.
//!
//! The statement is also the benchmark's: [`pgbench_payment_script`] renders it, parameter for
//! parameter, as the pgbench script in `bench/payment.sql`, and a test keeps that file equal to it.
//!
//! It relies on READ COMMITTED, which [`crate::Store::connect`] sets on every connection: there a
//! guarded `UPDATE` that finds its row changed by a transaction that committed meanwhile re-checks
//! the guard against the new row and matches nothing, which is the "stale" answer. Under
//! REPEATABLE READ or SERIALIZABLE the same race raises a serialization failure instead, which
//! the payment path treats as stale too.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};

use billpay_core::bill::BillStatus;
use billpay_core::posting::Posting;

use crate::Result;
use crate::idempotency::IdemKey;
use crate::outbox::NewEvent;
use crate::payments::Payable;

/// The payment statement. Parameters are numbered in the order of [`PARAMS`].
pub(crate) const PAY_POSTGRES: &str = "WITH \
bill AS (UPDATE bills SET outstanding = outstanding - $1, status = $2, updated_at = $3 \
    WHERE id = $4 AND outstanding = $5 AND status = $6 \
    AND EXISTS (SELECT 1 FROM billers WHERE id = $7 AND status = 'active' AND amount_rule = $8 \
                AND fee_fixed = $9 AND fee_bps = $10 AND fee_payer = $11) \
    RETURNING id), \
wallet AS (UPDATE wallets SET balance = balance - $12 WHERE account_id = $13 AND balance >= $12 \
    AND EXISTS (SELECT 1 FROM bill) RETURNING account_id), \
journal AS (INSERT INTO journals (id, kind, memo, digest, created_at) \
    SELECT $14, 'payment', $15, $16, $3 FROM wallet RETURNING id), \
lines AS (INSERT INTO entries (journal_id, line, account_id, currency, amount) \
    SELECT j.id, v.line, v.account_id, $17, v.amount FROM journal j CROSS JOIN \
    (VALUES ($18::bigint, $19::text, $20::bigint), ($21::bigint, $22::text, $23::bigint), ($24::bigint, $25::text, $26::bigint)) \
    AS v (line, account_id, amount) WHERE v.line IS NOT NULL RETURNING amount), \
payment AS (INSERT INTO payments (id, confirmation, customer_id, biller_id, bill_id, wallet_account, currency, amount, fee, \
    fee_payer, refunded, status, journal_id, created_at) \
    SELECT $27, $28, $29, $7, $4, w.account_id, $17, $1, $30, $11, 0, 'succeeded', $14, $3 FROM wallet w), \
idem AS (INSERT INTO idempotency_keys (api_key_id, key, request_hash, status, body, created_at) \
    SELECT $31, $32, $33, $34, $35, $3 FROM wallet WHERE $31::text IS NOT NULL), \
ev AS (INSERT INTO events (id, type, biller_id, payload, created_at) \
    SELECT v.id, v.type, $7, v.payload, $3 FROM wallet CROSS JOIN \
    (VALUES ($36::text, $37::text, $38::text), ($39::text, $40::text, $41::text)) AS v (id, type, payload) \
    WHERE v.id IS NOT NULL RETURNING id, type), \
dl AS (INSERT INTO webhook_deliveries (endpoint_id, event_id, status, attempts, next_attempt_at, created_at, updated_at) \
    SELECT w.id, ev.id, 'pending', 0, $3, $3, $3 FROM ev JOIN webhook_endpoints w ON w.status = 'enabled' \
    AND (w.biller_id IS NULL OR w.biller_id = $7) \
    AND (w.event_types LIKE '%,*,%' OR w.event_types LIKE '%,' || ev.type || ',%')) \
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM bill) THEN billpay_fail('BP001', 'the bill or its biller changed since it was read') \
            WHEN NOT EXISTS (SELECT 1 FROM wallet) THEN billpay_fail('BP002', 'the wallet does not hold the debit') \
            WHEN (SELECT count(*) FROM lines) <> $42 OR (SELECT COALESCE(SUM(amount), 0) FROM lines) <> 0 \
                 THEN billpay_fail('BP003', 'the entries written differ from the posting plan') \
            ELSE 1 END AS ok";

/// The statement's parameters, in order: `$1` is `PARAMS[0]`.
pub(crate) const PARAMS: [&str; 42] = [
    "amount",
    "bill_status_after",
    "now",
    "bill_id",
    "bill_outstanding",
    "bill_status",
    "biller_id",
    "amount_rule",
    "fee_fixed",
    "fee_bps",
    "fee_payer",
    "wallet_debit",
    "wallet_account",
    "journal_id",
    "memo",
    "digest",
    "currency",
    "line1",
    "account1",
    "amount1",
    "line2",
    "account2",
    "amount2",
    "line3",
    "account3",
    "amount3",
    "payment_id",
    "confirmation",
    "customer_id",
    "fee",
    "idem_api_key",
    "idem_key",
    "idem_hash",
    "idem_status",
    "idem_body",
    "event1_id",
    "event1_type",
    "event1_payload",
    "event2_id",
    "event2_type",
    "event2_payload",
    "line_count",
];

/// Why the statement refused to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A guard on the bill or biller failed, or a serialization failure: decide again.
    Stale,
    InsufficientFunds,
    /// The database wrote other entries than the plan held: a fault.
    PlanMismatch,
}

impl Refused {
    /// Reads the SQLSTATE of a failed statement: BillPay's own (class `BP`) or PostgreSQL's
    /// serialization failure and deadlock, which mean the same as a failed guard.
    pub(crate) fn of(e: &sqlx::Error) -> Option<Self> {
        let sqlx::Error::Database(d) = e else {
            return None;
        };
        match d.code().as_deref() {
            Some("BP001" | "40001" | "40P01") => Some(Refused::Stale),
            Some("BP002") => Some(Refused::InsufficientFunds),
            Some("BP003") => Some(Refused::PlanMismatch),
            _ => None,
        }
    }
}

/// One argument of the statement.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::Int(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_owned()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}

/// Everything the statement writes for one payment, decided in-process.
pub(crate) struct Guarded<'a> {
    pub payable: &'a Payable,
    pub posting: &'a Posting,
    pub amount: i64,
    pub fee: i64,
    pub wallet_debit: i64,
    pub wallet_account: &'a str,
    pub customer_id: &'a str,
    pub payment_id: &'a str,
    pub confirmation: &'a str,
    pub journal_id: &'a str,
    pub memo: &'a str,
    pub now: &'a str,
    pub idempotency: Option<(&'a IdemKey, u16, String)>,
    pub events: &'a [NewEvent],
}

impl Guarded<'_> {
    /// The statement's arguments, named and in order.
    pub(crate) fn args(&self) -> Vec<(&'static str, Arg)> {
        let bill = &self.payable.bill;
        let outstanding = bill.amount_outstanding - self.amount;
        let lines = self.posting.lines();
        let line = |i: usize| lines.get(i);
        let event = |i: usize| self.events.get(i);
        let (idem, status, body) = match &self.idempotency {
            Some((k, status, body)) => (Some(*k), Some(i64::from(*status)), Some(body.clone())),
            None => (None, None, None),
        };
        let values: Vec<Arg> = vec![
            self.amount.into(),
            BillStatus::from_outstanding(bill.amount_due, outstanding)
                .as_str()
                .into(),
            self.now.into(),
            bill.id.clone().into(),
            bill.amount_outstanding.into(),
            bill.status.as_str().into(),
            bill.biller_id.clone().into(),
            self.payable.amount_rule.as_str().into(),
            self.payable.fee.fixed.into(),
            self.payable.fee.bps.into(),
            self.payable.fee.payer.as_str().into(),
            self.wallet_debit.into(),
            self.wallet_account.into(),
            self.journal_id.into(),
            self.memo.into(),
            self.posting.digest().into(),
            self.posting.currency().code().into(),
            line(0).map(|l| l.line).into(),
            line(0).map(|l| l.account.as_str().to_owned()).into(),
            line(0).map(|l| l.amount).into(),
            line(1).map(|l| l.line).into(),
            line(1).map(|l| l.account.as_str().to_owned()).into(),
            line(1).map(|l| l.amount).into(),
            line(2).map(|l| l.line).into(),
            line(2).map(|l| l.account.as_str().to_owned()).into(),
            line(2).map(|l| l.amount).into(),
            self.payment_id.into(),
            self.confirmation.into(),
            self.customer_id.into(),
            self.fee.into(),
            idem.map(|k| k.api_key_id.clone()).into(),
            idem.map(|k| k.key.clone()).into(),
            idem.map(|k| k.request_hash.clone()).into(),
            status.into(),
            body.into(),
            event(0).map(|e| e.id.clone()).into(),
            event(0).map(|e| e.kind.to_owned()).into(),
            event(0).map(|e| e.payload.clone()).into(),
            event(1).map(|e| e.id.clone()).into(),
            event(1).map(|e| e.kind.to_owned()).into(),
            event(1).map(|e| e.payload.clone()).into(),
            (lines.len() as i64).into(),
        ];
        PARAMS.into_iter().zip(values).collect()
    }

    /// Runs the statement on `conn`.
    pub(crate) async fn execute(&self, conn: &mut AnyConnection) -> std::result::Result<(), sqlx::Error> {
        let mut q: Query<'_, Any, AnyArguments> = sqlx::query(PAY_POSTGRES);
        for (_, arg) in self.args() {
            q = match arg {
                Arg::Int(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
            };
        }
        q.execute(conn).await.map(|_| ())
    }
}

/// The pgbench script of one PostgreSQL payment, rendered from the statements the server runs:
/// the read of the bill with its biller's rules, then [`PAY_POSTGRES`] with each parameter
/// replaced by the pgbench expression that stands for it. Values the server computes in-process
/// (ids, the fee, the digest, the event payload) are made from pgbench arithmetic and constants
/// of the same size.
pub fn pgbench_payment_script() -> Result<String, String> {
    let read = substitute(crate::payments::PAYABLE_BY_ID, &|n| match n {
        1 => Some("(SELECT id FROM bench_bills WHERE n = :n)".to_owned()),
        _ => None,
    })?;
    let pay = substitute(PAY_POSTGRES, &|n| {
        let name = PARAMS.get(n.checked_sub(1)?)?;
        pgbench_value(name).map(str::to_owned)
    })?;
    Ok(format!(
        "-- The SQL of one BillPay payment on PostgreSQL, for pgbench. GENERATED from the statements in\n\
         -- crates/billpay-store/src/guarded.rs and payments.rs; a test keeps this file equal to them. Do\n\
         -- not edit: run BILLPAY_UPDATE_SNAPSHOTS=1 cargo nextest run -p billpay-store pgbench_script\n\
         --   1. the read of the bill and its biller's rules;\n\
         --   2. the one guarded statement that writes the bill, the wallet, the journal and its entries,\n\
         --      the payment, its idempotency record, and its event with a delivery per subscribed endpoint.\n\
         -- Run with -M prepared, as the server uses prepared statements. Each client pays from its own\n\
         -- customer's wallet and its own share of the bills, so pgbench never has to retry a guard.\n\
         -- bench/run.sh prepares bench_bills, bench_customers and the fee rule (10 + 25 bps, customer).\n\
         \\set per :nbills / :ncust\n\
         \\set n (:client_id % :ncust) * :per + random(1, :per)\n\
         \\set c :client_id % :ncust + 1\n\
         \\set amount random(100, 999)\n\
         \\set fee 10 + (:amount * 25 + 5000) / 10000\n\
         \\set debit :amount + :fee\n\
         \\set credit -1 * :debit\n\
         \\set u random(1, 9000000000000000000)\n\
         {} \\gset bill_\n\
         {};\n",
        squash(&read),
        squash(&pay)
    ))
}

/// The pgbench expression for one parameter of [`PAY_POSTGRES`].
fn pgbench_value(name: &str) -> Option<&'static str> {
    const NOW: &str = "'2026-11-28T00:00:00.000000Z'";
    Some(match name {
        "amount" | "amount2" => ":amount",
        "bill_status_after" => "'partially_paid'",
        "now" => NOW,
        "bill_id" => ":bill_id",
        "bill_outstanding" => ":bill_outstanding",
        "bill_status" => ":bill_status",
        "biller_id" => ":bill_biller_id",
        "amount_rule" => ":bill_amount_rule",
        "fee_fixed" => ":bill_fee_fixed",
        "fee_bps" => ":bill_fee_bps",
        "fee_payer" => ":bill_fee_payer",
        "wallet_debit" => ":debit",
        "wallet_account" | "account1" => "(SELECT account_id FROM bench_customers WHERE n = :c)",
        "journal_id" => "'jrnl_pgb' || :u",
        "memo" => "'payment by pgbench'",
        "digest" => "'0000000000000000000000000000000000000000000000000000000000000000'",
        "currency" => "'COP'",
        "line1" => "1",
        "amount1" => ":credit",
        "line2" => "2",
        "account2" => ":bill_payable_account_id",
        "line3" => "3",
        "account3" => "'acct_revenue_cop'",
        "amount3" | "fee" => ":fee",
        "payment_id" => "'pay_pgb' || :u",
        "confirmation" => "'PGB-' || :u",
        "customer_id" => "(SELECT customer_id FROM bench_customers WHERE n = :c)",
        "idem_api_key" => "'pgbench'",
        "idem_key" => "'k' || :u",
        "idem_hash" => "'0000000000000000000000000000000000000000000000000000000000000000'",
        "idem_status" => "201",
        "idem_body" => {
            "'{\"id\":\"pay_01JDPGBENCH00000000000000\",\"object\":\"payment\",\"amount\":100,\"currency\":\"COP\"}'"
        }
        "event1_id" => "'evt_pgb' || :u",
        "event1_type" => "'payment.succeeded'",
        "event1_payload" => {
            "'{\"id\":\"evt\",\"type\":\"payment.succeeded\",\"created_at\":\"2026-11-28T00:00:00.000000Z\",\"data\":{\"id\":\"pay_pgb\",\"amount\":1}}'"
        }
        "event2_id" | "event2_type" | "event2_payload" => "NULL",
        "line_count" => "3",
        _ => return None,
    })
}

/// Replaces every `$n` in `sql` with `value(n)`; a parameter without a value is an error.
fn substitute(sql: &str, value: &dyn Fn(usize) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len() * 2);
    let mut rest = sql;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let digits: String = rest[i + 1..].chars().take_while(char::is_ascii_digit).collect();
        let n: usize = digits.parse().map_err(|_| format!("a lone $ at {:?}", &rest[i..]))?;
        out.push_str(&value(n).ok_or_else(|| format!("no pgbench value for parameter ${n}"))?);
        rest = &rest[i + 1 + digits.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// One line, single spaces: pgbench reads a statement up to its semicolon, a meta-command to the
/// end of its line.
fn squash(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_parameter_is_named_once() {
        let mut used: Vec<usize> = Vec::new();
        let mut rest = super::PAY_POSTGRES;
        while let Some(i) = rest.find('$') {
            let digits: String = rest[i + 1..].chars().take_while(char::is_ascii_digit).collect();
            used.push(digits.parse().expect("a number"));
            rest = &rest[i + 1..];
        }
        used.sort_unstable();
        used.dedup();
        assert_eq!(used, (1..=super::PARAMS.len()).collect::<Vec<_>>());
    }
}
