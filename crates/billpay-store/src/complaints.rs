//! Complaints: a customer's dispute about a payment or a bill, assigned to the biller with a
//! response deadline per type, escalated to BillPay's admins when the deadline passes, and
//! resolved, perhaps with a refund through the normal refund path. Each step writes the
//! complaint, its history, the audit log, the notification and the event in one transaction.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection};
use utoipa::ToSchema;

use billpay_core::id::{self, Kind};

use crate::idempotency::{self, Replay};
use crate::rows::RowExt;
use crate::{Page, Result, Store, StoreError, outbox};

/// The types a complaint may have, each with the hours the biller has to respond.
pub const TYPES: &[(&str, i64)] = &[
    ("paid_not_credited", 48),
    ("duplicate_charge", 72),
    ("wrong_amount", 120),
    ("refund_not_received", 72),
    ("other", 168),
];

/// A resolved complaint closes by itself this many days after its resolution.
pub const AUTO_CLOSE_DAYS: i64 = 7;

/// The hours to respond to a complaint of this type; `None` for a type not in the list.
pub fn response_hours(kind: &str) -> Option<i64> {
    TYPES.iter().find(|(k, _)| *k == kind).map(|(_, h)| *h)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplaintEvent {
    /// `opened`, `assigned`, `responded`, `resolved`, `closed` or `escalated`.
    pub action: String,
    /// Who acted: a key, session or staff member id, or `worker`.
    pub actor: String,
    pub note: Option<String>,
    /// The complaint's status after the action.
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Complaint {
    #[schema(example = "cmp_01jdx5v9k3m0000000000000ee")]
    pub id: String,
    pub customer_id: String,
    pub biller_id: String,
    pub bill_id: Option<String>,
    pub payment_id: Option<String>,
    #[schema(example = "paid_not_credited")]
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    /// `open`, `assigned`, `responded`, `resolved` or `closed`.
    pub status: String,
    /// Who at the biller handles it.
    pub assignee: Option<String>,
    /// When the biller must have responded.
    pub respond_by: String,
    /// When it went to BillPay's admins because the deadline passed.
    pub escalated_at: Option<String>,
    pub response: Option<String>,
    pub resolution: Option<String>,
    /// The refund its resolution made, if any.
    pub refund_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Every step, oldest first.
    pub history: Vec<ComplaintEvent>,
}

/// What a customer files.
#[derive(Debug, Clone)]
pub struct NewComplaint {
    pub customer_id: String,
    pub bill_id: Option<String>,
    pub payment_id: Option<String>,
    pub kind: String,
    pub description: String,
}

/// A step on an existing complaint.
#[derive(Debug, Clone)]
pub enum Step {
    Assign { assignee: String },
    Respond { message: String },
    Resolve { resolution: String, refund: Option<i64> },
    Close { note: Option<String> },
}

impl Step {
    /// The history's word for the step.
    pub fn action(&self) -> &'static str {
        match self {
            Step::Assign { .. } => "assigned",
            Step::Respond { .. } => "responded",
            Step::Resolve { .. } => "resolved",
            Step::Close { .. } => "closed",
        }
    }
    /// The statuses the step may start from.
    fn from(&self) -> &'static [&'static str] {
        match self {
            Step::Assign { .. } => &["open", "assigned"],
            Step::Respond { .. } => &["open", "assigned", "responded"],
            Step::Resolve { .. } => &["open", "assigned", "responded"],
            Step::Close { .. } => &["open", "assigned", "responded", "resolved"],
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ComplaintFilter {
    pub customer_id: Option<String>,
    pub biller_id: Option<String>,
    pub status: Option<String>,
    pub escalated: Option<bool>,
}

macro_rules! complaint_select {
    ($where:literal) => {
        concat!(
            "SELECT id, customer_id, biller_id, bill_id, payment_id, type, description, status, assignee, \
             respond_by, escalated_at, response, resolution, refund_id, created_at, updated_at FROM complaints ",
            $where
        )
    };
}

fn from_row(r: &AnyRow) -> Result<Complaint> {
    Ok(Complaint {
        id: r.text("id")?,
        customer_id: r.text("customer_id")?,
        biller_id: r.text("biller_id")?,
        bill_id: r.opt_text("bill_id")?,
        payment_id: r.opt_text("payment_id")?,
        kind: r.text("type")?,
        description: r.text("description")?,
        status: r.text("status")?,
        assignee: r.opt_text("assignee")?,
        respond_by: r.text("respond_by")?,
        escalated_at: r.opt_text("escalated_at")?,
        response: r.opt_text("response")?,
        resolution: r.opt_text("resolution")?,
        refund_id: r.opt_text("refund_id")?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
        history: Vec::new(),
    })
}

async fn load(conn: &mut AnyConnection, id: &str) -> Result<Complaint> {
    let row = sqlx::query(complaint_select!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound(Kind::Complaint))?;
    let mut c = from_row(&row)?;
    let rows = sqlx::query(
        "SELECT action, actor, note, status, created_at FROM complaint_events WHERE complaint_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    c.history = rows
        .iter()
        .map(|r| {
            Ok(ComplaintEvent {
                action: r.text("action")?,
                actor: r.text("actor")?,
                note: r.opt_text("note")?,
                status: r.text("status")?,
                created_at: r.text("created_at")?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(c)
}

/// The history line, the audit record and, where there is one, the event and the customer's
/// notification of one step; returns the history line.
async fn record(
    conn: &mut AnyConnection,
    c: &Complaint,
    action: &str,
    actor: &str,
    note: Option<&str>,
    now: &str,
) -> Result<ComplaintEvent> {
    sqlx::query(
        "INSERT INTO complaint_events (id, complaint_id, action, actor, note, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id::new(Kind::Audit))
    .bind(&c.id)
    .bind(action)
    .bind(actor)
    .bind(note)
    .bind(&c.status)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    crate::flags::audit(
        conn,
        actor,
        &format!("complaint.{action}"),
        &c.id,
        &serde_json::json!({"status": c.status, "type": c.kind, "biller_id": c.biller_id, "note": note}),
    )
    .await?;
    let told = match action {
        "responded" => Some(format!(
            "{} answered your complaint {}: {}",
            c.biller_id,
            c.id,
            note.unwrap_or("")
        )),
        "resolved" => Some(format!("your complaint {} is resolved: {}", c.id, note.unwrap_or(""))),
        "escalated" => Some(format!(
            "the biller did not answer your complaint {} in time; BillPay's team has it now",
            c.id
        )),
        _ => None,
    };
    if let Some(message) = told {
        crate::scheduled::notify(
            conn,
            &c.customer_id,
            &format!("complaint.{action}"),
            &c.id,
            &message,
            now,
        )
        .await?;
    }
    let kind = match action {
        "opened" => Some("complaint.opened"),
        "escalated" => Some("complaint.escalated"),
        "resolved" => Some("complaint.resolved"),
        _ => None,
    };
    if let Some(kind) = kind {
        let ev = outbox::event(kind, c, now)?;
        outbox::emit(conn, &ev, Some(&c.biller_id), now).await?;
    }
    Ok(ComplaintEvent {
        action: action.to_owned(),
        actor: actor.to_owned(),
        note: note.map(str::to_owned),
        status: c.status.clone(),
        created_at: now.to_owned(),
    })
}

impl Store {
    /// Files a complaint about the customer's own payment or a bill it may see. The biller is the
    /// payment's or the bill's; the deadline follows the type.
    pub async fn open_complaint(
        &self,
        n: NewComplaint,
        actor: &str,
        now: time::OffsetDateTime,
        replay: Replay<'_, Complaint>,
    ) -> Result<Complaint> {
        let hours = response_hours(&n.kind).ok_or_else(|| {
            StoreError::Invalid(format!(
                "type {:?} is not one of {}",
                n.kind,
                TYPES.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ))
        })?;
        let at = billpay_core::time::format_timestamp(now);
        let respond_by = billpay_core::time::format_timestamp(now + time::Duration::hours(hours));
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let (biller_id, bill_id) = match (&n.payment_id, &n.bill_id) {
            (Some(p), _) => {
                let row = sqlx::query("SELECT biller_id, bill_id, customer_id FROM payments WHERE id = $1")
                    .bind(p)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound(Kind::Payment))?;
                if row.text("customer_id")? != n.customer_id {
                    return Err(StoreError::NotFound(Kind::Payment));
                }
                let bill = row.text("bill_id")?;
                if n.bill_id.as_ref().is_some_and(|b| *b != bill) {
                    return Err(StoreError::Invalid(format!(
                        "payment {p} is not a payment of bill {bill}"
                    )));
                }
                (row.text("biller_id")?, Some(bill))
            }
            (None, Some(b)) => {
                let row = sqlx::query("SELECT biller_id, customer_id FROM bills WHERE id = $1")
                    .bind(b)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound(Kind::Bill))?;
                if row.opt_text("customer_id")?.is_some_and(|c| c != n.customer_id) {
                    return Err(StoreError::NotFound(Kind::Bill));
                }
                (row.text("biller_id")?, Some(b.clone()))
            }
            (None, None) => return Err(StoreError::Invalid("give payment_id or bill_id".into())),
        };
        let id = id::new(Kind::Complaint);
        sqlx::query(
            "INSERT INTO complaints (id, customer_id, biller_id, bill_id, payment_id, type, description, status, respond_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $9)",
        )
        .bind(&id)
        .bind(&n.customer_id)
        .bind(&biller_id)
        .bind(&bill_id)
        .bind(&n.payment_id)
        .bind(&n.kind)
        .bind(&n.description)
        .bind(&respond_by)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        let mut c = load(&mut tx, &id).await?;
        c.history
            .push(record(&mut tx, &c, "opened", actor, Some(&n.description), &at).await?);
        idempotency::record(&mut tx, replay, &c).await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn get_complaint(&self, id: &str) -> Result<Complaint> {
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, id).await
    }

    /// Newest first, without their history (`get_complaint` has it).
    pub async fn list_complaints(
        &self,
        f: &ComplaintFilter,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<Complaint>> {
        let rows = sqlx::query(complaint_select!(
            "WHERE (CAST($1 AS TEXT) IS NULL OR customer_id = $1) AND (CAST($2 AS TEXT) IS NULL OR biller_id = $2) \
             AND (CAST($3 AS TEXT) IS NULL OR status = $3) AND (CAST($4 AS TEXT) IS NULL OR id < $4) \
             AND (CAST($5 AS TEXT) IS NULL OR (CAST($5 AS TEXT) = 'yes') = (escalated_at IS NOT NULL)) ORDER BY id DESC LIMIT $6"
        ))
            .bind(&f.customer_id)
            .bind(&f.biller_id)
            .bind(&f.status)
            .bind(after)
            .bind(f.escalated.map(|e| if e { "yes" } else { "no" }))
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |c| &c.id))
    }

    /// Takes one step on a complaint. A resolution with a refund refunds the complaint's payment
    /// in the same transaction, through the normal refund path and ledger.
    pub async fn complaint_step(
        &self,
        id: &str,
        step: Step,
        actor: &str,
        replay: Replay<'_, Complaint>,
    ) -> Result<Complaint> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let row = sqlx::query(crate::locking!(
            self,
            "SELECT status, payment_id FROM complaints WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound(Kind::Complaint))?;
        let status = row.text("status")?;
        if !step.from().contains(&status.as_str()) {
            return Err(StoreError::Conflict(format!(
                "complaint {id} is {status}; it cannot be {} now",
                step.action()
            )));
        }
        // Each step's change, and the note its history line keeps. The status a step leaves is
        // the word for the step.
        let (sql, note): (&str, Option<String>) = match &step {
            Step::Assign { assignee } => (
                "UPDATE complaints SET status = 'assigned', assignee = $2, updated_at = $3 WHERE id = $1",
                Some(assignee.clone()),
            ),
            Step::Respond { message } => (
                "UPDATE complaints SET status = 'responded', response = $2, updated_at = $3 WHERE id = $1",
                Some(message.clone()),
            ),
            Step::Resolve { resolution, refund } => {
                if let Some(amount) = refund {
                    let payment = row.opt_text("payment_id")?.ok_or_else(|| {
                        StoreError::Invalid("a complaint about a bill, not a payment, cannot carry a refund".into())
                    })?;
                    let r = self
                        .refund_in(&mut tx, &payment, *amount, &format!("complaint {id}"))
                        .await?;
                    sqlx::query("UPDATE complaints SET refund_id = $2 WHERE id = $1")
                        .bind(id)
                        .bind(&r.id)
                        .execute(&mut *tx)
                        .await?;
                }
                (
                    "UPDATE complaints SET status = 'resolved', resolution = $2, updated_at = $3 WHERE id = $1",
                    Some(resolution.clone()),
                )
            }
            // Closing keeps its note in the history only.
            Step::Close { note } => (
                "UPDATE complaints SET status = 'closed', updated_at = $2 WHERE id = $1",
                note.clone(),
            ),
        };
        let update = sqlx::query(sql).bind(id);
        let update = match &step {
            Step::Close { .. } => update.bind(&now),
            _ => update.bind(&note).bind(&now),
        };
        update.execute(&mut *tx).await?;
        let mut c = load(&mut tx, id).await?;
        c.history
            .push(record(&mut tx, &c, step.action(), actor, note.as_deref(), &now).await?);
        idempotency::record(&mut tx, replay, &c).await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Escalates every complaint whose deadline passed unanswered, and closes those resolved more
    /// than `AUTO_CLOSE_DAYS` ago. Returns how many of each. Run by the worker.
    pub async fn complaint_deadlines(&self, now: time::OffsetDateTime) -> Result<(u64, u64)> {
        let at = billpay_core::time::format_timestamp(now);
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let overdue = sqlx::query(
            "SELECT id FROM complaints WHERE status IN ('open', 'assigned') AND escalated_at IS NULL AND respond_by <= $1 \
             ORDER BY respond_by LIMIT 100",
        )
        .bind(&at)
        .fetch_all(&mut *tx)
        .await?;
        let mut escalated = 0;
        for r in &overdue {
            let id = r.text("id")?;
            let done = sqlx::query(
                "UPDATE complaints SET escalated_at = $2, updated_at = $2 WHERE id = $1 AND escalated_at IS NULL",
            )
            .bind(&id)
            .bind(&at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                let c = load(&mut tx, &id).await?;
                record(
                    &mut tx,
                    &c,
                    "escalated",
                    "worker",
                    Some("the response deadline passed"),
                    &at,
                )
                .await?;
                escalated += 1;
            }
        }
        let cutoff = billpay_core::time::format_timestamp(now - time::Duration::days(AUTO_CLOSE_DAYS));
        let stale = sqlx::query("SELECT id FROM complaints WHERE status = 'resolved' AND updated_at <= $1 LIMIT 100")
            .bind(&cutoff)
            .fetch_all(&mut *tx)
            .await?;
        let mut closed = 0;
        for r in &stale {
            let id = r.text("id")?;
            sqlx::query("UPDATE complaints SET status = 'closed', updated_at = $2 WHERE id = $1")
                .bind(&id)
                .bind(&at)
                .execute(&mut *tx)
                .await?;
            let c = load(&mut tx, &id).await?;
            record(
                &mut tx,
                &c,
                "closed",
                "worker",
                Some("closed a week after its resolution"),
                &at,
            )
            .await?;
            closed += 1;
        }
        tx.commit().await?;
        Ok((escalated, closed))
    }
}
