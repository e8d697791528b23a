//! Settlement: what BillPay owes each biller, the batches that move it to the clearing account for
//! a bank transfer, and the reconciliation of confirmation files against those batches.

use std::collections::BTreeMap;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection};

use billpay_core::id::{self, Kind};

use billpay_core::posting::{AccountId, Posting};

use crate::ledger::{ensure_account, post, stored_currency};
use crate::models::{
    Reconciliation, ReconciliationException, SettlementBatch, SettlementItem, SettlementReport, SettlementTotals,
};
use crate::rows::RowExt;
use crate::{Page, Result, Store, StoreError, outbox};

/// One line of a confirmation file.
#[derive(Debug, Clone)]
pub struct FileLine {
    /// 1 for the first data row.
    pub row: usize,
    pub id: String,
    pub amount: i64,
}

fn payment_item(r: &AnyRow) -> Result<SettlementItem> {
    let amount = r.int("amount")?;
    let biller_fee = if r.text("fee_payer")? == "biller" {
        r.int("fee")?
    } else {
        0
    };
    Ok(SettlementItem {
        kind: "payment".into(),
        id: r.text("id")?,
        confirmation_number: r.text("confirmation")?,
        bill_id: r.text("bill_id")?,
        amount,
        biller_fee,
        net: amount - biller_fee,
        created_at: r.text("created_at")?,
    })
}

fn refund_item(r: &AnyRow) -> Result<SettlementItem> {
    let amount = r.int("amount")?;
    Ok(SettlementItem {
        kind: "refund".into(),
        id: r.text("id")?,
        confirmation_number: r.text("confirmation")?,
        bill_id: r.text("bill_id")?,
        amount,
        biller_fee: 0,
        net: -amount,
        created_at: r.text("created_at")?,
    })
}

/// Totals of items; customer fees are read separately because they are not the biller's.
fn totals(items: &[SettlementItem], customer_fees: i64) -> SettlementTotals {
    let mut t = SettlementTotals {
        customer_fees,
        ..Default::default()
    };
    for i in items {
        if i.kind == "payment" {
            t.payments_count += 1;
            t.payments_amount += i.amount;
            t.biller_fees += i.biller_fee;
        } else {
            t.refunds_count += 1;
            t.refunds_amount += i.amount;
        }
        t.net_amount += i.net;
    }
    t
}

/// Payments and refunds read by two statements that take the same text parameters, and the fees
/// customers paid on those payments.
async fn read_items(
    conn: &mut AnyConnection,
    payments: &'static str,
    refunds: &'static str,
    params: &[&str],
) -> Result<(Vec<SettlementItem>, i64)> {
    let mut q = sqlx::query(payments);
    for p in params {
        q = q.bind(*p);
    }
    let paid = q.fetch_all(&mut *conn).await?;
    let mut q = sqlx::query(refunds);
    for p in params {
        q = q.bind(*p);
    }
    let refunded = q.fetch_all(&mut *conn).await?;
    let customer_fees = paid
        .iter()
        .map(|r| {
            Ok(if r.text("fee_payer")? == "customer" {
                r.int("fee")?
            } else {
                0
            })
        })
        .sum::<Result<i64>>()?;
    let mut items = paid.iter().map(payment_item).collect::<Result<Vec<_>>>()?;
    items.extend(refunded.iter().map(refund_item).collect::<Result<Vec<_>>>()?);
    Ok((items, customer_fees))
}

macro_rules! batch_select {
    ($where:literal) => {
        concat!(
            "SELECT id, biller_id, currency, cutoff, payments_count, payments_amount, biller_fees, refunds_count, refunds_amount, \
             net_amount, bank_reference, journal_id, created_at, \
             (SELECT COALESCE(CAST(SUM(p.fee) AS BIGINT), 0) FROM payments p \
              WHERE p.settlement_batch_id = settlement_batches.id AND p.fee_payer = 'customer') AS customer_fees \
             FROM settlement_batches ",
            $where
        )
    };
}

fn batch_from_row(r: &AnyRow) -> Result<SettlementBatch> {
    Ok(SettlementBatch {
        id: r.text("id")?,
        biller_id: r.text("biller_id")?,
        currency: r.text("currency")?,
        cutoff: r.text("cutoff")?,
        totals: SettlementTotals {
            payments_count: r.int("payments_count")?,
            payments_amount: r.int("payments_amount")?,
            customer_fees: r.int("customer_fees")?,
            biller_fees: r.int("biller_fees")?,
            refunds_count: r.int("refunds_count")?,
            refunds_amount: r.int("refunds_amount")?,
            net_amount: r.int("net_amount")?,
        },
        bank_reference: r.text("bank_reference")?,
        journal_id: r.text("journal_id")?,
        created_at: r.text("created_at")?,
    })
}

