//! Stripe-style idempotency records. A record is written in the same transaction as the effect it
//! describes, so a key is "used" exactly when its effect committed.

use sqlx::AnyConnection;

use crate::rows::RowExt;
use crate::{Result, Store, StoreError, is_unique_violation};

/// An idempotency key as a client sent it, scoped to the API key that sent it, with a hash of the
/// request it came with.
#[derive(Debug, Clone)]
pub struct IdemKey {
    pub api_key_id: String,
    pub key: String,
    pub request_hash: String,
}

/// A response as it was first sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// How to store the response to an effect: the key, and how the caller renders the result.
pub type Replay<'a, T> = Option<(&'a IdemKey, &'a (dyn Fn(&T) -> (u16, String) + Sync))>;

impl Store {
    pub async fn idempotency_get(&self, api_key_id: &str, key: &str) -> Result<Option<StoredResponse>> {
        let row =
            sqlx::query("SELECT request_hash, status, body FROM idempotency_keys WHERE api_key_id = $1 AND key = $2")
                .bind(api_key_id)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(StoredResponse {
                request_hash: r.text("request_hash")?,
                status: u16::try_from(r.int("status")?).unwrap_or(500),
                body: r.text("body")?,
            })
        })
        .transpose()
    }

    /// Stores the response to a request that changed nothing (a refused payment, say), so a retry
    /// with the same key gets the same answer. A record already there wins.
    pub async fn idempotency_put(&self, idem: &IdemKey, status: u16, body: &str) -> Result<()> {
        insert(INSERT_OR_KEEP, idem, status, body).execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes records created before `before` (an RFC 3339 timestamp). Returns how many went.
    pub async fn idempotency_sweep(&self, before: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

const INSERT: &str = "INSERT INTO idempotency_keys (api_key_id, key, request_hash, status, body, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const INSERT_OR_KEEP: &str = "INSERT INTO idempotency_keys (api_key_id, key, request_hash, status, body, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING";

fn insert<'q>(
    sql: &'static str,
    idem: &'q IdemKey,
    status: u16,
    body: &'q str,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(sql)
        .bind(&idem.api_key_id)
        .bind(&idem.key)
        .bind(&idem.request_hash)
        .bind(i64::from(status))
        .bind(body)
        .bind(billpay_core::time::now())
}

/// Writes the idempotency record for `value` inside the effect's transaction.
pub(crate) async fn record<T>(conn: &mut AnyConnection, replay: Replay<'_, T>, value: &T) -> Result<()> {
    let Some((idem, render)) = replay else {
        return Ok(());
    };
    let (status, body) = render(value);
    let res = insert(INSERT, idem, status, &body).execute(&mut *conn).await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e, "idempotency_keys") => Err(StoreError::IdempotencyRace),
        Err(e) => Err(e.into()),
    }
}
