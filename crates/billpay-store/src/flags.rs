//! Flag sets, their version history, client keys, exposures and the audit trail.
//!
//! A flag set's whole flagd document is one value: each change writes a new version with the
//! full document, a JSON Patch (RFC 6902) from the previous one, its author and a summary, and
//! moves the set's current version, in one transaction with its audit event. Rolling back writes
//! a new version equal to an old one, so history only grows.

use serde::Serialize;
use serde_json::Value;
use sqlx::Connection;
use sqlx::any::AnyRow;
use utoipa::ToSchema;

use billpay_core::id::{self, Kind};

use crate::rows::RowExt;
use crate::{Page, Result, Store, StoreError, hash_secret, is_unique_violation, locking};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagSetRecord {
    /// The set's name, e.g. `billpay-web`.
    pub id: String,
    pub description: String,
    /// The current version; every change adds one.
    pub version: i64,
    /// The flag set in flagd's format: `flags`, `$evaluators`, `metadata`.
    #[schema(value_type = Object)]
    pub definition: Value,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagSetVersion {
    pub flag_set_id: String,
    pub version: i64,
    /// What changed, e.g. `disabled flag frontend-variant`.
    pub summary: String,
    /// The API key that made the change.
    pub author: String,
    /// RFC 6902 JSON Patch from the previous version to this one.
    #[schema(value_type = Vec<Object>)]
    pub diff: Value,
    /// The whole document at this version (only when one version is asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub definition: Option<Value>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: String,
    /// The API key that acted.
    pub actor: String,
    /// e.g. `flag_set.updated`.
    pub action: String,
    /// What was acted on, e.g. `flag_set:billpay-web`.
    pub subject: String,
    #[schema(value_type = Object)]
    pub detail: Value,
    /// The `x-request-id` of the request that acted.
    pub request_id: Option<String>,
    pub created_at: String,
}

/// Which audit events to list; every field narrows the list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub subject: Option<String>,
    pub actor: Option<String>,
    /// The action, or its prefix when it ends with `*` (`POST /v1/billers*`).
    pub action: Option<String>,
    /// RFC 3339 UTC timestamps, `from` inclusive, `until` exclusive.
    pub from: Option<String>,
    pub until: Option<String>,
}

/// A change to a flag set: who, what, and the expected current version (optimistic locking).
pub struct FlagChange<'a> {
    pub author: &'a str,
    pub action: &'a str,
    pub summary: String,
    /// When set, the save fails with a conflict if the set has moved on since.
    pub base_version: Option<i64>,
}

fn parse_json(col: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Db(sqlx::Error::Decode(format!("{col} is not JSON: {e}").into())))
}

fn set_from_row(r: &AnyRow) -> Result<FlagSetRecord> {
    Ok(FlagSetRecord {
        id: r.text("id")?,
        description: r.text("description")?,
        version: r.int("version")?,
        definition: parse_json("definition", &r.text("definition")?)?,
        created_at: r.text("created_at")?,
        updated_at: r.text("updated_at")?,
    })
}

fn version_from_row(r: &AnyRow, with_definition: bool) -> Result<FlagSetVersion> {
    Ok(FlagSetVersion {
        flag_set_id: r.text("flag_set_id")?,
        version: r.int("version")?,
        summary: r.text("summary")?,
        author: r.text("author")?,
        diff: parse_json("diff", &r.text("diff")?)?,
        definition: if with_definition {
            Some(parse_json("definition", &r.text("definition")?)?)
        } else {
            None
        },
        created_at: r.text("created_at")?,
    })
}