macro_rules! exception_select {
    ($where:literal) => {
        concat!(
            "SELECT id, reconciliation_id, batch_id, biller_id, kind, item_id, expected_amount, reported_amount, status, note, \
             closed_by, closed_at, created_at FROM reconciliation_exceptions ",
            $where
        )
    };
}

fn exception_from_row(r: &AnyRow) -> Result<ReconciliationException> {
    Ok(ReconciliationException {
        id: r.text("id")?,
        reconciliation_id: r.text("reconciliation_id")?,
        batch_id: r.text("batch_id")?,
        biller_id: r.text("biller_id")?,
        kind: r.text("kind")?,
        item_id: r.text("item_id")?,
        expected_amount: r.opt_int("expected_amount")?,
        reported_amount: r.opt_int("reported_amount")?,
        status: r.text("status")?,
        note: r.opt_text("note")?,
        closed_by: r.opt_text("closed_by")?,
        closed_at: r.opt_text("closed_at")?,
        created_at: r.text("created_at")?,
    })
}

/// A biller's currency and payable account, read with `sql` (with or without the row lock).
async fn biller_currency(conn: &mut AnyConnection, biller_id: &str, sql: &'static str) -> Result<(String, String)> {
    let row = sqlx::query(sql)
        .bind(biller_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound(Kind::Biller))?;
    Ok((row.text("currency")?, row.text("payable_account_id")?))
}

const BILLER_CURRENCY: &str = "SELECT currency, payable_account_id FROM billers WHERE id = $1";

impl Store {
    /// A biller's payments and refunds of one business day, with fees and the net due.
    pub async fn settlement_report(&self, biller_id: &str, date: time::Date) -> Result<SettlementReport> {
        let (from, to) = billpay_core::time::business_day_bounds(date);
        let mut conn = self.pool.acquire().await?;
        let (currency, _) = biller_currency(&mut conn, biller_id, BILLER_CURRENCY).await?;
        let (items, customer_fees) = read_items(
            &mut conn,
            "SELECT p.id, p.confirmation, p.bill_id, p.amount, p.fee, p.fee_payer, p.created_at FROM payments p \
             WHERE p.biller_id = $1 AND p.created_at >= $2 AND p.created_at < $3 ORDER BY p.id",
            "SELECT r.id, p.confirmation, p.bill_id, r.amount, r.created_at FROM refunds r JOIN payments p ON p.id = r.payment_id \
             WHERE p.biller_id = $1 AND r.created_at >= $2 AND r.created_at < $3 ORDER BY r.id",
            &[biller_id, &from, &to],
        )
        .await?;
        Ok(SettlementReport {
            biller_id: biller_id.to_owned(),
            currency,
            date: billpay_core::time::format_date(date),
            totals: totals(&items, customer_fees),
            from,
            to,
            items,
        })
    }

