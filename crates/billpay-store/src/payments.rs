//! Payments and refunds: the two postings that move a customer's money to a biller and back.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection};

use billpay_core::Rejection;
use billpay_core::bill::{BillStatus, PaymentStatus};
use billpay_core::biller::{AmountRule, BillerStatus, ReferenceRule};
use billpay_core::fee::{Fee, FeePayer, Split};
use billpay_core::id::{self, Kind};

use crate::bills::bill_from_row;
use crate::idempotency::{self, Replay};
use billpay_core::posting::{AccountId, Posting};

use crate::guarded::{Guarded, Refused};
use crate::ledger::{post, stored_currency};
use crate::models::{Bill, Payment, Receipt, Refund};
use crate::rows::{RowExt, parse_enum};
use crate::{Contention, Page, Result, Store, StoreError, is_unique_violation, outbox};

/// Which bill a payment is for.
#[derive(Debug, Clone)]
pub enum PayTarget {
    Bill(String),
    /// The oldest unpaid bill with this reference at this biller.
    Reference {
        biller_id: String,
        reference: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub customer_id: Option<String>,
    pub biller_id: Option<String>,
    pub bill_id: Option<String>,
    pub status: Option<PaymentStatus>,
    /// Inclusive lower bound on `created_at`.
    pub created_from: Option<String>,
    /// Exclusive upper bound on `created_at`.
    pub created_to: Option<String>,
}

const PAYMENT_COLUMNS_BY_ID: &str = "SELECT id, confirmation, customer_id, biller_id, bill_id, currency, amount, fee, \
     fee_payer, refunded, status, journal_id, created_at FROM payments WHERE id = $1";

fn payment_from_row(r: &AnyRow) -> Result<Payment> {
    let amount = r.int("amount")?;
    let fee = r.int("fee")?;
    let fee_payer = parse_enum("fee_payer", r.text("fee_payer")?, FeePayer::parse)?;
    Ok(Payment {
        id: r.text("id")?,
        confirmation_number: r.text("confirmation")?,
        customer_id: r.text("customer_id")?,
        biller_id: r.text("biller_id")?,
        bill_id: r.text("bill_id")?,
        currency: r.text("currency")?,
        amount,
        fee,
        fee_payer,
        total_debited: if fee_payer == FeePayer::Customer {
            amount + fee
        } else {
            amount
        },
        refunded_amount: r.int("refunded")?,
        status: parse_enum("status", r.text("status")?, PaymentStatus::parse)?,
        journal_id: r.text("journal_id")?,
        created_at: r.text("created_at")?,
    })
}

fn refund_from_row(r: &AnyRow) -> Result<Refund> {
    Ok(Refund {
        id: r.text("id")?,
        payment_id: r.text("payment_id")?,
        currency: r.text("currency")?,
        amount: r.int("amount")?,
        reason: r.text("reason")?,
        journal_id: r.text("journal_id")?,
        created_at: r.text("created_at")?,
    })
}

/// A bill locked for payment, with its biller's rules.
pub(crate) struct Payable {
    pub(crate) bill: Bill,
    biller_status: BillerStatus,
    pub(crate) amount_rule: AmountRule,
    pub(crate) fee: Fee,
    payable_account: AccountId,
}

fn payable_from_row(r: &AnyRow) -> Result<Payable> {
    Ok(Payable {
        bill: bill_from_row(r)?,
        biller_status: parse_enum("status", r.text("biller_status")?, BillerStatus::parse)?,
        amount_rule: parse_enum("amount_rule", r.text("amount_rule")?, AmountRule::parse)?,
        fee: Fee {
            fixed: r.int("fee_fixed")?,
            bps: r.int("fee_bps")?,
            payer: parse_enum("fee_payer", r.text("fee_payer")?, FeePayer::parse)?,
        },
        payable_account: {
            let id = r.text("payable_account_id")?;
            AccountId::parse(&id)
                .ok_or_else(|| StoreError::Fault(format!("biller payable account {id:?} is not one")))?
        },
    })
}

impl Payable {
    /// The payment record a decision produces, with a fresh confirmation number.
    fn planned(
        &self,
        payment_id: String,
        customer_id: &str,
        amount: i64,
        split: &Split,
        journal_id: String,
        now: String,
    ) -> Payment {
        Payment {
            id: payment_id,
            confirmation_number: id::confirmation_number(),
            customer_id: customer_id.to_owned(),
            biller_id: self.bill.biller_id.clone(),
            bill_id: self.bill.id.clone(),
            currency: self.bill.currency.clone(),
            amount,
            fee: split.fee,
            fee_payer: self.fee.payer,
            total_debited: split.wallet_debit,
            refunded_amount: 0,
            status: PaymentStatus::Succeeded,
            journal_id,
            created_at: now,
        }
    }
}

/// The bill-and-biller columns a payment decides on.
macro_rules! payable_select {
    ($where:literal) => {
        concat!(
            "SELECT b.id, b.biller_id, b.reference, b.customer_name, b.customer_id, b.currency, b.amount_due, \
             b.outstanding, b.due_date, b.status, b.created_at, b.updated_at, r.status AS biller_status, \
             r.amount_rule, r.fee_fixed, r.fee_bps, r.fee_payer, r.payable_account_id \
             FROM bills b JOIN billers r ON r.id = b.biller_id ",
            $where
        )
    };
}

/// A payment decided: the split of its amount and the journal it posts.
pub(crate) struct PaymentPlan {
    pub(crate) split: Split,
    pub(crate) wallet: AccountId,
    pub(crate) posting: Posting,
}

/// Checks every rule a payment must pass against the bill as read, splits the amount, and plans
/// the journal. A rule the request breaks is a refusal; a plan that breaks a posting invariant is
/// a fault.
pub(crate) fn decide(p: &Payable, customer_id: &str, amount: i64, currency: &str) -> Result<PaymentPlan> {
    let bill = &p.bill;
    if bill.customer_id.as_deref().is_some_and(|c| c != customer_id) {
        return Err(StoreError::NotFound(Kind::Bill));
    }
    if p.biller_status == BillerStatus::Suspended {
        return Err(Rejection::BillerSuspended.into());
    }
    match bill.status {
        BillStatus::Cancelled => return Err(Rejection::BillCancelled.into()),
        BillStatus::Paid => return Err(Rejection::BillAlreadyPaid.into()),
        BillStatus::Open | BillStatus::PartiallyPaid => {}
    }
    if bill.currency != currency {
        return Err(Rejection::CurrencyMismatch {
            given: currency.to_owned(),
            expected: bill.currency.clone(),
        }
        .into());
    }
    p.amount_rule
        .check(amount, bill.amount_outstanding)
        .map_err(Rejection::AmountNotAllowed)?;
    let split = p.fee.split(amount).map_err(Rejection::AmountNotAllowed)?;
    let money = stored_currency(&bill.currency)?;
    let wallet = AccountId::wallet(customer_id, money);
    let posting = Posting::payment(&wallet, &p.payable_account, money, &split)?;
    Ok(PaymentPlan { split, wallet, posting })
}

/// The events a payment puts in the outbox: `payment.succeeded`, and `bill.paid` when it paid the
/// bill off.
fn payment_events(bill: &Bill, outstanding: i64, payment: &Payment, now: &str) -> Result<Vec<outbox::NewEvent>> {
    let mut events = vec![outbox::event("payment.succeeded", payment, now)?];
    let status = BillStatus::from_outstanding(bill.amount_due, outstanding);
    if status == BillStatus::Paid {
        let mut paid = bill.clone();
        paid.amount_outstanding = outstanding;
        paid.status = status;
        paid.updated_at = now.to_owned();
        events.push(outbox::event("bill.paid", &paid, now)?);
    }
    Ok(events)
}

/// Refuses a reference that does not match the pattern of the biller row it is checked against
/// (a row with `reference_pattern` and `reference_hint`).
pub(crate) fn check_reference(biller: &AnyRow, reference: &str) -> Result<()> {
    let rule = ReferenceRule::new(&biller.text("reference_pattern")?).map_err(StoreError::Fault)?;
    if rule.matches(reference) {
        Ok(())
    } else {
        Err(Rejection::ReferenceInvalid {
            reference: reference.to_owned(),
            hint: biller.text("reference_hint")?,
        }
        .into())
    }
}

/// How many times an optimistic payment re-reads a bill that changed under it before giving up.
const OPTIMISTIC_ATTEMPTS: usize = 8;

/// The read of a bill by id, with its biller's rules (the benchmark runs it too).
pub(crate) const PAYABLE_BY_ID: &str = payable_select!("WHERE b.id = $1");

impl Store {
    /// Reads the bill a payment targets, with its biller's rules; `lock` takes the bill's row lock
    /// (PostgreSQL only; SQLite's single writer already serialises transactions).
    pub(crate) async fn read_payable(
        &self,
        conn: &mut AnyConnection,
        target: &PayTarget,
        lock: bool,
    ) -> Result<Payable> {
        let pg_lock = lock && self.backend == crate::Backend::Postgres;
        let row = match target {
            PayTarget::Bill(bill_id) => {
                let sql = if pg_lock {
                    concat!(payable_select!("WHERE b.id = $1"), " FOR UPDATE OF b")
                } else {
                    payable_select!("WHERE b.id = $1")
                };
                sqlx::query(sql)
                    .bind(bill_id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound(Kind::Bill))?
            }
            PayTarget::Reference { biller_id, reference } => {
                let biller = sqlx::query("SELECT reference_pattern, reference_hint FROM billers WHERE id = $1")
                    .bind(biller_id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound(Kind::Biller))?;
                check_reference(&biller, reference)?;
                let sql = if pg_lock {
                    concat!(
                        payable_select!(
                            "WHERE b.biller_id = $1 AND b.reference = $2 AND b.status IN ('open', 'partially_paid') ORDER BY b.due_date, b.id LIMIT 1"
                        ),
                        " FOR UPDATE OF b"
                    )
                } else {
                    payable_select!(
                        "WHERE b.biller_id = $1 AND b.reference = $2 AND b.status IN ('open', 'partially_paid') ORDER BY b.due_date, b.id LIMIT 1"
                    )
                };
                let unpaid = sqlx::query(sql)
                    .bind(biller_id)
                    .bind(reference)
                    .fetch_optional(&mut *conn)
                    .await?;
                match unpaid {
                    Some(row) => row,
                    None => {
                        let paid = sqlx::query("SELECT COUNT(*) AS n FROM bills WHERE biller_id = $1 AND reference = $2 AND status = 'paid'")
                            .bind(biller_id)
                            .bind(reference)
                            .fetch_one(&mut *conn)
                            .await?
                            .int("n")?;
                        return Err(if paid > 0 {
                            Rejection::BillAlreadyPaid.into()
                        } else {
                            StoreError::NotFound(Kind::Bill)
                        });
                    }
                }
            }
        };
        payable_from_row(&row)
    }

