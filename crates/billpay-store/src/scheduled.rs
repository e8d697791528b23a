//! Scheduled payments, autopay and the notifications they send.
//!
//! A scheduled payment executes exactly once however many workers run: the worker takes the row
//! with `FOR UPDATE SKIP LOCKED` and, in that same transaction, pays and marks it done. A worker
//! that dies mid-way rolls back and releases the row for the next one.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection};

use billpay_core::id::{self, Kind};

use crate::models::{AutopayEnrollment, Bill, Notification, ScheduledPayment};
use crate::rows::RowExt;
use crate::{Page, PayTarget, Result, Store, StoreError, outbox};

/// A customer's request to pay later.
#[derive(Debug, Clone)]
pub struct NewScheduledPayment {
    pub customer_id: String,
    pub target: PayTarget,
    pub amount: i64,
    pub currency: String,
    /// `YYYY-MM-DD`, a business date today or later.
    pub execute_on: String,
}

/// A customer's autopay instruction.
#[derive(Debug, Clone)]
pub struct NewAutopay {
    pub customer_id: String,
    pub biller_id: String,
    pub reference: String,
    pub days_before: i64,
    /// `None`: the full amount of each bill.
    pub fixed_amount: Option<i64>,
    pub max_amount: Option<i64>,
}

macro_rules! scheduled_select {
    ($where:literal) => {
        concat!(
            "SELECT id, customer_id, biller_id, bill_id, currency, amount, execute_on, status, autopay_id, payment_id, \
             failure_code, failure_reason, created_at, updated_at FROM scheduled_payments ",
            $where
        )
    };
}

macro_rules! autopay_select {
    ($where:literal) => {
        concat!(
            "SELECT id, customer_id, biller_id, reference, currency, days_before, amount_mode, fixed_amount, max_amount, \
             status, created_at FROM autopay_enrollments ",
            $where
        )
    };
}

