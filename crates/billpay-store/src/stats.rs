//! Business figures for the admin dashboard: payments and volume per day, success rate, top
//! billers, and the A/B experiment's conversion (exposure to payment).

use serde::Serialize;
use utoipa::ToSchema;

use billpay_core::id::{self, Kind};

use crate::rows::RowExt;
use crate::{Result, Store};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DayFigures {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub payments: i64,
    /// Payment attempts the rules refused (no money moved).
    pub declined: i64,
    /// Amount paid that day per currency, in minor units.
    pub volume: Vec<Volume>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Volume {
    pub currency: String,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BillerFigures {
    pub biller_id: String,
    pub name: String,
    pub currency: String,
    pub payments: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariantFigures {
    pub variant: String,
    /// Customers first shown this variant.
    pub exposed: i64,
    /// Of those, customers who paid a bill after their exposure.
    pub converted: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dashboard {
    /// First day covered, `YYYY-MM-DD`.
    pub since: String,
    /// One entry per day with activity, oldest first.
    pub days: Vec<DayFigures>,
    pub payments: i64,
    pub declined: i64,
    pub top_billers: Vec<BillerFigures>,
    /// Exposures and conversions per variant of the experiment flag.
    pub experiment: Vec<VariantFigures>,
}

impl Store {
    /// Records a payment attempt that a business rule refused.
    pub async fn record_decline(&self, customer_id: &str, biller_id: Option<&str>, code: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO payment_declines (id, customer_id, biller_id, code, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id::new(Kind::Decline))
        .bind(customer_id)
        .bind(biller_id)
        .bind(code)
        .bind(billpay_core::time::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Figures since `since` (a `YYYY-MM-DD` date), with the experiment read from `flag_set`/`flag`.
    pub async fn dashboard(&self, since: &str, flag_set: &str, flag: &str) -> Result<Dashboard> {
        let per_day = sqlx::query(
            "SELECT substr(created_at, 1, 10) AS day, currency, COUNT(*) AS n, CAST(SUM(amount) AS BIGINT) AS total \
             FROM payments WHERE created_at >= $1 GROUP BY substr(created_at, 1, 10), currency ORDER BY day, currency",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let declines = sqlx::query(
            "SELECT substr(created_at, 1, 10) AS day, COUNT(*) AS n FROM payment_declines \
             WHERE created_at >= $1 GROUP BY substr(created_at, 1, 10) ORDER BY day",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut days: Vec<DayFigures> = Vec::new();
        let day_entry = |days: &mut Vec<DayFigures>, date: String| -> usize {
            match days.iter().position(|d| d.date == date) {
                Some(i) => i,
                None => {
                    days.push(DayFigures {
                        date,
                        payments: 0,
                        declined: 0,
                        volume: Vec::new(),
                    });
                    days.len() - 1
                }
            }
        };
        for r in &per_day {
            let i = day_entry(&mut days, r.text("day")?);
            days[i].payments += r.int("n")?;
            days[i].volume.push(Volume {
                currency: r.text("currency")?,
                amount: r.int("total")?,
            });
        }
        for r in &declines {
            let i = day_entry(&mut days, r.text("day")?);
            days[i].declined += r.int("n")?;
        }
        days.sort_by(|a, b| a.date.cmp(&b.date));
        let top = sqlx::query(
            "SELECT p.biller_id, b.name, p.currency, COUNT(*) AS n, CAST(SUM(p.amount) AS BIGINT) AS total \
             FROM payments p JOIN billers b ON b.id = p.biller_id WHERE p.created_at >= $1 \
             GROUP BY p.biller_id, b.name, p.currency ORDER BY n DESC, total DESC, p.biller_id LIMIT 5",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let top_billers = top
            .iter()
            .map(|r| {
                Ok(BillerFigures {
                    biller_id: r.text("biller_id")?,
                    name: r.text("name")?,
                    currency: r.text("currency")?,
                    payments: r.int("n")?,
                    amount: r.int("total")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let experiment = sqlx::query(
            "SELECT e.variant, COUNT(*) AS exposed, \
             SUM(CASE WHEN EXISTS (SELECT 1 FROM payments p WHERE p.customer_id = e.subject \
                 AND p.created_at >= e.created_at) THEN 1 ELSE 0 END) AS converted \
             FROM flag_exposures e WHERE e.flag_set_id = $1 AND e.flag_key = $2 \
             GROUP BY e.variant ORDER BY e.variant",
        )
        .bind(flag_set)
        .bind(flag)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(VariantFigures {
                variant: r.text("variant")?,
                exposed: r.int("exposed")?,
                converted: r.int("converted")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(Dashboard {
            since: since.to_owned(),
            payments: days.iter().map(|d| d.payments).sum(),
            declined: days.iter().map(|d| d.declined).sum(),
            days,
            top_billers,
            experiment,
        })
    }
}