    /// Pays a bill from the customer's wallet, atomically: fee, wallet debit, biller payable
    /// credit, platform revenue, the bill's outstanding amount, the payment record, and the
    /// idempotency record all commit together or not at all.
    pub async fn pay(
        &self,
        customer_id: &str,
        target: &PayTarget,
        amount: i64,
        currency: &str,
        replay: Replay<'_, Payment>,
    ) -> Result<Payment> {
        match self.backend {
            crate::Backend::Postgres => self.pay_optimistic(customer_id, target, amount, currency, replay).await,
            crate::Backend::Sqlite => {
                self.pay_in_transaction(customer_id, target, amount, currency, replay)
                    .await
            }
        }
    }

    /// The payment as one guarded statement: two round trips to PostgreSQL instead of eleven.
    ///
    /// The first attempt reads the bill without a lock. When another payment changed it first,
    /// [`Contention::Queue`] (the default) decides again inside a transaction that holds the
    /// bill's row lock, so concurrent payments of one bill wait their turn instead of failing;
    /// [`Contention::Retry`] re-reads without a lock. Either way a bill that keeps changing
    /// after [`OPTIMISTIC_ATTEMPTS`] tries is `Contention`, a transient answer.
    async fn pay_optimistic(
        &self,
        customer_id: &str,
        target: &PayTarget,
        amount: i64,
        currency: &str,
        replay: Replay<'_, Payment>,
    ) -> Result<Payment> {
        let mut conn = self.pool.acquire().await?;
        for attempt in 0..OPTIMISTIC_ATTEMPTS {
            let locked = attempt > 0 && self.contention == Contention::Queue;
            let outcome = if locked {
                let mut tx = conn.begin().await?;
                let outcome = self
                    .pay_guarded(&mut tx, customer_id, target, amount, currency, replay, true)
                    .await?;
                if outcome.is_some() {
                    tx.commit().await?;
                }
                outcome
            } else {
                self.pay_guarded(&mut conn, customer_id, target, amount, currency, replay, false)
                    .await?
            };
            if let Some(payment) = outcome {
                return Ok(payment);
            }
        }
        Err(StoreError::Contention)
    }

