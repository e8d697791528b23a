//! The transactional outbox behind webhooks. An event is written in the same transaction as what
//! caused it, together with one delivery row per enabled endpoint that wants it; the delivery
//! worker claims due deliveries under a lease, posts them, and records each attempt.

use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use billpay_core::id::{self, Kind};

use crate::models::{Delivery, DeliveryAttempt, WebhookEndpoint};
use crate::rows::RowExt;
use crate::{Page, Result, Store, StoreError};

/// Every event type BillPay emits.
pub const EVENT_TYPES: &[&str] = &[
    "payment.succeeded",
    "payment.refunded",
    "bill.paid",
    "scheduled_payment.failed",
    "scheduled_payment.cancelled",
    "autopay.skipped",
    "settlement.created",
    "complaint.opened",
    "complaint.escalated",
    "complaint.resolved",
];

/// The body of an event as every endpoint receives it.
#[derive(Debug, Serialize)]
struct Envelope<'a, T: Serialize> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    created_at: &'a str,
    data: &'a T,
}

/// An event ready to be written: its id, type and the exact bytes every endpoint will receive.
pub(crate) struct NewEvent {
    pub id: String,
    pub kind: &'static str,
    pub payload: String,
}

pub(crate) fn event<T: Serialize>(kind: &'static str, data: &T, now: &str) -> Result<NewEvent> {
    let id = id::new(Kind::Event);
    let payload = serde_json::to_string(&Envelope {
        id: &id,
        kind,
        created_at: now,
        data,
    })
    .map_err(|e| StoreError::Fault(format!("event {kind} does not serialise: {e}")))?;
    Ok(NewEvent { id, kind, payload })
}

/// The delivery rows an event gets: one per enabled endpoint of its biller or of the platform
/// that subscribed to its type. Used by `emit` and, inlined, by PostgreSQL's one-statement payment.
pub(crate) const FAN_OUT: &str = "INSERT INTO webhook_deliveries \
    (endpoint_id, event_id, status, attempts, next_attempt_at, created_at, updated_at) \
    SELECT w.id, $1, 'pending', 0, $2, $2, $2 FROM webhook_endpoints w WHERE w.status = 'enabled' \
    AND (w.biller_id IS NULL OR w.biller_id = $3) \
    AND (w.event_types LIKE '%,*,%' OR w.event_types LIKE '%,' || $4 || ',%')";

/// Writes an event and its deliveries in the caller's transaction.
pub(crate) async fn emit(conn: &mut AnyConnection, ev: &NewEvent, biller_id: Option<&str>, now: &str) -> Result<()> {
    sqlx::query("INSERT INTO events (id, type, biller_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&ev.id)
        .bind(ev.kind)
        .bind(biller_id)
        .bind(&ev.payload)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(FAN_OUT)
        .bind(&ev.id)
        .bind(now)
        .bind(biller_id)
        .bind(ev.kind)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A new endpoint, as an admin or a biller registers it.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    /// `None`: a platform endpoint, which receives every biller's events.
    pub biller_id: Option<String>,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
}

/// A delivery claimed by a worker: what to post, where, and with which secrets.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i64,
    pub url: String,
    pub payload: String,
    /// The current secret, then the previous one while its grace period lasts.
    pub secrets: Vec<String>,
    pub event_created_at: String,
}

/// One attempt, ready to record.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub delivery: ClaimedDelivery,
    pub outcome: AttemptOutcome,
    pub duration_ms: i64,
    /// When to try again after a failure; `None` after a failure means give up.
    pub retry_at: Option<String>,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Delivered { status: u16 },
    Failed { status: Option<u16>, error: String },
}

/// A new signing secret: `whsec_` and 32 random bytes in hex.
fn new_secret() -> String {
    let b: [u8; 32] = std::array::from_fn(|_| rand::random::<u8>());
    format!("whsec_{}", hex::encode(b))
}

fn encode_types(types: &[String]) -> String {
    format!(",{},", types.join(","))
}

fn endpoint_from_row(r: &AnyRow) -> Result<WebhookEndpoint> {
    let types = r.text("event_types")?;
    Ok(WebhookEndpoint {
        id: r.text("id")?,
        biller_id: r.opt_text("biller_id")?,
        url: r.text("url")?,
        description: r.text("description")?,
        event_types: types
            .trim_matches(',')
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        status: r.text("status")?,
        previous_secret_expires_at: r.opt_text("previous_secret_expires_at")?,
        created_at: r.text("created_at")?,
        secret: None,
    })
}

macro_rules! endpoint_select {
    ($where:literal) => {
        concat!(
            "SELECT id, biller_id, url, description, event_types, status, previous_secret_expires_at, created_at \
             FROM webhook_endpoints ",
            $where
        )
    };
}

macro_rules! delivery_select {
    ($where:literal) => {
        concat!(
            "SELECT d.endpoint_id, d.event_id, e.type, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error, \
             d.delivered_at, d.created_at FROM webhook_deliveries d JOIN events e ON e.id = d.event_id ",
            $where
        )
    };
}

