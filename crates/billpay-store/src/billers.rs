//! Billers: who customers pay, with their reference and amount rules and their fee.

use sqlx::Connection;
use sqlx::any::AnyRow;

use billpay_core::Currency;
use billpay_core::biller::{AmountRule, BillerStatus};
use billpay_core::fee::FeePayer;
use billpay_core::id::{self, Kind};
use billpay_core::posting::AccountId;

use crate::idempotency::{self, Replay};
use crate::ledger::ensure_account;
use crate::models::{Biller, FeeView};
use crate::rows::{RowExt, parse_enum};
use crate::{Page, Result, Store, StoreError, is_unique_violation};

/// A biller to create; the API has validated every field.
#[derive(Debug, Clone)]
pub struct NewBiller {
    pub name: String,
    pub category: String,
    pub currency: String,
    pub reference_pattern: String,
    pub reference_hint: String,
    /// The GS1 location number on its invoices' barcodes.
    pub gln: Option<String>,
    pub amount_rule: AmountRule,
    pub fee_fixed: i64,
    pub fee_bps: i64,
    pub fee_payer: FeePayer,
}

/// Changes to a biller; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct BillerPatch {
    pub name: Option<String>,
    pub reference_hint: Option<String>,
    pub gln: Option<String>,
    pub amount_rule: Option<AmountRule>,
    pub fee_fixed: Option<i64>,
    pub fee_bps: Option<i64>,
    pub fee_payer: Option<FeePayer>,
    pub status: Option<BillerStatus>,
}

pub(crate) fn biller_from_row(r: &AnyRow) -> Result<Biller> {
    Ok(Biller {
        id: r.text("id")?,
        name: r.text("name")?,
        category: r.text("category")?,
        currency: r.text("currency")?,
        reference_pattern: r.text("reference_pattern")?,
        reference_hint: r.text("reference_hint")?,
        gln: r.opt_text("gln")?,
        amount_rule: parse_enum("amount_rule", r.text("amount_rule")?, AmountRule::parse)?,
        fee: FeeView {
            fixed: r.int("fee_fixed")?,
            bps: r.int("fee_bps")?,
            payer: parse_enum("fee_payer", r.text("fee_payer")?, FeePayer::parse)?,
        },
        status: parse_enum("status", r.text("status")?, BillerStatus::parse)?,
        payable_account_id: r.text("payable_account_id")?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}

impl Store {
    /// Creates a biller, its payable account, and the platform's revenue account in its currency.
    pub async fn create_biller(&self, new: NewBiller, replay: Replay<'_, Biller>) -> Result<Biller> {
        self.create_biller_with_id(id::new(Kind::Biller), new, replay).await
    }

    /// As `create_biller`, with a chosen id; the demo data uses fixed ids so that it loads once.
    pub async fn create_biller_with_id(
        &self,
        biller_id: String,
        new: NewBiller,
        replay: Replay<'_, Biller>,
    ) -> Result<Biller> {
        let now = billpay_core::time::now();
        let currency = Currency::parse(&new.currency).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let payable = AccountId::payable(&biller_id);
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        ensure_account(&mut tx, &AccountId::revenue(currency), "platform", currency).await?;
        ensure_account(&mut tx, &payable, &biller_id, currency).await?;
        sqlx::query(
            "INSERT INTO billers (id, name, category, currency, reference_pattern, reference_hint, amount_rule, \
             fee_fixed, fee_bps, fee_payer, status, payable_account_id, created_at, updated_at, gln) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'active', $11, $12, $12, $13)",
        )
        .bind(&biller_id)
        .bind(&new.name)
        .bind(&new.category)
        .bind(&new.currency)
        .bind(&new.reference_pattern)
        .bind(&new.reference_hint)
        .bind(new.amount_rule.as_str())
        .bind(new.fee_fixed)
        .bind(new.fee_bps)
        .bind(new.fee_payer.as_str())
        .bind(payable.as_str())
        .bind(&now)
        .bind(&new.gln)
        .execute(&mut *tx)
        .await
        .map_err(|e| gln_taken(e, new.gln.as_deref()))?;
        let row = sqlx::query(COLUMNS_BY_ID).bind(&biller_id).fetch_one(&mut *tx).await?;
        let biller = biller_from_row(&row)?;
        idempotency::record(&mut tx, replay, &biller).await?;
        tx.commit().await?;
        Ok(biller)
    }

    pub async fn get_biller(&self, biller_id: &str) -> Result<Biller> {
        let row = sqlx::query(COLUMNS_BY_ID)
            .bind(biller_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(biller_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound(Kind::Biller))
    }

    /// The biller whose invoices carry location number `gln`.
    pub async fn get_biller_by_gln(&self, gln: &str) -> Result<Biller> {
        const BY_GLN: &str = "SELECT id, name, category, currency, reference_pattern, reference_hint, amount_rule, \
             fee_fixed, fee_bps, fee_payer, status, payable_account_id, created_at, updated_at, gln FROM billers WHERE gln = $1";
        let row = sqlx::query(BY_GLN).bind(gln).fetch_optional(&self.pool).await?;
        row.as_ref()
            .map(biller_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound(Kind::Biller))
    }

    pub async fn list_billers(
        &self,
        only: Option<&str>,
        category: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<Biller>> {
        const SQL: &str = "SELECT id, name, category, currency, reference_pattern, reference_hint, amount_rule, \
             fee_fixed, fee_bps, fee_payer, status, payable_account_id, created_at, updated_at, gln FROM billers \
             WHERE (CAST($1 AS TEXT) IS NULL OR id = $1) AND (CAST($2 AS TEXT) IS NULL OR category = $2) AND (CAST($3 AS TEXT) IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4";
        let rows = sqlx::query(SQL)
            .bind(only)
            .bind(category)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(biller_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |b| &b.id))
    }

    pub async fn update_biller(&self, biller_id: &str, patch: BillerPatch) -> Result<Biller> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "UPDATE billers SET name = COALESCE($2, name), reference_hint = COALESCE($3, reference_hint), \
             amount_rule = COALESCE($4, amount_rule), fee_fixed = COALESCE($5, fee_fixed), fee_bps = COALESCE($6, fee_bps), \
             fee_payer = COALESCE($7, fee_payer), status = COALESCE($8, status), updated_at = $9, \
             gln = COALESCE($10, gln) WHERE id = $1",
        )
        .bind(biller_id)
        .bind(patch.name.clone())
        .bind(patch.reference_hint)
        .bind(patch.amount_rule.map(AmountRule::as_str))
        .bind(patch.fee_fixed)
        .bind(patch.fee_bps)
        .bind(patch.fee_payer.map(FeePayer::as_str))
        .bind(patch.status.map(BillerStatus::as_str))
        .bind(billpay_core::time::now())
        .bind(&patch.gln)
        .execute(&mut *tx)
        .await
        .map_err(|e| gln_taken(e, patch.gln.as_deref()))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Kind::Biller));
        }
        let row = sqlx::query(COLUMNS_BY_ID).bind(biller_id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        biller_from_row(&row)
    }
}

const COLUMNS_BY_ID: &str = "SELECT id, name, category, currency, reference_pattern, reference_hint, amount_rule, \
     fee_fixed, fee_bps, fee_payer, status, payable_account_id, created_at, updated_at, gln FROM billers WHERE id = $1";

fn gln_taken(e: sqlx::Error, gln: Option<&str>) -> StoreError {
    if is_unique_violation(&e, "billers") {
        StoreError::Conflict(format!(
            "location number {} is already another biller's",
            gln.unwrap_or_default()
        ))
    } else {
        StoreError::Db(e)
    }
}
