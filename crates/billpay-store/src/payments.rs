//! Payments and refunds: the two postings that move a customer's money to a biller and back.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection};

use billpay_core::Rejection;
use billpay_core::bill::{BillStatus, PaymentStatus};
use billpay_core::biller::{AmountRule, BillerStatus, ReferenceRule};
use billpay_core::fee::{Fee, FeePayer};
use billpay_core::id::{self, Kind};

use crate::bills::bill_from_row;
use crate::idempotency::{self, Replay};
use crate::ledger::{Line, post, revenue_account};
use crate::models::{Bill, Payment, Receipt, Refund};
use crate::rows::{RowExt, parse_enum};
use crate::{Page, Result, Store, StoreError};

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
struct Payable {
    bill: Bill,
    biller_status: BillerStatus,
    amount_rule: AmountRule,
    fee: Fee,
    payable_account: String,
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
        payable_account: r.text("payable_account_id")?,
    })
}

impl Store {
    async fn lock_payable(&self, conn: &mut AnyConnection, target: &PayTarget) -> Result<Payable> {
        let row = match target {
            PayTarget::Bill(bill_id) => sqlx::query(crate::locking!(
                self,
                "SELECT b.id, b.biller_id, b.reference, b.customer_name, b.customer_id, b.currency, b.amount_due, \
                 b.outstanding, b.due_date, b.status, b.created_at, b.updated_at, r.status AS biller_status, \
                 r.amount_rule, r.fee_fixed, r.fee_bps, r.fee_payer, r.payable_account_id \
                 FROM bills b JOIN billers r ON r.id = b.biller_id WHERE b.id = $1",
                of "b"
            ))
            .bind(bill_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound(Kind::Bill))?,
            PayTarget::Reference { biller_id, reference } => {
                let biller = sqlx::query("SELECT reference_pattern, reference_hint FROM billers WHERE id = $1")
                    .bind(biller_id)
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound(Kind::Biller))?;
                let rule = ReferenceRule::new(&biller.text("reference_pattern")?).map_err(StoreError::Invalid)?;
                if !rule.matches(reference) {
                    return Err(Rejection::ReferenceInvalid { reference: reference.clone(), hint: biller.text("reference_hint")? }.into());
                }
                let unpaid = sqlx::query(crate::locking!(
                    self,
                    "SELECT b.id, b.biller_id, b.reference, b.customer_name, b.customer_id, b.currency, b.amount_due, \
                     b.outstanding, b.due_date, b.status, b.created_at, b.updated_at, r.status AS biller_status, \
                     r.amount_rule, r.fee_fixed, r.fee_bps, r.fee_payer, r.payable_account_id \
                     FROM bills b JOIN billers r ON r.id = b.biller_id \
                     WHERE b.biller_id = $1 AND b.reference = $2 AND b.status IN ('open', 'partially_paid') \
                     ORDER BY b.due_date, b.id LIMIT 1",
                    of "b"
                ))
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
                        return Err(if paid > 0 { Rejection::BillAlreadyPaid.into() } else { StoreError::NotFound(Kind::Bill) });
                    }
                }
            }
        };
        payable_from_row(&row)
    }

    /// Pays a bill from the customer's wallet in one transaction: fee, wallet debit, biller
    /// payable credit, platform revenue, the bill's outstanding amount, and the payment record.
    pub async fn pay(
        &self,
        customer_id: &str,
        target: &PayTarget,
        amount: i64,
        currency: &str,
        replay: Replay<'_, Payment>,
    ) -> Result<Payment> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let p = self.lock_payable(&mut tx, target).await?;
        let bill = &p.bill;
        if bill
            .customer_id
            .as_deref()
            .is_some_and(|c| c != customer_id)
        {
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

        let wallet = sqlx::query(
            "UPDATE wallets SET balance = balance - $1 WHERE customer_id = $2 AND currency = $3 AND balance >= $1 RETURNING account_id",
        )
        .bind(split.wallet_debit)
        .bind(customer_id)
        .bind(currency)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Rejection::InsufficientFunds { currency: currency.to_owned(), needed: split.wallet_debit })?
        .text("account_id")?;

        let outstanding = bill.amount_outstanding - amount;
        sqlx::query(
            "UPDATE bills SET outstanding = $2, status = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(&bill.id)
        .bind(outstanding)
        .bind(BillStatus::from_outstanding(bill.amount_due, outstanding).as_str())
        .bind(&now)
        .execute(&mut *tx)
        .await?;

        let payment_id = id::new(Kind::Payment);
        let revenue = revenue_account(currency);
        let journal_id = post(
            &mut tx,
            "payment",
            &format!("payment {payment_id} of bill {}", bill.id),
            currency,
            &[
                Line {
                    account: &wallet,
                    amount: -split.wallet_debit,
                },
                Line {
                    account: &p.payable_account,
                    amount: split.biller_credit,
                },
                Line {
                    account: &revenue,
                    amount: split.fee,
                },
            ],
            &now,
        )
        .await?;

        // A clash of confirmation numbers is one in ~10^11 per pair; try again rather than fail.
        let mut confirmation = id::confirmation_number();
        for _ in 0..5 {
            let done = sqlx::query(
                "INSERT INTO payments (id, confirmation, customer_id, biller_id, bill_id, wallet_account, currency, amount, fee, \
                 fee_payer, refunded, status, journal_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 'succeeded', $11, $12) ON CONFLICT (confirmation) DO NOTHING",
            )
            .bind(&payment_id)
            .bind(&confirmation)
            .bind(customer_id)
            .bind(&bill.biller_id)
            .bind(&bill.id)
            .bind(&wallet)
            .bind(currency)
            .bind(amount)
            .bind(split.fee)
            .bind(p.fee.payer.as_str())
            .bind(&journal_id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                break;
            }
            confirmation = id::confirmation_number();
        }
        let payment = Payment {
            id: payment_id,
            confirmation_number: confirmation,
            customer_id: customer_id.to_owned(),
            biller_id: bill.biller_id.clone(),
            bill_id: bill.id.clone(),
            currency: currency.to_owned(),
            amount,
            fee: split.fee,
            fee_payer: p.fee.payer,
            total_debited: split.wallet_debit,
            refunded_amount: 0,
            status: PaymentStatus::Succeeded,
            journal_id,
            created_at: now,
        };
        idempotency::record(&mut tx, replay, &payment).await?;
        tx.commit().await?;
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
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let pay = sqlx::query(crate::locking!(
            self,
            "SELECT p.bill_id, p.wallet_account, p.currency, p.amount, p.refunded, r.payable_account_id \
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
        let (bill_id, wallet, currency, payable) = (
            pay.text("bill_id")?,
            pay.text("wallet_account")?,
            pay.text("currency")?,
            pay.text("payable_account_id")?,
        );
        let bill = sqlx::query(crate::locking!(
            self,
            "SELECT amount_due, outstanding FROM bills WHERE id = $1"
        ))
        .bind(&bill_id)
        .fetch_one(&mut *tx)
        .await?;
        let outstanding = bill.int("outstanding")? + amount;
        sqlx::query(
            "UPDATE bills SET outstanding = $2, status = $3, updated_at = $4 WHERE id = $1",
        )
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
            &mut tx,
            "refund",
            &format!("refund {refund_id} of payment {payment_id}"),
            &currency,
            &[
                Line {
                    account: &payable,
                    amount: -amount,
                },
                Line {
                    account: &wallet,
                    amount,
                },
            ],
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
        idempotency::record(&mut tx, replay, &refund).await?;
        tx.commit().await?;
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

    pub async fn list_payments(
        &self,
        f: &PaymentFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<Payment>> {
        const SQL: &str = "SELECT id, confirmation, customer_id, biller_id, bill_id, currency, amount, fee, fee_payer, \
             refunded, status, journal_id, created_at FROM payments \
             WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR biller_id = $2) AND ($3 IS NULL OR bill_id = $3) \
             AND ($4 IS NULL OR status = $4) AND ($5 IS NULL OR created_at >= $5) AND ($6 IS NULL OR created_at < $6) \
             AND ($7 IS NULL OR id < $7) ORDER BY id DESC LIMIT $8";
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
        let items = rows
            .iter()
            .map(payment_from_row)
            .collect::<Result<Vec<_>>>()?;
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