impl Store {
    /// Records an action taken through the API (see the API's audit middleware).
    /// Writes an audit event and returns its id.
    pub async fn record_audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &Value,
        request_id: Option<&str>,
    ) -> Result<String> {
        let audit_id = id::new(Kind::Audit);
        sqlx::query(
            "INSERT INTO audit_events (id, actor, action, subject, detail, created_at, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&audit_id)
        .bind(actor)
        .bind(action)
        .bind(subject)
        .bind(detail.to_string())
        .bind(billpay_core::time::now())
        .bind(request_id)
        .execute(&self.pool)
        .await?;
        Ok(audit_id)
    }

    /// Completes an audit event written before its action ran: the subject and detail as the
    /// answer showed them.
    pub async fn complete_audit(&self, audit_id: &str, subject: &str, detail: &Value) -> Result<()> {
        sqlx::query("UPDATE audit_events SET subject = $2, detail = $3 WHERE id = $1")
            .bind(audit_id)
            .bind(subject)
            .bind(detail.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes an audit event written before an action that turned out to change nothing (an
    /// idempotent replay, which was recorded the first time).
    pub async fn withdraw_audit(&self, audit_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM audit_events WHERE id = $1")
            .bind(audit_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

pub(crate) async fn audit(
    conn: &mut sqlx::AnyConnection,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, actor, action, subject, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id::new(Kind::Audit))
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail.to_string())
    .bind(billpay_core::time::now())
    .execute(conn)
    .await?;
    Ok(())
}

const SET_BY_ID: &str =
    "SELECT id, description, version, definition, created_at, updated_at FROM flag_sets WHERE id = $1";
const SETS: &str = "SELECT id, description, version, definition, created_at, updated_at FROM flag_sets ORDER BY id";

impl Store {
    /// Creates a flag set at version 1. The caller has validated `definition`.
    pub async fn create_flag_set(
        &self,
        set_id: &str,
        description: &str,
        definition: &Value,
        author: &str,
    ) -> Result<FlagSetRecord> {
        let now = billpay_core::time::now();
        let text = definition.to_string();
        let diff = serde_json::to_value(json_patch::diff(&serde_json::json!({}), definition))
            .map_err(|e| StoreError::Fault(e.to_string()))?;
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO flag_sets (id, description, version, definition, created_at, updated_at) \
             VALUES ($1, $2, 1, $3, $4, $4)",
        )
        .bind(set_id)
        .bind(description)
        .bind(&text)
        .bind(&now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e, "flag_sets") => {
                return Err(StoreError::Conflict(format!("flag set `{set_id}` already exists")));
            }
            other => {
                other?;
            }
        }
        sqlx::query(
            "INSERT INTO flag_set_versions (flag_set_id, version, definition, diff, summary, author, created_at) \
             VALUES ($1, 1, $2, $3, 'created the flag set', $4, $5)",
        )
        .bind(set_id)
        .bind(&text)
        .bind(diff.to_string())
        .bind(author)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        let subject = format!("flag_set:{set_id}");
        audit(
            &mut tx,
            author,
            "flag_set.created",
            &subject,
            &serde_json::json!({"version": 1}),
        )
        .await?;
        let row = sqlx::query(SET_BY_ID).bind(set_id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        set_from_row(&row)
    }

    pub async fn flag_set(&self, set_id: &str) -> Result<FlagSetRecord> {
        let row = sqlx::query(SET_BY_ID)
            .bind(set_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(Kind::FlagSet))?;
        set_from_row(&row)
    }

    pub async fn flag_sets(&self) -> Result<Vec<FlagSetRecord>> {
        let rows = sqlx::query(SETS).fetch_all(&self.pool).await?;
        rows.iter().map(set_from_row).collect()
    }

    /// The current version of a set: a cheap check for whether a cached copy is stale.
    pub async fn flag_set_version_number(&self, set_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT version FROM flag_sets WHERE id = $1")
            .bind(set_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(Kind::FlagSet))?;
        Ok(row.int("version")?)
    }

    /// Saves a new version of a set (the caller has validated `definition`). Saving the document
    /// the set already holds changes nothing and returns the set as it is.
    pub async fn save_flag_set(
        &self,
        set_id: &str,
        definition: &Value,
        change: FlagChange<'_>,
    ) -> Result<FlagSetRecord> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let current = sqlx::query(locking!(
            self,
            "SELECT version, definition FROM flag_sets WHERE id = $1"
        ))
        .bind(set_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound(Kind::FlagSet))?;
        let version = current.int("version")?;
        let before = parse_json("definition", &current.text("definition")?)?;
        if let Some(base) = change.base_version
            && base != version
        {
            return Err(StoreError::Conflict(format!(
                "flag set `{set_id}` is at version {version}, not {base}: reload it and apply the change again"
            )));
        }
        if before != *definition {
            let next = version + 1;
            let now = billpay_core::time::now();
            let text = definition.to_string();
            let diff = serde_json::to_value(json_patch::diff(&before, definition))
                .map_err(|e| StoreError::Fault(e.to_string()))?;
            sqlx::query(
                "INSERT INTO flag_set_versions (flag_set_id, version, definition, diff, summary, author, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(set_id)
            .bind(next)
            .bind(&text)
            .bind(diff.to_string())
            .bind(&change.summary)
            .bind(change.author)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE flag_sets SET version = $2, definition = $3, updated_at = $4 WHERE id = $1")
                .bind(set_id)
                .bind(next)
                .bind(&text)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            let detail = serde_json::json!({"version": next, "summary": change.summary, "diff": diff});
            audit(
                &mut tx,
                change.author,
                change.action,
                &format!("flag_set:{set_id}"),
                &detail,
            )
            .await?;
        }
        let row = sqlx::query(SET_BY_ID).bind(set_id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        set_from_row(&row)
    }

    /// A set's versions, newest first, with their diffs.
    pub async fn flag_set_history(&self, set_id: &str, before: Option<i64>, limit: i64) -> Result<Vec<FlagSetVersion>> {
        // Only to answer 404 for an unknown set: the cheap version lookup, not the whole document.
        self.flag_set_version_number(set_id).await?;
        let rows = sqlx::query(
            "SELECT flag_set_id, version, diff, summary, author, created_at FROM flag_set_versions \
             WHERE flag_set_id = $1 AND version < $2 ORDER BY version DESC LIMIT $3",
        )
        .bind(set_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| version_from_row(r, false)).collect()
    }

    pub async fn flag_set_version(&self, set_id: &str, version: i64) -> Result<FlagSetVersion> {
        let row = sqlx::query(
            "SELECT flag_set_id, version, definition, diff, summary, author, created_at FROM flag_set_versions \
             WHERE flag_set_id = $1 AND version = $2",
        )
        .bind(set_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound(Kind::FlagSetVersion))?;
        version_from_row(&row, true)
    }

    /// Stores a read-only client key for one flag set. With `secret` the caller picks it (demo
    /// data); a second call with the same secret changes nothing.
    pub async fn create_flag_client_key(
        &self,
        set_id: &str,
        label: &str,
        secret: Option<String>,
        author: &str,
    ) -> Result<(String, String)> {
        self.flag_set(set_id).await?;
        let secret = secret.unwrap_or_else(|| crate::apikeys::random_secret("bpf"));
        let hash = hash_secret(&secret);
        let key_id = id::new(Kind::ApiKey);
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let done = sqlx::query(
            "INSERT INTO flag_client_keys (id, secret_hash, flag_set_id, label, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (secret_hash) DO NOTHING",
        )
        .bind(&key_id)
        .bind(&hash)
        .bind(set_id)
        .bind(label)
        .bind(billpay_core::time::now())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            let detail = serde_json::json!({"key_id": key_id, "label": label});
            audit(
                &mut tx,
                author,
                "flag_client_key.created",
                &format!("flag_set:{set_id}"),
                &detail,
            )
            .await?;
        }
        tx.commit().await?;
        // SQLite's pool has one connection: give it back before the next query.
        drop(conn);
        let (key_id, _) = self
            .flag_client_key_by_hash(&hash)
            .await?
            .ok_or(StoreError::NotFound(Kind::ApiKey))?;
        Ok((key_id, secret))
    }

    /// The key id and flag set of a client key.
    pub async fn flag_client_key_by_hash(&self, hash: &str) -> Result<Option<(String, String)>> {
        let row = sqlx::query("SELECT id, flag_set_id FROM flag_client_keys WHERE secret_hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.text("id")?, r.text("flag_set_id")?))).transpose()
    }

    /// Records that `subject` was shown `variant` of a flag, unless it was shown one before.
    /// Returns the variant of the first exposure, which later visits keep, and whether this call
    /// recorded it.
    pub async fn record_exposure(
        &self,
        set_id: &str,
        flag: &str,
        subject: &str,
        variant: &str,
    ) -> Result<(String, bool)> {
        let done = sqlx::query(
            "INSERT INTO flag_exposures (id, flag_set_id, flag_key, subject, variant, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (flag_set_id, flag_key, subject) DO NOTHING",
        )
        .bind(id::new(Kind::Exposure))
        .bind(set_id)
        .bind(flag)
        .bind(subject)
        .bind(variant)
        .bind(billpay_core::time::now())
        .execute(&self.pool)
        .await?;
        let row =
            sqlx::query("SELECT variant FROM flag_exposures WHERE flag_set_id = $1 AND flag_key = $2 AND subject = $3")
                .bind(set_id)
                .bind(flag)
                .bind(subject)
                .fetch_one(&self.pool)
                .await?;
        Ok((row.text("variant")?, done.rows_affected() == 1))
    }

    /// The audit trail, newest first, narrowed by `f`.
    pub async fn audit_events(&self, f: &AuditFilter, before: Option<&str>, limit: i64) -> Result<Page<AuditEvent>> {
        let (action, prefix) = match f.action.as_deref() {
            Some(a) => match a.strip_suffix('*') {
                Some(p) => (None, Some(format!("{}%", p.replace('%', "\\%").replace('_', "\\_")))),
                None => (Some(a.to_owned()), None),
            },
            None => (None, None),
        };
        let rows = sqlx::query(
            "SELECT id, actor, action, subject, detail, request_id, created_at FROM audit_events \
             WHERE (CAST($1 AS TEXT) IS NULL OR subject = $1) AND (CAST($2 AS TEXT) IS NULL OR actor = $2) AND (CAST($3 AS TEXT) IS NULL OR action = $3) \
             AND (CAST($4 AS TEXT) IS NULL OR action LIKE $4 ESCAPE '\\') AND (CAST($5 AS TEXT) IS NULL OR created_at >= $5) \
             AND (CAST($6 AS TEXT) IS NULL OR created_at < $6) AND id < $7 ORDER BY id DESC LIMIT $8",
        )
        .bind(f.subject.as_deref())
        .bind(f.actor.as_deref())
        .bind(action)
        .bind(prefix)
        .bind(f.from.as_deref())
        .bind(f.until.as_deref())
        .bind(before.unwrap_or("~"))
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(AuditEvent {
                    id: r.text("id")?,
                    actor: r.text("actor")?,
                    action: r.text("action")?,
                    subject: r.text("subject")?,
                    detail: parse_json("detail", &r.text("detail")?)?,
                    request_id: r.opt_text("request_id")?,
                    created_at: r.text("created_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |e| &e.id))
    }
}
