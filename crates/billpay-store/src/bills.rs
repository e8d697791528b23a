//! Bills: what a biller presents for a customer to pay.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection};

use billpay_core::Rejection;
use billpay_core::bill::BillStatus;
use billpay_core::biller::{BillerStatus, ReferenceRule};
use billpay_core::id::{self, Kind};

use crate::idempotency::{self, Replay};
use crate::models::Bill;
use crate::rows::{RowExt, parse_enum};
use crate::{Page, Result, Store, StoreError, is_unique_violation};

/// A bill to present. The API has checked the shape of every field; the store checks it against
/// the biller's rules.
#[derive(Debug, Clone)]
pub struct NewBill {
    pub reference: String,
    pub customer_name: String,
    pub customer_id: Option<String>,
    pub amount_due: i64,
    /// `YYYY-MM-DD`.
    pub due_date: String,
}

#[derive(Debug, Clone, Default)]
pub struct BillFilter {
    pub biller_id: Option<String>,
    pub customer_id: Option<String>,
    pub status: Option<BillStatus>,
    pub reference: Option<String>,
}

pub(crate) fn bill_from_row(r: &AnyRow) -> Result<Bill> {
    let status = parse_enum("status", r.text("status")?, BillStatus::parse)?;
    let due_date = r.text("due_date")?;
    let today = billpay_core::time::format_date(billpay_core::time::today());
    let overdue = matches!(status, BillStatus::Open | BillStatus::PartiallyPaid) && due_date < today;
    Ok(Bill {
        id: r.text("id")?,
        biller_id: r.text("biller_id")?,
        reference: r.text("reference")?,
        customer_name: r.text("customer_name")?,
        customer_id: r.opt_text("customer_id")?,
        currency: r.text("currency")?,
        amount_due: r.int("amount_due")?,
        amount_outstanding: r.int("outstanding")?,
        due_date,
        status,
        overdue,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}

/// The biller's currency and reference rule, after checking it may present bills.
pub(crate) async fn biller_rules(conn: &mut AnyConnection, biller_id: &str) -> Result<(String, ReferenceRule, String)> {
    let row = sqlx::query("SELECT currency, reference_pattern, reference_hint, status FROM billers WHERE id = $1")
        .bind(biller_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound(Kind::Biller))?;
    if parse_enum("status", row.text("status")?, BillerStatus::parse)? == BillerStatus::Suspended {
        return Err(Rejection::BillerSuspended.into());
    }
    let rule = ReferenceRule::new(&row.text("reference_pattern")?).map_err(StoreError::Fault)?;
    Ok((row.text("currency")?, rule, row.text("reference_hint")?))
}

/// Inserts one bill; `Ok(None)` when the biller already has a bill for that reference and date.
pub(crate) async fn insert_bill(
    conn: &mut AnyConnection,
    biller_id: &str,
    currency: &str,
    bill: &NewBill,
    now: &str,
) -> Result<Option<String>> {
    let bill_id = id::new(Kind::Bill);
    let res = sqlx::query(
        "INSERT INTO bills (id, biller_id, reference, customer_name, customer_id, currency, amount_due, outstanding, \
         due_date, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, 'open', $9, $9) \
         ON CONFLICT (biller_id, reference, due_date) DO NOTHING",
    )
    .bind(&bill_id)
    .bind(biller_id)
    .bind(&bill.reference)
    .bind(&bill.customer_name)
    .bind(&bill.customer_id)
    .bind(currency)
    .bind(bill.amount_due)
    .bind(&bill.due_date)
    .bind(now)
    .execute(&mut *conn)
    .await;
    match res {
        Ok(done) if done.rows_affected() == 1 => Ok(Some(bill_id)),
        Ok(_) => Ok(None),
        Err(e) if is_unique_violation(&e, "bills") => Ok(None),
        Err(sqlx::Error::Database(d)) if d.is_foreign_key_violation() => Err(StoreError::NotFound(Kind::Customer)),
        Err(e) => Err(e.into()),
    }
}

fn rejection_for(rule: &ReferenceRule, hint: &str, bill: &NewBill) -> Option<Rejection> {
    (!rule.matches(&bill.reference)).then(|| Rejection::ReferenceInvalid {
        reference: bill.reference.clone(),
        hint: hint.to_owned(),
    })
}

impl Store {
    pub async fn create_bill(&self, biller_id: &str, bill: NewBill, replay: Replay<'_, Bill>) -> Result<Bill> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let (currency, rule, hint) = biller_rules(&mut tx, biller_id).await?;
        if let Some(r) = rejection_for(&rule, &hint, &bill) {
            return Err(r.into());
        }
        let Some(bill_id) = insert_bill(&mut tx, biller_id, &currency, &bill, &now).await? else {
            return Err(Rejection::DuplicateBill {
                reference: bill.reference,
                due_date: bill.due_date,
            }
            .into());
        };
        let row = sqlx::query(BILL_BY_ID).bind(&bill_id).fetch_one(&mut *tx).await?;
        let created = bill_from_row(&row)?;
        crate::scheduled::autopay_new_bill(&mut tx, &created, &billpay_core::time::business_today(), &now).await?;
        idempotency::record(&mut tx, replay, &created).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Presents many bills at once: all of them, or none. Returns the new ids in input order;
    /// when any row breaks a rule, every such row (0-based index and why).
    pub async fn create_bills<T>(
        &self,
        biller_id: &str,
        bills: &[NewBill],
        wrap: impl FnOnce(Vec<String>) -> T,
        replay: Replay<'_, T>,
    ) -> Result<T> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let (currency, rule, hint) = biller_rules(&mut tx, biller_id).await?;
        let mut refused: Vec<(usize, Rejection)> = bills
            .iter()
            .enumerate()
            .filter_map(|(i, b)| rejection_for(&rule, &hint, b).map(|r| (i, r)))
            .collect();
        if !refused.is_empty() {
            return Err(StoreError::RowsRejected(refused));
        }
        let mut ids = Vec::with_capacity(bills.len());
        for (i, bill) in bills.iter().enumerate() {
            match insert_bill(&mut tx, biller_id, &currency, bill, &now).await? {
                Some(id) => ids.push(id),
                None => refused.push((
                    i,
                    Rejection::DuplicateBill {
                        reference: bill.reference.clone(),
                        due_date: bill.due_date.clone(),
                    },
                )),
            }
        }
        if !refused.is_empty() {
            return Err(StoreError::RowsRejected(refused));
        }
        let enrolled =
            sqlx::query("SELECT COUNT(*) AS n FROM autopay_enrollments WHERE biller_id = $1 AND status = 'active'")
                .bind(biller_id)
                .fetch_one(&mut *tx)
                .await?
                .int("n")?;
        if enrolled > 0 {
            let today = billpay_core::time::business_today();
            for id in &ids {
                let row = sqlx::query(BILL_BY_ID).bind(id).fetch_one(&mut *tx).await?;
                crate::scheduled::autopay_new_bill(&mut tx, &bill_from_row(&row)?, &today, &now).await?;
            }
        }
        let result = wrap(ids);
        idempotency::record(&mut tx, replay, &result).await?;
        tx.commit().await?;
        Ok(result)
    }

    pub async fn get_bill(&self, bill_id: &str) -> Result<Bill> {
        let row = sqlx::query(BILL_BY_ID).bind(bill_id).fetch_optional(&self.pool).await?;
        row.as_ref()
            .map(bill_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound(Kind::Bill))
    }

    pub async fn list_bills(&self, f: &BillFilter, after: Option<&str>, limit: i64) -> Result<Page<Bill>> {
        const SQL: &str = "SELECT id, biller_id, reference, customer_name, customer_id, currency, amount_due, \
             outstanding, due_date, status, created_at, updated_at FROM bills \
             WHERE (CAST($1 AS TEXT) IS NULL OR biller_id = $1) AND (CAST($2 AS TEXT) IS NULL OR customer_id = $2) AND (CAST($3 AS TEXT) IS NULL OR status = $3) \
             AND (CAST($4 AS TEXT) IS NULL OR reference = $4) AND (CAST($5 AS TEXT) IS NULL OR id < $5) ORDER BY id DESC LIMIT $6";
        let rows = sqlx::query(SQL)
            .bind(&f.biller_id)
            .bind(&f.customer_id)
            .bind(f.status.map(BillStatus::as_str))
            .bind(&f.reference)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(bill_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |b| &b.id))
    }

    /// Cancels a bill nobody has paid anything on.
    pub async fn cancel_bill(&self, bill_id: &str) -> Result<Bill> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let row = sqlx::query(crate::locking!(
            self,
            "SELECT id, biller_id, reference, customer_name, customer_id, currency, amount_due, \
             outstanding, due_date, status, created_at, updated_at FROM bills WHERE id = $1"
        ))
        .bind(bill_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound(Kind::Bill))?;
        let bill = bill_from_row(&row)?;
        if bill.status == BillStatus::Cancelled {
            return Err(Rejection::BillCancelled.into());
        }
        let paid = sqlx::query("SELECT COUNT(*) AS n FROM payments WHERE bill_id = $1")
            .bind(bill_id)
            .fetch_one(&mut *tx)
            .await?
            .int("n")?;
        if paid > 0 {
            return Err(Rejection::BillHasPayments.into());
        }
        sqlx::query("UPDATE bills SET status = 'cancelled', updated_at = $2 WHERE id = $1")
            .bind(bill_id)
            .bind(billpay_core::time::now())
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(BILL_BY_ID).bind(bill_id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        bill_from_row(&row)
    }
}

const BILL_BY_ID: &str = "SELECT id, biller_id, reference, customer_name, customer_id, currency, amount_due, \
     outstanding, due_date, status, created_at, updated_at FROM bills WHERE id = $1";