    /// One decision and one guarded statement; `None` when a guard found the bill changed.
    #[allow(clippy::too_many_arguments)]
    async fn pay_guarded(
        &self,
        conn: &mut AnyConnection,
        customer_id: &str,
        target: &PayTarget,
        amount: i64,
        currency: &str,
        replay: Replay<'_, Payment>,
        lock: bool,
    ) -> Result<Option<Payment>> {
        let p = self.read_payable(&mut *conn, target, lock).await?;
        let plan = decide(&p, customer_id, amount, currency)?;
        let bill = &p.bill;
        let now = billpay_core::time::now();
        let payment_id = id::new(Kind::Payment);
        let journal_id = id::new(Kind::Journal);
        let memo = format!("payment {payment_id} of bill {}", bill.id);
        let outstanding = bill.amount_outstanding - amount;
        let payment = p.planned(
            payment_id,
            customer_id,
            amount,
            &plan.split,
            journal_id.clone(),
            now.clone(),
        );
        let events = payment_events(bill, outstanding, &payment, &now)?;
        let statement = Guarded {
            payable: &p,
            posting: &plan.posting,
            amount,
            fee: plan.split.fee,
            wallet_debit: -plan.posting.amount_on(&plan.wallet),
            wallet_account: plan.wallet.as_str(),
            customer_id,
            payment_id: &payment.id,
            confirmation: &payment.confirmation_number,
            journal_id: &journal_id,
            memo: &memo,
            now: &now,
            idempotency: replay.map(|(k, render)| {
                let (status, body) = render(&payment);
                (k, status, body)
            }),
            events: &events,
        };
        let Err(e) = statement.execute(conn).await else {
            return Ok(Some(payment));
        };
        match Refused::of(&e) {
            Some(Refused::Stale) => Ok(None),
            Some(Refused::InsufficientFunds) => Err(Rejection::InsufficientFunds {
                currency: currency.to_owned(),
                needed: plan.split.wallet_debit,
            }
            .into()),
            Some(Refused::PlanMismatch) => Err(StoreError::Fault(format!(
                "payment {} of bill {}: the entries written differ from the posting plan",
                payment.id, bill.id
            ))),
            None if is_unique_violation(&e, "idempotency_keys") => Err(StoreError::IdempotencyRace),
            // A clash of confirmation numbers: decide again with a new one.
            None if is_unique_violation(&e, "payments") => Ok(None),
            None => Err(e.into()),
        }
    }