pub(crate) fn scheduled_from_row(r: &AnyRow) -> Result<ScheduledPayment> {
    Ok(ScheduledPayment {
        id: r.text("id")?,
        customer_id: r.text("customer_id")?,
        biller_id: r.text("biller_id")?,
        bill_id: r.text("bill_id")?,
        currency: r.text("currency")?,
        amount: r.int("amount")?,
        execute_on: r.text("execute_on")?,
        status: r.text("status")?,
        autopay_id: r.opt_text("autopay_id")?,
        payment_id: r.opt_text("payment_id")?,
        failure_code: r.opt_text("failure_code")?,
        failure_reason: r.opt_text("failure_reason")?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}

fn autopay_from_row(r: &AnyRow) -> Result<AutopayEnrollment> {
    Ok(AutopayEnrollment {
        id: r.text("id")?,
        customer_id: r.text("customer_id")?,
        biller_id: r.text("biller_id")?,
        reference: r.text("reference")?,
        currency: r.text("currency")?,
        days_before: r.int("days_before")?,
        amount_mode: r.text("amount_mode")?,
        fixed_amount: r.opt_int("fixed_amount")?,
        max_amount: r.opt_int("max_amount")?,
        status: r.text("status")?,
        created_at: r.text("created_at")?,
    })
}

async fn insert_scheduled(conn: &mut AnyConnection, s: &ScheduledPayment) -> Result<()> {
    sqlx::query(
        "INSERT INTO scheduled_payments (id, customer_id, biller_id, bill_id, currency, amount, execute_on, status, autopay_id, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $9)",
    )
    .bind(&s.id)
    .bind(&s.customer_id)
    .bind(&s.biller_id)
    .bind(&s.bill_id)
    .bind(&s.currency)
    .bind(s.amount)
    .bind(&s.execute_on)
    .bind(&s.autopay_id)
    .bind(&s.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A scheduled payment as the caller's transaction sees it.
pub(crate) async fn scheduled_in(conn: &mut AnyConnection, id: &str) -> Result<ScheduledPayment> {
    let row = sqlx::query(scheduled_select!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound(Kind::ScheduledPayment))?;
    scheduled_from_row(&row)
}

/// Tells a customer something, in the caller's transaction.
pub(crate) async fn notify(
    conn: &mut AnyConnection,
    customer_id: &str,
    kind: &str,
    subject_id: &str,
    message: &str,
    now: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO notifications (id, customer_id, kind, subject_id, message, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id::new(Kind::Notification))
        .bind(customer_id)
        .bind(kind)
        .bind(subject_id)
        .bind(message)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What autopay did about a bill.
#[derive(Debug, serde::Serialize)]
struct Skipped<'a> {
    autopay_id: &'a str,
    customer_id: &'a str,
    bill_id: &'a str,
    amount: i64,
    max_amount: i64,
    currency: &'a str,
    reason: &'static str,
}

/// Schedules the payment of a newly presented bill for every active autopay enrollment on its
/// biller and reference, in the transaction that created the bill. A bill over an enrollment's
/// cap is not scheduled; the customer is notified and `autopay.skipped` is emitted.
pub(crate) async fn autopay_new_bill(conn: &mut AnyConnection, bill: &Bill, today: &str, now: &str) -> Result<()> {
    let rows = sqlx::query(autopay_select!(
        "WHERE biller_id = $1 AND reference = $2 AND status = 'active'"
    ))
    .bind(&bill.biller_id)
    .bind(&bill.reference)
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let a = autopay_from_row(row)?;
        if bill.customer_id.as_deref().is_some_and(|c| c != a.customer_id) || a.currency != bill.currency {
            continue;
        }
        let amount = a.fixed_amount.unwrap_or(bill.amount_outstanding);
        if let Some(cap) = a.max_amount.filter(|cap| amount > *cap) {
            let message = format!(
                "autopay did not pay bill {} ({} {}) because it is over your limit of {} {}",
                bill.reference, amount, bill.currency, cap, bill.currency
            );
            notify(conn, &a.customer_id, "autopay.skipped", &bill.id, &message, now).await?;
            let ev = outbox::event(
                "autopay.skipped",
                &Skipped {
                    autopay_id: &a.id,
                    customer_id: &a.customer_id,
                    bill_id: &bill.id,
                    amount,
                    max_amount: cap,
                    currency: &bill.currency,
                    reason: "over_max_amount",
                },
                now,
            )?;
            outbox::emit(conn, &ev, Some(&bill.biller_id), now).await?;
            continue;
        }
        let due = billpay_core::time::parse_date(&bill.due_date).map_err(StoreError::Fault)?;
        let on = billpay_core::time::format_date(due - time::Duration::days(a.days_before));
        let execute_on = if on.as_str() < today { today.to_owned() } else { on };
        let s = ScheduledPayment {
            id: id::new(Kind::ScheduledPayment),
            customer_id: a.customer_id.clone(),
            biller_id: bill.biller_id.clone(),
            bill_id: bill.id.clone(),
            currency: bill.currency.clone(),
            amount,
            execute_on,
            status: "pending".into(),
            autopay_id: Some(a.id.clone()),
            payment_id: None,
            failure_code: None,
            failure_reason: None,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
        };
        insert_scheduled(conn, &s).await?;
    }
    Ok(())
}

impl Store {
    /// Schedules a payment. The bill, the customer's right to pay it, the currency and the
    /// biller's amount rule are checked now; the wallet's balance when it runs.
    pub async fn schedule_payment(
        &self,
        p: NewScheduledPayment,
        today: &str,
        replay: crate::Replay<'_, ScheduledPayment>,
    ) -> Result<ScheduledPayment> {
        if p.execute_on.as_str() < today {
            return Err(StoreError::Invalid(format!(
                "execute_on {} is in the past; the earliest date is today, {today}",
                p.execute_on
            )));
        }
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let payable = self.read_payable(&mut tx, &p.target, false).await?;
        crate::payments::decide(&payable, &p.customer_id, p.amount, &p.currency)?;
        let s = ScheduledPayment {
            id: id::new(Kind::ScheduledPayment),
            customer_id: p.customer_id,
            biller_id: payable.bill.biller_id.clone(),
            bill_id: payable.bill.id.clone(),
            currency: p.currency,
            amount: p.amount,
            execute_on: p.execute_on,
            status: "pending".into(),
            autopay_id: None,
            payment_id: None,
            failure_code: None,
            failure_reason: None,
            created_at: now.clone(),
            updated_at: now,
        };
        insert_scheduled(&mut tx, &s).await?;
        crate::idempotency::record(&mut tx, replay, &s).await?;
        tx.commit().await?;
        Ok(s)
    }

    pub async fn get_scheduled(&self, id: &str) -> Result<ScheduledPayment> {
        let row = sqlx::query(scheduled_select!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(Kind::ScheduledPayment))?;
        scheduled_from_row(&row)
    }

    pub async fn list_scheduled(
        &self,
        customer_id: Option<&str>,
        status: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<ScheduledPayment>> {
        let rows = sqlx::query(scheduled_select!(
            "WHERE (CAST($1 AS TEXT) IS NULL OR customer_id = $1) AND (CAST($2 AS TEXT) IS NULL OR status = $2) AND (CAST($3 AS TEXT) IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4"
        ))
        .bind(customer_id)
        .bind(status)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(scheduled_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |s| &s.id))
    }

    /// Cancels a pending scheduled payment. One the worker is running waits for it, then is no
    /// longer pending: a conflict.
    pub async fn cancel_scheduled(&self, id: &str) -> Result<ScheduledPayment> {
        let now = billpay_core::time::now();
        let done = sqlx::query(
            "UPDATE scheduled_payments SET status = 'cancelled', updated_at = $2 WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        let s = self.get_scheduled(id).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "scheduled payment {id} is {}; only a pending one can be cancelled",
                s.status
            )));
        }
        Ok(s)
    }

    /// Takes one due scheduled payment no other worker holds, and runs it: the payment and the
    /// new status commit together. `None` when nothing is due.
    pub async fn execute_next_scheduled(&self, today: &str) -> Result<Option<ScheduledPayment>> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let sql = match self.backend {
            crate::Backend::Postgres => concat!(
                scheduled_select!(
                    "WHERE status = 'pending' AND execute_on <= $1 AND (confirmed_on >= $1 OR biller_id NOT IN \
                     (SELECT id FROM billers WHERE fetch_url IS NOT NULL)) ORDER BY execute_on, id LIMIT 1"
                ),
                " FOR UPDATE SKIP LOCKED"
            ),
            crate::Backend::Sqlite => {
                scheduled_select!(
                    "WHERE status = 'pending' AND execute_on <= $1 AND (confirmed_on >= $1 OR biller_id NOT IN \
                     (SELECT id FROM billers WHERE fetch_url IS NOT NULL)) ORDER BY execute_on, id LIMIT 1"
                )
            }
        };
        let Some(row) = sqlx::query(sql).bind(today).fetch_optional(&mut *tx).await? else {
            return Ok(None);
        };
        let mut s = scheduled_from_row(&row)?;
        let mut attempt = tx.begin().await?;
        let paid = self
            .pay_within(
                &mut attempt,
                &s.customer_id,
                &PayTarget::Bill(s.bill_id.clone()),
                s.amount,
                &s.currency,
            )
            .await;
        match paid {
            Ok(payment) => {
                attempt.commit().await?;
                s.status = "succeeded".into();
                s.payment_id = Some(payment.id);
            }
            Err(e @ (StoreError::Rejected(_) | StoreError::NotFound(_))) => {
                attempt.rollback().await?;
                let code = match &e {
                    StoreError::Rejected(r) => r.code(),
                    _ => "bill_not_found",
                };
                s.status = "failed".into();
                s.failure_code = Some(code.into());
                s.failure_reason = Some(e.to_string());
                let message = format!(
                    "your scheduled payment of {} {} for bill {} failed: {e}",
                    s.amount, s.currency, s.bill_id
                );
                notify(
                    &mut tx,
                    &s.customer_id,
                    "scheduled_payment.failed",
                    &s.id,
                    &message,
                    &now,
                )
                .await?;
            }
            Err(e) => return Err(e),
        }
        s.updated_at = now.clone();
        sqlx::query(
            "UPDATE scheduled_payments SET status = $2, payment_id = $3, failure_code = $4, failure_reason = $5, updated_at = $6 \
             WHERE id = $1",
        )
        .bind(&s.id)
        .bind(&s.status)
        .bind(&s.payment_id)
        .bind(&s.failure_code)
        .bind(&s.failure_reason)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        if s.status == "failed" {
            let ev = outbox::event("scheduled_payment.failed", &s, &now)?;
            outbox::emit(&mut tx, &ev, Some(&s.biller_id), &now).await?;
        }
        tx.commit().await?;
        Ok(Some(s))
    }

    pub async fn enroll_autopay(&self, a: NewAutopay) -> Result<AutopayEnrollment> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let biller =
            sqlx::query("SELECT currency, reference_pattern, reference_hint, fetch_url FROM billers WHERE id = $1")
                .bind(&a.biller_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound(Kind::Biller))?;
        crate::payments::check_reference(&biller, &a.reference)?;
        if let (Some(fixed), Some(cap)) = (a.fixed_amount, a.max_amount)
            && fixed > cap
        {
            return Err(StoreError::Invalid(format!(
                "fixed_amount {fixed} is over max_amount {cap}: every bill would be skipped"
            )));
        }
        let id = id::new(Kind::Autopay);
        let inserted = sqlx::query(
            "INSERT INTO autopay_enrollments (id, customer_id, biller_id, reference, currency, days_before, amount_mode, \
             fixed_amount, max_amount, status, created_at, updated_at, next_fetch_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $10, $11)",
        )
        .bind(&id)
        .bind(&a.customer_id)
        .bind(&a.biller_id)
        .bind(&a.reference)
        .bind(biller.text("currency")?)
        .bind(a.days_before)
        .bind(if a.fixed_amount.is_some() { "fixed" } else { "full" })
        .bind(a.fixed_amount)
        .bind(a.max_amount)
        .bind(&now)
        // A fetch biller is asked for the reference's bill on the worker's next pass.
        .bind(biller.opt_text("fetch_url")?.map(|_| billpay_core::time::business_today()))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if crate::is_unique_violation(&e, "autopay") => {
                return Err(StoreError::Conflict(format!(
                    "autopay is already on for reference {} at this biller; cancel it first",
                    a.reference
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let row = sqlx::query(autopay_select!("WHERE id = $1"))
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        autopay_from_row(&row)
    }

    pub async fn get_autopay(&self, id: &str) -> Result<AutopayEnrollment> {
        let row = sqlx::query(autopay_select!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(Kind::Autopay))?;
        autopay_from_row(&row)
    }

    pub async fn list_autopay(
        &self,
        customer_id: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<AutopayEnrollment>> {
        let rows = sqlx::query(autopay_select!(
            "WHERE (CAST($1 AS TEXT) IS NULL OR customer_id = $1) AND (CAST($2 AS TEXT) IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(customer_id)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(autopay_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |a| &a.id))
    }

    /// Turns autopay off. Payments it already scheduled stay; cancel them one by one.
    pub async fn cancel_autopay(&self, id: &str) -> Result<AutopayEnrollment> {
        let now = billpay_core::time::now();
        sqlx::query("UPDATE autopay_enrollments SET status = 'cancelled', updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(&now)
            .execute(&self.pool)
            .await?;
        self.get_autopay(id).await
    }

    pub async fn list_notifications(
        &self,
        customer_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<Notification>> {
        let rows = sqlx::query(
            "SELECT id, customer_id, kind, subject_id, message, created_at FROM notifications \
             WHERE customer_id = $1 AND (CAST($2 AS TEXT) IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(customer_id)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(Notification {
                    id: r.text("id")?,
                    customer_id: r.text("customer_id")?,
                    kind: r.text("kind")?,
                    subject_id: r.text("subject_id")?,
                    message: r.text("message")?,
                    created_at: r.text("created_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |n| &n.id))
    }
}
