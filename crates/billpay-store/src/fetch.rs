//! Bill fetch, the store's side: each biller's fetch endpoint and secret, the bills a biller's
//! system answers with (stored in one transaction, autopay scheduled in it), the autopay
//! enrollments due a fetch ahead of their predicted billing date, and the scheduled payments a
//! fetch biller must confirm as still owed before the worker pays them. The HTTP side is
//! `billpay_worker::fetch`.

use sqlx::Connection;

use billpay_core::bill::BillStatus;
use billpay_core::biller::ReferenceRule;
use billpay_core::id::Kind;
use billpay_core::time::{format_date, parse_date};

use crate::bills::{NewBill, bill_from_row};
use crate::models::{Bill, Biller, ScheduledPayment};
use crate::rows::RowExt;
use crate::{Result, Store, StoreError, outbox};

/// The bill after a fetched one is expected this many days after its due date (a monthly cycle).
pub const BILLING_CYCLE_DAYS: i64 = 30;
/// The worker fetches this many days before the predicted due date.
pub const FETCH_LEAD_DAYS: i64 = 7;

/// A biller's fetch endpoint, with the secret that signs both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchConfig {
    pub biller_id: String,
    pub url: String,
    pub secret: String,
    pub timeout_ms: i64,
    pub attempts: i64,
}

/// What a biller sets.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub url: String,
    pub timeout_ms: i64,
    pub attempts: i64,
    /// A new secret even if one exists.
    pub rotate_secret: bool,
}

/// An autopay enrollment due a fetch.
#[derive(Debug, Clone)]
pub struct DueFetch {
    pub autopay_id: String,
    pub biller_id: String,
    pub reference: String,
}

/// A scheduled payment the biller must confirm, with what it is asked about.
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub scheduled: ScheduledPayment,
    pub reference: String,
    pub due_date: String,
}

/// One bill as a biller's system reported it, before it is checked.
#[derive(Debug, Clone)]
pub struct ReportedBill {
    pub reference: String,
    pub customer_name: String,
    pub amount_due: i64,
    pub currency: String,
    pub due_date: String,
}

/// Checks a biller's answer against its own rules; the bills to store, or what is wrong (named
/// by position, as `bills[i]`).
pub fn check_reported(biller: &Biller, bills: &[ReportedBill]) -> std::result::Result<Vec<NewBill>, String> {
    let rule =
        ReferenceRule::new(&biller.reference_pattern).map_err(|e| format!("the biller's reference rule: {e}"))?;
    bills
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if !rule.matches(&b.reference) {
                return Err(format!(
                    "bills[{i}].reference {:?} breaks the biller's reference rule",
                    b.reference
                ));
            }
            if b.currency != biller.currency {
                return Err(format!(
                    "bills[{i}].currency is {:?}; the biller bills in {}",
                    b.currency, biller.currency
                ));
            }
            billpay_core::money::validate_amount(b.amount_due).map_err(|e| format!("bills[{i}].amount_due: {e}"))?;
            parse_date(&b.due_date).map_err(|e| format!("bills[{i}].due_date: {e}"))?;
            let name = b.customer_name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(format!("bills[{i}].customer_name must be 1 to 200 characters"));
            }
            Ok(NewBill {
                reference: b.reference.clone(),
                customer_name: name.to_owned(),
                customer_id: None,
                amount_due: b.amount_due,
                due_date: b.due_date.clone(),
            })
        })
        .collect()
}

fn new_secret() -> String {
    let b: [u8; 32] = std::array::from_fn(|_| rand::random::<u8>());
    format!("bfsec_{}", hex::encode(b))
}

/// When to fetch next for an enrollment whose latest bill is due on `due`.
fn next_fetch_after(due: &str, today: &str) -> Result<String> {
    let due = parse_date(due).map_err(StoreError::Fault)?;
    let next = format_date(due + time::Duration::days(BILLING_CYCLE_DAYS - FETCH_LEAD_DAYS));
    Ok(if next.as_str() <= today { tomorrow(today)? } else { next })
}