    /// The payment as a transaction that locks the bill and writes step by step.
    async fn pay_in_transaction(
        &self,
        customer_id: &str,
        target: &PayTarget,
        amount: i64,
        currency: &str,
        replay: Replay<'_, Payment>,
    ) -> Result<Payment> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let payment = self.pay_within(&mut tx, customer_id, target, amount, currency).await?;
        idempotency::record(&mut tx, replay, &payment).await?;
        tx.commit().await?;
        Ok(payment)
    }

    /// The payment's writes, in the caller's transaction: the bill locked, the wallet debited,
    /// the journal posted, the payment recorded and its events put in the outbox.
    pub(crate) async fn pay_within(
        &self,
        tx: &mut AnyConnection,
        customer_id: &str,
        target: &PayTarget,
        amount: i64,
        currency: &str,
    ) -> Result<Payment> {
        let now = billpay_core::time::now();
        let p = self.read_payable(&mut *tx, target, true).await?;
        let plan = decide(&p, customer_id, amount, currency)?;
        let split = plan.split;
        let bill = &p.bill;

        let debited = sqlx::query(
            "UPDATE wallets SET balance = balance - $1 WHERE account_id = $2 AND balance >= $1 RETURNING account_id",
        )
        .bind(-plan.posting.amount_on(&plan.wallet))
        .bind(plan.wallet.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if debited.is_none() {
            return Err(Rejection::InsufficientFunds {
                currency: currency.to_owned(),
                needed: split.wallet_debit,
            }
            .into());
        }
        let wallet = plan.wallet.as_str();

        let outstanding = bill.amount_outstanding - amount;
        sqlx::query("UPDATE bills SET outstanding = $2, status = $3, updated_at = $4 WHERE id = $1")
            .bind(&bill.id)
            .bind(outstanding)
            .bind(BillStatus::from_outstanding(bill.amount_due, outstanding).as_str())
            .bind(&now)
            .execute(&mut *tx)
            .await?;

        let payment_id = id::new(Kind::Payment);
        let journal_id = post(
            &mut *tx,
            &plan.posting,
            &format!("payment {payment_id} of bill {}", bill.id),
            &now,
        )
        .await?;

        // A clash of confirmation numbers is one in ~10^11 per pair; try again rather than fail.
        let mut payment = p.planned(payment_id, customer_id, amount, &split, journal_id, now);
        let mut inserted = false;
        for _ in 0..5 {
            let done = sqlx::query(
                "INSERT INTO payments (id, confirmation, customer_id, biller_id, bill_id, wallet_account, currency, amount, fee, \
                 fee_payer, refunded, status, journal_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 'succeeded', $11, $12) ON CONFLICT (confirmation) DO NOTHING",
            )
            .bind(&payment.id)
            .bind(&payment.confirmation_number)
            .bind(customer_id)
            .bind(&payment.biller_id)
            .bind(&payment.bill_id)
            .bind(wallet)
            .bind(currency)
            .bind(amount)
            .bind(split.fee)
            .bind(p.fee.payer.as_str())
            .bind(&payment.journal_id)
            .bind(&payment.created_at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                inserted = true;
                break;
            }
            payment.confirmation_number = id::confirmation_number();
        }
        if !inserted {
            return Err(StoreError::Contention);
        }
        for ev in payment_events(bill, outstanding, &payment, &payment.created_at)? {
            outbox::emit(&mut *tx, &ev, Some(&payment.biller_id), &payment.created_at).await?;
        }
        Ok(payment)
    }

    /// Refunds part or all of a payment with a new, reversing journal: the biller's payable pays
    /// back into the wallet and the bill's outstanding amount goes back up. Fees are not refunded.
    pub async fn refund(
        &self,
        payment_id: &str,
        amount: i64,
        reason: &str,
        replay: Replay<'_, Refund>,
    ) -> Result<Refund> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let refund = self.refund_in(&mut tx, payment_id, amount, reason).await?;
        idempotency::record(&mut tx, replay, &refund).await?;
        tx.commit().await?;
        Ok(refund)
    }

