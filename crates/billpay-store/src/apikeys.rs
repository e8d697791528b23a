//! API keys. Only a SHA-256 of each secret is stored: secrets are long and random, so a fast hash
//! is as safe as a slow one and costs microseconds per request.

use sha2::{Digest, Sha256};

use billpay_core::id::{self, Kind};

use crate::rows::{RowExt, parse_enum};
use crate::{Result, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Biller,
    Customer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Biller => "biller",
            Role::Customer => "customer",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "biller" => Some(Role::Biller),
            "customer" => Some(Role::Customer),
            _ => None,
        }
    }
}

/// What a key may do beyond its role's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// Everything its role may do.
    #[default]
    ReadWrite,
    /// Only reads (GET): reporting, reconciliation.
    ReadOnly,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ReadWrite => "read_write",
            Scope::ReadOnly => "read_only",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read_write" => Some(Scope::ReadWrite),
            "read_only" => Some(Scope::ReadOnly),
            _ => None,
        }
    }
}

/// A key as the server knows it: who it speaks for, never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub role: Role,
    pub biller_id: Option<String>,
    pub customer_id: Option<String>,
    pub scope: Scope,
    /// After this (RFC 3339) the key no longer works; `None`: it does not expire.
    pub expires_at: Option<String>,
}

/// A key as an admin sees it in the list: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub record: ApiKeyRecord,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// What a new key is for.
#[derive(Debug, Clone, Default)]
pub struct KeyTerms {
    pub scope: Scope,
    pub expires_at: Option<String>,
}

fn record_from_row(r: &sqlx::any::AnyRow) -> Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: r.text("id")?,
        role: parse_enum("role", r.text("role")?, Role::parse)?,
        biller_id: r.opt_text("biller_id")?,
        customer_id: r.opt_text("customer_id")?,
        scope: parse_enum("scope", r.text("scope")?, Scope::parse)?,
        expires_at: r.opt_text("expires_at")?,
    })
}

/// A freshly made key. The secret is shown once and never stored.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub record: ApiKeyRecord,
    pub secret: String,
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub(crate) fn random_secret(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let body: String = (0..40)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect();
    format!("{prefix}_{body}")
}

impl Store {
    /// Creates a key for `role`, with a scope and an expiry. A biller key names its biller, a
    /// customer key its customer.
    pub async fn create_api_key(
        &self,
        role: Role,
        biller_id: Option<&str>,
        customer_id: Option<&str>,
        label: &str,
        terms: &KeyTerms,
    ) -> Result<NewApiKey> {
        self.insert_key(random_secret("bpk"), role, biller_id, customer_id, label, terms)
            .await
    }

    /// Stores a key with a secret chosen by the caller. The demo data uses fixed secrets so that the
    /// README's commands work as written; a second call with the same secret changes nothing.
    pub async fn insert_api_key(
        &self,
        secret: String,
        role: Role,
        biller_id: Option<&str>,
        customer_id: Option<&str>,
        label: &str,
    ) -> Result<NewApiKey> {
        self.insert_key(secret, role, biller_id, customer_id, label, &KeyTerms::default())
            .await
    }

    async fn insert_key(
        &self,
        secret: String,
        role: Role,
        biller_id: Option<&str>,
        customer_id: Option<&str>,
        label: &str,
        terms: &KeyTerms,
    ) -> Result<NewApiKey> {
        match (role, biller_id, customer_id) {
            (Role::Admin, None, None) | (Role::Biller, Some(_), None) | (Role::Customer, None, Some(_)) => {}
            _ => {
                return Err(StoreError::Invalid(
                    "an admin key names nothing, a biller key names one biller, a customer key one customer".into(),
                ));
            }
        }
        if let Some(b) = biller_id {
            self.get_biller(b).await?;
        }
        if let Some(c) = customer_id {
            self.get_customer(c).await?;
        }
        let hash = hash_secret(&secret);
        sqlx::query(
            "INSERT INTO api_keys (id, secret_hash, role, biller_id, customer_id, label, created_at, scope, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (secret_hash) DO NOTHING",
        )
        .bind(id::new(Kind::ApiKey))
        .bind(&hash)
        .bind(role.as_str())
        .bind(biller_id)
        .bind(customer_id)
        .bind(label)
        .bind(billpay_core::time::now())
        .bind(terms.scope.as_str())
        .bind(terms.expires_at.as_deref())
        .execute(&self.pool)
        .await?;
        let record = self
            .api_key_by_hash(&hash)
            .await?
            .ok_or(StoreError::NotFound(Kind::ApiKey))?;
        Ok(NewApiKey { record, secret })
    }

    /// Every key, newest first, without secrets.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyInfo>> {
        let rows = sqlx::query(
            "SELECT id, role, biller_id, customer_id, scope, expires_at, label, created_at, revoked_at \
             FROM api_keys ORDER BY created_at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiKeyInfo {
                    record: record_from_row(r)?,
                    label: r.text("label")?,
                    created_at: r.text("created_at")?,
                    revoked_at: r.opt_text("revoked_at")?,
                })
            })
            .collect()
    }

    /// Revokes a key now. `NotFound` when there is no such key or it is already revoked.
    pub async fn revoke_api_key(&self, key_id: &str) -> Result<()> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(key_id)
            .bind(billpay_core::time::now())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Kind::ApiKey));
        }
        Ok(())
    }

    /// Replaces a live key with a new one for the same role, owner, scope and label. The old key
    /// keeps working until `old_expires_at` (never later than it would have), so clients can
    /// switch without an outage; the new one expires `new_expires_at`.
    pub async fn rotate_api_key(
        &self,
        key_id: &str,
        old_expires_at: &str,
        new_expires_at: Option<&str>,
    ) -> Result<NewApiKey> {
        let now = billpay_core::time::now();
        let row = sqlx::query(
            "SELECT id, role, biller_id, customer_id, scope, expires_at, label, created_at, revoked_at \
             FROM api_keys WHERE id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(key_id)
        .bind(&now)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound(Kind::ApiKey))?;
        let old = record_from_row(&row)?;
        let label = row.text("label")?;
        let new = self
            .create_api_key(
                old.role,
                old.biller_id.as_deref(),
                old.customer_id.as_deref(),
                &label,
                &KeyTerms {
                    scope: old.scope,
                    expires_at: new_expires_at.map(str::to_owned),
                },
            )
            .await?;
        sqlx::query("UPDATE api_keys SET expires_at = $2 WHERE id = $1 AND (expires_at IS NULL OR expires_at > $2)")
            .bind(key_id)
            .bind(old_expires_at)
            .execute(&self.pool)
            .await?;
        Ok(new)
    }

    /// The live key whose secret hashes to `hash`: not revoked, not expired.
    pub async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>> {
        let row = sqlx::query(
            "SELECT id, role, biller_id, customer_id, scope, expires_at FROM api_keys WHERE secret_hash = $1 \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(hash)
        .bind(billpay_core::time::now())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(record_from_row).transpose()
    }
}