    /// Settles everything the biller is owed for payments and refunds before `cutoff` that no
    /// earlier batch holds: one balanced journal from the payable to the clearing account.
    pub async fn create_settlement(
        &self,
        biller_id: &str,
        cutoff: &str,
        bank_reference: Option<String>,
    ) -> Result<SettlementBatch> {
        let now = billpay_core::time::now();
        let batch_id = id::new(Kind::SettlementBatch);
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        // The biller's row lock makes batches of one biller take turns.
        let (currency, payable) = biller_currency(
            &mut tx,
            biller_id,
            crate::locking!(self, "SELECT currency, payable_account_id FROM billers WHERE id = $1"),
        )
        .await?;
        let (items, customer_fees) = read_items(
            &mut tx,
            "UPDATE payments SET settlement_batch_id = $1 WHERE biller_id = $2 AND settlement_batch_id IS NULL AND created_at < $3 \
             RETURNING id, confirmation, bill_id, amount, fee, fee_payer, created_at",
            "UPDATE refunds SET settlement_batch_id = $1 WHERE settlement_batch_id IS NULL AND created_at < $3 \
             AND payment_id IN (SELECT id FROM payments WHERE biller_id = $2) \
             RETURNING id, (SELECT confirmation FROM payments WHERE payments.id = refunds.payment_id) AS confirmation, \
             (SELECT bill_id FROM payments WHERE payments.id = refunds.payment_id) AS bill_id, amount, created_at",
            &[&batch_id, biller_id, cutoff],
        )
        .await?;
        let t = totals(&items, customer_fees);
        if items.is_empty() {
            return Err(StoreError::Conflict(format!(
                "nothing to settle: biller {biller_id} has no unsettled payment or refund before {cutoff}"
            )));
        }
        if t.net_amount <= 0 {
            return Err(StoreError::Conflict(format!(
                "nothing to settle: refunds exceed payments before {cutoff} by {} {currency}; they wait for later payments",
                -t.net_amount
            )));
        }
        let payable = AccountId::parse(&payable)
            .ok_or_else(|| StoreError::Fault(format!("biller {biller_id}'s payable account {payable:?} is not one")))?;
        let money = stored_currency(&currency)?;
        let posting = Posting::settlement(&payable, money, t.net_amount)?;
        ensure_account(&mut tx, &AccountId::clearing(money), "platform", money).await?;
        let journal_id = post(
            &mut tx,
            &posting,
            &format!("settlement {batch_id} of biller {biller_id}"),
            &now,
        )
        .await?;
        let reference = bank_reference.unwrap_or_else(|| {
            let day = cutoff.get(..10).unwrap_or_default().replace('-', "");
            let tail = batch_id.rsplit('_').next().unwrap_or_default().to_ascii_uppercase();
            format!("BP-{day}-{}", &tail[tail.len().saturating_sub(8)..])
        });
        let inserted = sqlx::query(
            "INSERT INTO settlement_batches (id, biller_id, currency, cutoff, payments_count, payments_amount, biller_fees, \
             refunds_count, refunds_amount, net_amount, bank_reference, journal_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&batch_id)
        .bind(biller_id)
        .bind(&currency)
        .bind(cutoff)
        .bind(t.payments_count)
        .bind(t.payments_amount)
        .bind(t.biller_fees)
        .bind(t.refunds_count)
        .bind(t.refunds_amount)
        .bind(t.net_amount)
        .bind(&reference)
        .bind(&journal_id)
        .bind(&now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if crate::is_unique_violation(&e, "settlement_batches") => {
                return Err(StoreError::Conflict(format!(
                    "bank reference {reference:?} is already used by another batch"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let batch = SettlementBatch {
            id: batch_id,
            biller_id: biller_id.to_owned(),
            currency,
            cutoff: cutoff.to_owned(),
            totals: t,
            bank_reference: reference,
            journal_id,
            created_at: now.clone(),
        };
        let ev = outbox::event("settlement.created", &batch, &now)?;
        outbox::emit(&mut tx, &ev, Some(biller_id), &now).await?;
        tx.commit().await?;
        Ok(batch)
    }

    pub async fn get_settlement(&self, batch_id: &str) -> Result<SettlementBatch> {
        let row = sqlx::query(batch_select!("WHERE id = $1"))
            .bind(batch_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(Kind::SettlementBatch))?;
        batch_from_row(&row)
    }

    pub async fn list_settlements(
        &self,
        biller_id: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<SettlementBatch>> {
        let rows = sqlx::query(batch_select!(
            "WHERE (CAST($1 AS TEXT) IS NULL OR biller_id = $1) AND (CAST($2 AS TEXT) IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(biller_id)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(batch_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |b| &b.id))
    }

    /// The payments and refunds a batch settled.
    pub async fn settlement_items(&self, batch_id: &str) -> Result<Vec<SettlementItem>> {
        let mut conn = self.pool.acquire().await?;
        let (items, _) = read_items(
            &mut conn,
            "SELECT p.id, p.confirmation, p.bill_id, p.amount, p.fee, p.fee_payer, p.created_at FROM payments p \
             WHERE p.settlement_batch_id = $1 ORDER BY p.id",
            "SELECT r.id, p.confirmation, p.bill_id, r.amount, r.created_at FROM refunds r JOIN payments p ON p.id = r.payment_id \
             WHERE r.settlement_batch_id = $1 ORDER BY r.id",
            &[batch_id],
        )
        .await?;
        Ok(items)
    }

    /// Checks a confirmation file against a batch and records every difference as an open
    /// exception. `biller` files list payments by confirmation number and refunds by id, with
    /// the amount paid or refunded; `bank` files list transfers by bank reference with the amount.
    pub async fn reconcile(&self, batch_id: &str, source: &str, lines: &[FileLine]) -> Result<Reconciliation> {
        let batch = self.get_settlement(batch_id).await?;
        let expected: BTreeMap<String, i64> = match source {
            "bank" => BTreeMap::from([(batch.bank_reference.clone(), batch.totals.net_amount)]),
            "biller" => self
                .settlement_items(batch_id)
                .await?
                .into_iter()
                .map(|i| {
                    let key = if i.kind == "payment" {
                        i.confirmation_number
                    } else {
                        i.id
                    };
                    (key, i.amount)
                })
                .collect(),
            other => {
                return Err(StoreError::Invalid(format!(
                    "source {other:?} is not one of biller, bank"
                )));
            }
        };
        let now = billpay_core::time::now();
        let rec_id = id::new(Kind::Reconciliation);
        let mut seen: BTreeMap<&str, i64> = BTreeMap::new();
        let mut matched = Vec::new();
        // (kind, item, expected, reported)
        let mut found: Vec<(&str, String, Option<i64>, Option<i64>)> = Vec::new();
        for l in lines {
            if seen.insert(&l.id, l.amount).is_some() {
                found.push((
                    "duplicate_in_file",
                    l.id.clone(),
                    expected.get(&l.id).copied(),
                    Some(l.amount),
                ));
                continue;
            }
            match expected.get(&l.id) {
                Some(&ours) if ours == l.amount => matched.push(l.id.clone()),
                Some(&ours) => found.push(("amount_mismatch", l.id.clone(), Some(ours), Some(l.amount))),
                None => found.push(("missing_in_billpay", l.id.clone(), None, Some(l.amount))),
            }
        }
        for (id, &ours) in &expected {
            if !seen.contains_key(id.as_str()) {
                found.push(("missing_in_file", id.clone(), Some(ours), None));
            }
        }
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        sqlx::query(
            "INSERT INTO reconciliations (id, batch_id, source, matched, exceptions, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&rec_id)
        .bind(batch_id)
        .bind(source)
        .bind(matched.len() as i64)
        .bind(found.len() as i64)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let mut exceptions = Vec::with_capacity(found.len());
        for (kind, item, ours, theirs) in found {
            let e = ReconciliationException {
                id: id::new(Kind::ReconciliationException),
                reconciliation_id: rec_id.clone(),
                batch_id: batch_id.to_owned(),
                biller_id: batch.biller_id.clone(),
                kind: kind.to_owned(),
                item_id: item,
                expected_amount: ours,
                reported_amount: theirs,
                status: "open".into(),
                note: None,
                closed_by: None,
                closed_at: None,
                created_at: now.clone(),
            };
            sqlx::query(
                "INSERT INTO reconciliation_exceptions (id, reconciliation_id, batch_id, biller_id, kind, item_id, expected_amount, \
                 reported_amount, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9)",
            )
            .bind(&e.id)
            .bind(&e.reconciliation_id)
            .bind(&e.batch_id)
            .bind(&e.biller_id)
            .bind(&e.kind)
            .bind(&e.item_id)
            .bind(e.expected_amount)
            .bind(e.reported_amount)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            exceptions.push(e);
        }
        tx.commit().await?;
        Ok(Reconciliation {
            id: rec_id,
            batch_id: batch_id.to_owned(),
            source: source.to_owned(),
            matched,
            exceptions,
            created_at: now,
        })
    }

    pub async fn list_exceptions(
        &self,
        biller_id: Option<&str>,
        status: Option<&str>,
        batch_id: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<ReconciliationException>> {
        let rows = sqlx::query(exception_select!(
            "WHERE (CAST($1 AS TEXT) IS NULL OR biller_id = $1) AND (CAST($2 AS TEXT) IS NULL OR status = $2) AND (CAST($3 AS TEXT) IS NULL OR batch_id = $3) \
             AND (CAST($4 AS TEXT) IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
        ))
        .bind(biller_id)
        .bind(status)
        .bind(batch_id)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(exception_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |e| &e.id))
    }

    pub async fn get_exception(&self, id: &str) -> Result<ReconciliationException> {
        let row = sqlx::query(exception_select!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(Kind::ReconciliationException))?;
        exception_from_row(&row)
    }

    /// Closes an open exception with a note saying how it was resolved.
    pub async fn close_exception(&self, id: &str, note: &str, closed_by: &str) -> Result<ReconciliationException> {
        let now = billpay_core::time::now();
        let done = sqlx::query(
            "UPDATE reconciliation_exceptions SET status = 'closed', note = $2, closed_by = $3, closed_at = $4 \
             WHERE id = $1 AND status = 'open'",
        )
        .bind(id)
        .bind(note)
        .bind(closed_by)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        let e = self.get_exception(id).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("exception {id} is already closed")));
        }
        Ok(e)
    }
}