    /// A refund's writes, in the caller's transaction (a complaint's resolution refunds in its own).
    pub(crate) async fn refund_in(
        &self,
        tx: &mut sqlx::AnyConnection,
        payment_id: &str,
        amount: i64,
        reason: &str,
    ) -> Result<Refund> {
        let now = billpay_core::time::now();
        let pay = sqlx::query(crate::locking!(
            self,
            "SELECT p.bill_id, p.biller_id, p.wallet_account, p.currency, p.amount, p.refunded, r.payable_account_id \
             FROM payments p JOIN billers r ON r.id = p.biller_id WHERE p.id = $1",
            of "p"
        ))
        .bind(payment_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound(Kind::Payment))?;
        let (paid, refunded) = (pay.int("amount")?, pay.int("refunded")?);
        if amount > paid - refunded {
            return Err(Rejection::RefundExceedsPayment {
                requested: amount,
                refundable: paid - refunded,
            }
            .into());
        }
        let biller_id = pay.text("biller_id")?;
        let (bill_id, wallet, currency, payable) = (
            pay.text("bill_id")?,
            pay.text("wallet_account")?,
            pay.text("currency")?,
            pay.text("payable_account_id")?,
        );
        let stored_account = |id: &str| {
            AccountId::parse(id)
                .ok_or_else(|| StoreError::Fault(format!("payment {payment_id}: {id:?} is not an account")))
        };
        let posting = Posting::refund(
            &stored_account(&payable)?,
            &stored_account(&wallet)?,
            stored_currency(&currency)?,
            amount,
        )?;
        let bill = sqlx::query(crate::locking!(
            self,
            "SELECT amount_due, outstanding FROM bills WHERE id = $1"
        ))
        .bind(&bill_id)
        .fetch_one(&mut *tx)
        .await?;
        let outstanding = bill.int("outstanding")? + amount;
        sqlx::query("UPDATE bills SET outstanding = $2, status = $3, updated_at = $4 WHERE id = $1")
            .bind(&bill_id)
            .bind(outstanding)
            .bind(BillStatus::from_outstanding(bill.int("amount_due")?, outstanding).as_str())
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE wallets SET balance = balance + $1 WHERE account_id = $2")
            .bind(amount)
            .bind(&wallet)
            .execute(&mut *tx)
            .await?;
        let refund_id = id::new(Kind::Refund);
        let journal_id = post(
            &mut *tx,
            &posting,
            &format!("refund {refund_id} of payment {payment_id}"),
            &now,
        )
        .await?;
        sqlx::query("INSERT INTO refunds (id, payment_id, amount, reason, journal_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&refund_id)
            .bind(payment_id)
            .bind(amount)
            .bind(reason)
            .bind(&journal_id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        let refunded = refunded + amount;
        sqlx::query("UPDATE payments SET refunded = $2, status = $3 WHERE id = $1")
            .bind(payment_id)
            .bind(refunded)
            .bind(PaymentStatus::after_refunds(paid, refunded).as_str())
            .execute(&mut *tx)
            .await?;
        let refund = Refund {
            id: refund_id,
            payment_id: payment_id.to_owned(),
            currency,
            amount,
            reason: reason.to_owned(),
            journal_id,
            created_at: now,
        };
        let ev = outbox::event("payment.refunded", &refund, &refund.created_at)?;
        outbox::emit(&mut *tx, &ev, Some(&biller_id), &refund.created_at).await?;
        Ok(refund)
    }

    pub async fn get_payment(&self, payment_id: &str) -> Result<Payment> {
        let row = sqlx::query(PAYMENT_COLUMNS_BY_ID)
            .bind(payment_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(payment_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound(Kind::Payment))
    }

    pub async fn list_payments(&self, f: &PaymentFilter, after: Option<&str>, limit: i64) -> Result<Page<Payment>> {
        const SQL: &str = "SELECT id, confirmation, customer_id, biller_id, bill_id, currency, amount, fee, fee_payer, \
             refunded, status, journal_id, created_at FROM payments \
             WHERE (CAST($1 AS TEXT) IS NULL OR customer_id = $1) AND (CAST($2 AS TEXT) IS NULL OR biller_id = $2) AND (CAST($3 AS TEXT) IS NULL OR bill_id = $3) \
             AND (CAST($4 AS TEXT) IS NULL OR status = $4) AND (CAST($5 AS TEXT) IS NULL OR created_at >= $5) AND (CAST($6 AS TEXT) IS NULL OR created_at < $6) \
             AND (CAST($7 AS TEXT) IS NULL OR id < $7) ORDER BY id DESC LIMIT $8";
        let rows = sqlx::query(SQL)
            .bind(&f.customer_id)
            .bind(&f.biller_id)
            .bind(&f.bill_id)
            .bind(f.status.map(PaymentStatus::as_str))
            .bind(&f.created_from)
            .bind(&f.created_to)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(payment_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |p| &p.id))
    }

    pub async fn refunds_of(&self, payment_id: &str) -> Result<Vec<Refund>> {
        let rows = sqlx::query(
            "SELECT r.id, r.payment_id, p.currency, r.amount, r.reason, r.journal_id, r.created_at \
             FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.payment_id = $1 ORDER BY r.id",
        )
        .bind(payment_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(refund_from_row).collect()
    }

    pub async fn receipt(&self, payment_id: &str) -> Result<Receipt> {
        let payment = self.get_payment(payment_id).await?;
        let row = sqlx::query(
            "SELECT r.name AS biller_name, r.category, b.reference, b.due_date, c.name AS customer_name \
             FROM payments p JOIN billers r ON r.id = p.biller_id JOIN bills b ON b.id = p.bill_id \
             JOIN customers c ON c.id = p.customer_id WHERE p.id = $1",
        )
        .bind(payment_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Receipt {
            biller_name: row.text("biller_name")?,
            biller_category: row.text("category")?,
            bill_reference: row.text("reference")?,
            bill_due_date: row.text("due_date")?,
            customer_name: row.text("customer_name")?,
            refunds: self.refunds_of(payment_id).await?,
            payment,
        })
    }
}
