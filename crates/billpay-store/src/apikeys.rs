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

/// A key as the server knows it: who it speaks for, never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub role: Role,
    pub biller_id: Option<String>,
    pub customer_id: Option<String>,
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
    /// Creates a key for `role`. A biller key names its biller, a customer key its customer.
    pub async fn create_api_key(
        &self,
        role: Role,
        biller_id: Option<&str>,
        customer_id: Option<&str>,
        label: &str,
    ) -> Result<NewApiKey> {
        self.insert_api_key(random_secret("bpk"), role, biller_id, customer_id, label)
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
            "INSERT INTO api_keys (id, secret_hash, role, biller_id, customer_id, label, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (secret_hash) DO NOTHING",
        )
        .bind(id::new(Kind::ApiKey))
        .bind(&hash)
        .bind(role.as_str())
        .bind(biller_id)
        .bind(customer_id)
        .bind(label)
        .bind(billpay_core::time::now())
        .execute(&self.pool)
        .await?;
        let record = self
            .api_key_by_hash(&hash)
            .await?
            .ok_or(StoreError::NotFound(Kind::ApiKey))?;
        Ok(NewApiKey { record, secret })
    }

    pub async fn api_key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRecord>> {
        let row = sqlx::query("SELECT id, role, biller_id, customer_id FROM api_keys WHERE secret_hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(ApiKeyRecord {
                id: r.text("id")?,
                role: parse_enum("role", r.text("role")?, Role::parse)?,
                biller_id: r.opt_text("biller_id")?,
                customer_id: r.opt_text("customer_id")?,
            })
        })
        .transpose()
    }
}