fn delivery_from_row(r: &AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        endpoint_id: r.text("endpoint_id")?,
        event_id: r.text("event_id")?,
        event_type: r.text("type")?,
        status: r.text("status")?,
        attempts: r.int("attempts")?,
        next_attempt_at: r.text("next_attempt_at")?,
        last_status: r.opt_int("last_status")?,
        last_error: r.opt_text("last_error")?,
        delivered_at: r.opt_text("delivered_at")?,
        created_at: r.text("created_at")?,
    })
}

impl Store {
    pub async fn create_endpoint(&self, e: NewEndpoint) -> Result<WebhookEndpoint> {
        let now = billpay_core::time::now();
        let id = id::new(Kind::WebhookEndpoint);
        let secret = new_secret();
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, biller_id, url, description, event_types, secret, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'enabled', $7, $7)",
        )
        .bind(&id)
        .bind(&e.biller_id)
        .bind(&e.url)
        .bind(&e.description)
        .bind(encode_types(&e.event_types))
        .bind(&secret)
        .bind(&now)
        .execute(&self.pool)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound(Kind::Biller),
            _ => err.into(),
        })?;
        let mut created = self.get_endpoint(&id).await?;
        created.secret = Some(secret);
        Ok(created)
    }

    pub async fn get_endpoint(&self, endpoint_id: &str) -> Result<WebhookEndpoint> {
        let row = sqlx::query(endpoint_select!("WHERE id = $1"))
            .bind(endpoint_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(Kind::WebhookEndpoint))?;
        endpoint_from_row(&row)
    }

    /// Endpoints, newest first; `biller_id` limits the list to one biller's.
    pub async fn list_endpoints(
        &self,
        biller_id: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<WebhookEndpoint>> {
        let rows = sqlx::query(endpoint_select!(
            "WHERE (CAST($1 AS TEXT) IS NULL OR biller_id = $1) AND (CAST($2 AS TEXT) IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
        ))
        .bind(biller_id)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(endpoint_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |e| &e.id))
    }

    /// Stops new deliveries to an endpoint; pending ones are left to fail their retries no more.
    pub async fn disable_endpoint(&self, endpoint_id: &str) -> Result<WebhookEndpoint> {
        let now = billpay_core::time::now();
        let done = sqlx::query("UPDATE webhook_endpoints SET status = 'disabled', updated_at = $2 WHERE id = $1")
            .bind(endpoint_id)
            .bind(&now)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Kind::WebhookEndpoint));
        }
        self.get_endpoint(endpoint_id).await
    }

    /// Gives the endpoint a new secret. The old one keeps signing alongside it until
    /// `grace_until`, so a receiver can switch without dropping an event.
    pub async fn rotate_secret(&self, endpoint_id: &str, grace_until: &str) -> Result<WebhookEndpoint> {
        let now = billpay_core::time::now();
        let secret = new_secret();
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = $2, secret = $3, updated_at = $4 \
             WHERE id = $1",
        )
        .bind(endpoint_id)
        .bind(grace_until)
        .bind(&secret)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Kind::WebhookEndpoint));
        }
        let mut e = self.get_endpoint(endpoint_id).await?;
        e.secret = Some(secret);
        Ok(e)
    }

    /// An endpoint's deliveries, newest event first.
    pub async fn list_deliveries(
        &self,
        endpoint_id: &str,
        status: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<Delivery>> {
        let rows = sqlx::query(delivery_select!(
            "WHERE d.endpoint_id = $1 AND (CAST($2 AS TEXT) IS NULL OR d.status = $2) AND (CAST($3 AS TEXT) IS NULL OR d.event_id < $3) \
             ORDER BY d.event_id DESC LIMIT $4"
        ))
        .bind(endpoint_id)
        .bind(status)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(delivery_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |d| &d.event_id))
    }

    /// Every attempt at one delivery, oldest first.
    pub async fn delivery_attempts(&self, endpoint_id: &str, event_id: &str) -> Result<Vec<DeliveryAttempt>> {
        let rows = sqlx::query(
            "SELECT attempt, status_code, error, duration_ms, created_at FROM webhook_attempts \
             WHERE endpoint_id = $1 AND event_id = $2 ORDER BY attempt, created_at",
        )
        .bind(endpoint_id)
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryAttempt {
                    attempt: r.int("attempt")?,
                    status_code: r.opt_int("status_code")?,
                    error: r.opt_text("error")?,
                    duration_ms: r.int("duration_ms")?,
                    created_at: r.text("created_at")?,
                })
            })
            .collect()
    }

    pub async fn get_delivery(&self, endpoint_id: &str, event_id: &str) -> Result<Delivery> {
        let row = sqlx::query(delivery_select!("WHERE d.endpoint_id = $1 AND d.event_id = $2"))
            .bind(endpoint_id)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(Kind::Event))?;
        delivery_from_row(&row)
    }

    /// Sends an event to an endpoint again, now, whatever became of it before.
    pub async fn replay_delivery(&self, endpoint_id: &str, event_id: &str) -> Result<Delivery> {
        let now = billpay_core::time::now();
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, locked_until = NULL, updated_at = $3 \
             WHERE endpoint_id = $1 AND event_id = $2",
        )
        .bind(endpoint_id)
        .bind(event_id)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Kind::Event));
        }
        self.get_delivery(endpoint_id, event_id).await
    }

    /// Claims up to `limit` due deliveries until `lease_until`. A worker that dies mid-delivery
    /// loses its lease, and the delivery is claimed again: at least once, with the same event id.
    pub async fn claim_deliveries(&self, now: &str, lease_until: &str, limit: i64) -> Result<Vec<ClaimedDelivery>> {
        macro_rules! pick {
            () => {
                "SELECT endpoint_id, event_id FROM webhook_deliveries WHERE status = 'pending' \
                 AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1) ORDER BY next_attempt_at LIMIT $3"
            };
        }
        let sql = match self.backend {
            crate::Backend::Postgres => concat!(
                "WITH c AS (UPDATE webhook_deliveries d SET locked_until = $2, attempts = d.attempts + 1, updated_at = $1 FROM (",
                pick!(),
                " FOR UPDATE SKIP LOCKED) p WHERE d.endpoint_id = p.endpoint_id AND d.event_id = p.event_id \
                 RETURNING d.endpoint_id, d.event_id, d.attempts) \
                 SELECT c.endpoint_id, c.event_id, c.attempts, e.type, e.payload, e.created_at AS event_created_at, w.url, w.secret, \
                 CASE WHEN w.previous_secret_expires_at > $1 THEN w.previous_secret END AS previous_secret \
                 FROM c JOIN events e ON e.id = c.event_id JOIN webhook_endpoints w ON w.id = c.endpoint_id"
            ),
            crate::Backend::Sqlite => concat!(
                "UPDATE webhook_deliveries SET locked_until = $2, attempts = attempts + 1, updated_at = $1 \
                 WHERE (endpoint_id, event_id) IN (",
                pick!(),
                ") RETURNING endpoint_id, event_id, attempts, \
                 (SELECT type FROM events WHERE id = event_id) AS type, \
                 (SELECT payload FROM events WHERE id = event_id) AS payload, \
                 (SELECT created_at FROM events WHERE id = event_id) AS event_created_at, \
                 (SELECT url FROM webhook_endpoints WHERE id = endpoint_id) AS url, \
                 (SELECT secret FROM webhook_endpoints WHERE id = endpoint_id) AS secret, \
                 (SELECT CASE WHEN previous_secret_expires_at > $1 THEN previous_secret END FROM webhook_endpoints WHERE id = endpoint_id) AS previous_secret"
            ),
        };
        let rows = sqlx::query(sql)
            .bind(now)
            .bind(lease_until)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let mut secrets = vec![r.text("secret")?];
                secrets.extend(r.opt_text("previous_secret")?);
                Ok(ClaimedDelivery {
                    endpoint_id: r.text("endpoint_id")?,
                    event_id: r.text("event_id")?,
                    event_type: r.text("type")?,
                    attempt: r.int("attempts")?,
                    url: r.text("url")?,
                    payload: r.text("payload")?,
                    secrets,
                    event_created_at: r.text("event_created_at")?,
                })
            })
            .collect()
    }

    /// Records a batch of attempts and what follows each (delivered, retried at `retry_at`, or
    /// given up), in one transaction: one commit for a whole batch of deliveries.
    pub async fn record_attempts(&self, attempts: &[Attempt], now: &str) -> Result<()> {
        if attempts.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for a in attempts {
            let d = &a.delivery;
            let (code, error) = match &a.outcome {
                AttemptOutcome::Delivered { status } => (Some(i64::from(*status)), None),
                AttemptOutcome::Failed { status, error } => (status.map(i64::from), Some(error.as_str())),
            };
            sqlx::query(
                "INSERT INTO webhook_attempts (endpoint_id, event_id, attempt, status_code, error, duration_ms, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&d.endpoint_id)
            .bind(&d.event_id)
            .bind(d.attempt)
            .bind(code)
            .bind(error)
            .bind(a.duration_ms)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let (status, next) = match (&a.outcome, a.retry_at.as_deref()) {
                (AttemptOutcome::Delivered { .. }, _) => ("delivered", now),
                (AttemptOutcome::Failed { .. }, Some(at)) => ("pending", at),
                (AttemptOutcome::Failed { .. }, None) => ("failed", now),
            };
            // Only the attempt that holds the claim settles it; a worker whose lease ran out and
            // was overtaken leaves the newer claim alone.
            sqlx::query(
                "UPDATE webhook_deliveries SET status = $3, next_attempt_at = $4, locked_until = NULL, last_status = $5, \
                 last_error = $6, delivered_at = CASE WHEN $3 = 'delivered' THEN $7 ELSE delivered_at END, updated_at = $7 \
                 WHERE endpoint_id = $1 AND event_id = $2 AND attempts = $8 AND status = 'pending'",
            )
            .bind(&d.endpoint_id)
            .bind(&d.event_id)
            .bind(status)
            .bind(next)
            .bind(code)
            .bind(error)
            .bind(now)
            .bind(d.attempt)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