fn tomorrow(today: &str) -> Result<String> {
    Ok(format_date(
        parse_date(today).map_err(StoreError::Fault)? + time::Duration::days(1),
    ))
}

impl Store {
    /// Sets a biller's fetch endpoint. A secret is made the first time, or when asked to rotate;
    /// active autopay enrollments on the biller are due a fetch today.
    pub async fn set_fetch_endpoint(&self, biller_id: &str, s: FetchSettings, today: &str) -> Result<FetchConfig> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let row = sqlx::query("SELECT fetch_secret FROM billers WHERE id = $1")
            .bind(biller_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound(Kind::Biller))?;
        let secret = match row.opt_text("fetch_secret")? {
            Some(s0) if !s.rotate_secret => s0,
            _ => new_secret(),
        };
        sqlx::query(
            "UPDATE billers SET fetch_url = $2, fetch_secret = $3, fetch_timeout_ms = $4, fetch_attempts = $5, updated_at = $6 \
             WHERE id = $1",
        )
        .bind(biller_id)
        .bind(&s.url)
        .bind(&secret)
        .bind(s.timeout_ms)
        .bind(s.attempts)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE autopay_enrollments SET next_fetch_on = $2 WHERE biller_id = $1 AND status = 'active' AND next_fetch_on IS NULL",
        )
        .bind(biller_id)
        .bind(today)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(FetchConfig {
            biller_id: biller_id.to_owned(),
            url: s.url,
            secret,
            timeout_ms: s.timeout_ms,
            attempts: s.attempts,
        })
    }

    /// Stops fetching from a biller: its bills are again only those it presents.
    pub async fn remove_fetch_endpoint(&self, biller_id: &str) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "UPDATE billers SET fetch_url = NULL, fetch_secret = NULL, updated_at = $2 WHERE id = $1 AND fetch_url IS NOT NULL",
        )
        .bind(biller_id)
        .bind(billpay_core::time::now())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let exists = sqlx::query("SELECT id FROM billers WHERE id = $1")
                .bind(biller_id)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match exists {
                None => StoreError::NotFound(Kind::Biller),
                Some(_) => StoreError::Conflict("this biller has no fetch endpoint".into()),
            });
        }
        sqlx::query("UPDATE autopay_enrollments SET next_fetch_on = NULL WHERE biller_id = $1")
            .bind(biller_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The biller's fetch endpoint, if it has one.
    pub async fn fetch_config(&self, biller_id: &str) -> Result<Option<FetchConfig>> {
        let row =
            sqlx::query("SELECT fetch_url, fetch_secret, fetch_timeout_ms, fetch_attempts FROM billers WHERE id = $1")
                .bind(biller_id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound(Kind::Biller))?;
        let (Some(url), Some(secret)) = (row.opt_text("fetch_url")?, row.opt_text("fetch_secret")?) else {
            return Ok(None);
        };
        Ok(Some(FetchConfig {
            biller_id: biller_id.to_owned(),
            url,
            secret,
            timeout_ms: row.int("fetch_timeout_ms")?,
            attempts: row.int("fetch_attempts")?,
        }))
    }

    /// Stores the bills a biller's system answered with, all in one transaction: bills BillPay
    /// already holds (same reference and due date) are kept as they are, new ones are presented
    /// and autopay schedules them. Returns every bill of the answer as BillPay now holds it.
    pub async fn store_fetched_bills(&self, biller_id: &str, bills: &[NewBill]) -> Result<Vec<Bill>> {
        let now = billpay_core::time::now();
        let today = billpay_core::time::business_today();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        // Suspended billers present nothing, fetched or not.
        let (currency, _, _) = crate::bills::biller_rules(&mut tx, biller_id).await?;
        let mut out = Vec::with_capacity(bills.len());
        for b in bills {
            let created = crate::bills::insert_bill(&mut tx, biller_id, &currency, b, &now).await?;
            let row = sqlx::query(
                "SELECT id, biller_id, reference, customer_name, customer_id, currency, amount_due, outstanding, due_date, \
                 status, created_at, updated_at FROM bills WHERE biller_id = $1 AND reference = $2 AND due_date = $3",
            )
            .bind(biller_id)
            .bind(&b.reference)
            .bind(&b.due_date)
            .fetch_one(&mut *tx)
            .await?;
            let bill = bill_from_row(&row)?;
            if created.is_some() {
                crate::scheduled::autopay_new_bill(&mut tx, &bill, &today, &now).await?;
            }
            out.push(bill);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Active autopay enrollments on fetch billers whose next fetch is due by `today`.
    pub async fn fetches_due(&self, today: &str, limit: i64) -> Result<Vec<DueFetch>> {
        let rows = sqlx::query(
            "SELECT a.id, a.biller_id, a.reference FROM autopay_enrollments a JOIN billers b ON b.id = a.biller_id \
             WHERE a.status = 'active' AND a.next_fetch_on IS NOT NULL AND a.next_fetch_on <= $1 AND b.fetch_url IS NOT NULL \
             ORDER BY a.next_fetch_on, a.id LIMIT $2",
        )
        .bind(today)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DueFetch {
                    autopay_id: r.text("id")?,
                    biller_id: r.text("biller_id")?,
                    reference: r.text("reference")?,
                })
            })
            .collect()
    }

    /// Records a fetch ahead for an enrollment: the next one a week before the bill after the
    /// latest one fetched, or tomorrow when nothing came back.
    pub async fn fetched_ahead(&self, autopay_id: &str, latest_due: Option<&str>, today: &str) -> Result<String> {
        let next = match latest_due {
            Some(due) => next_fetch_after(due, today)?,
            None => tomorrow(today)?,
        };
        sqlx::query("UPDATE autopay_enrollments SET next_fetch_on = $2 WHERE id = $1 AND status = 'active'")
            .bind(autopay_id)
            .bind(&next)
            .execute(&self.pool)
            .await?;
        Ok(next)
    }

    /// Pending scheduled payments due by `today` on fetch billers, not yet confirmed today, each
    /// with its bill's reference and due date (what the biller is asked about).
    pub async fn confirmations_due(&self, today: &str, limit: i64) -> Result<Vec<Confirmation>> {
        let rows = sqlx::query(
            "SELECT s.id, s.customer_id, s.biller_id, s.bill_id, s.currency, s.amount, s.execute_on, s.status, s.autopay_id, \
             s.payment_id, s.failure_code, s.failure_reason, s.created_at, s.updated_at, b.reference, b.due_date \
             FROM scheduled_payments s JOIN bills b ON b.id = s.bill_id JOIN billers r ON r.id = s.biller_id \
             WHERE s.status = 'pending' AND s.execute_on <= $1 AND r.fetch_url IS NOT NULL \
             AND (s.confirmed_on IS NULL OR s.confirmed_on < $1) ORDER BY s.execute_on, s.id LIMIT $2",
        )
        .bind(today)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Confirmation {
                    scheduled: crate::scheduled::scheduled_from_row(r)?,
                    reference: r.text("reference")?,
                    due_date: r.text("due_date")?,
                })
            })
            .collect()
    }

    /// The biller confirmed the bill is still owed: the worker may pay it today.
    pub async fn confirm_scheduled(&self, scheduled_id: &str, today: &str) -> Result<()> {
        sqlx::query("UPDATE scheduled_payments SET confirmed_on = $2 WHERE id = $1 AND status = 'pending'")
            .bind(scheduled_id)
            .bind(today)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The biller no longer reports the bill as owed (paid at another channel, or withdrawn): the
    /// scheduled payment is cancelled and the customer told; the bill, if nobody paid anything on
    /// it through BillPay, is withdrawn too. One transaction.
    pub async fn withdraw_scheduled(&self, scheduled_id: &str) -> Result<ScheduledPayment> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "UPDATE scheduled_payments SET status = 'cancelled', failure_code = 'bill_paid_elsewhere', \
             failure_reason = 'the biller no longer reports this bill as owed', updated_at = $2 WHERE id = $1 AND status = 'pending'",
        )
        .bind(scheduled_id)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT customer_id, bill_id, biller_id, amount, currency FROM scheduled_payments WHERE id = $1",
        )
        .bind(scheduled_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound(Kind::ScheduledPayment))?;
        if done.rows_affected() == 1 {
            let bill_id = row.text("bill_id")?;
            sqlx::query(
                "UPDATE bills SET status = 'cancelled', updated_at = $2 WHERE id = $1 AND status = $3 \
                 AND NOT EXISTS (SELECT 1 FROM payments WHERE bill_id = $1)",
            )
            .bind(&bill_id)
            .bind(&now)
            .bind(BillStatus::Open.as_str())
            .execute(&mut *tx)
            .await?;
            let message = format!(
                "your scheduled payment of {} {} for bill {} was not made: the biller reports the bill as already paid",
                row.int("amount")?,
                row.text("currency")?,
                bill_id
            );
            crate::scheduled::notify(
                &mut tx,
                &row.text("customer_id")?,
                "scheduled_payment.cancelled",
                scheduled_id,
                &message,
                &now,
            )
            .await?;
            let s = crate::scheduled::scheduled_in(&mut tx, scheduled_id).await?;
            let ev = outbox::event("scheduled_payment.cancelled", &s, &now)?;
            outbox::emit(&mut tx, &ev, Some(&row.text("biller_id")?), &now).await?;
        }
        let s = crate::scheduled::scheduled_in(&mut tx, scheduled_id).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// The biller could not confirm the bill today: the payment waits for tomorrow's check, or,
    /// on its bill's due date, fails and the customer is told. Paying without the
    /// biller's word could pay a bill twice.
    pub async fn unconfirmed_scheduled(&self, scheduled_id: &str, today: &str, why: &str) -> Result<ScheduledPayment> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let row = sqlx::query(
            "SELECT s.customer_id, s.biller_id, b.due_date FROM scheduled_payments s JOIN bills b ON b.id = s.bill_id \
             WHERE s.id = $1 AND s.status = 'pending'",
        )
        .bind(scheduled_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            if row.text("due_date")?.as_str() > today {
                sqlx::query("UPDATE scheduled_payments SET execute_on = $2, updated_at = $3 WHERE id = $1")
                    .bind(scheduled_id)
                    .bind(tomorrow(today)?)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
            } else {
                let reason = format!("the biller could not confirm the bill is still owed: {why}");
                sqlx::query(
                    "UPDATE scheduled_payments SET status = 'failed', failure_code = 'biller_unreachable', failure_reason = $2, \
                     updated_at = $3 WHERE id = $1",
                )
                .bind(scheduled_id)
                .bind(&reason)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
                let message = format!("your scheduled payment {scheduled_id} was not made: {reason}");
                crate::scheduled::notify(
                    &mut tx,
                    &row.text("customer_id")?,
                    "scheduled_payment.failed",
                    scheduled_id,
                    &message,
                    &now,
                )
                .await?;
                let s = crate::scheduled::scheduled_in(&mut tx, scheduled_id).await?;
                let ev = outbox::event("scheduled_payment.failed", &s, &now)?;
                outbox::emit(&mut tx, &ev, Some(&row.text("biller_id")?), &now).await?;
            }
        }
        let s = crate::scheduled::scheduled_in(&mut tx, scheduled_id).await?;
        tx.commit().await?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_fetch_is_a_week_before_the_predicted_bill() {
        assert_eq!(next_fetch_after("2026-12-15", "2026-12-04").unwrap(), "2027-01-07");
        // A bill long overdue predicts a date in the past: fetch again tomorrow.
        assert_eq!(next_fetch_after("2026-10-01", "2026-12-04").unwrap(), "2026-12-05");
    }
}
