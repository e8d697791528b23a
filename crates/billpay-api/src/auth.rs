//! Who is calling: a bearer API key with a role (machines), or a session cookie (people; see
//! `session`). Bearer API keys with roles. A key's secret is hashed with SHA-256 and looked up; verified keys
//! are cached for a minute so the hot path does not touch the database to authenticate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};

use billpay_store::{ApiKeyRecord, Role, Scope, StaffMember, hash_secret};

use crate::AppState;
use crate::error::ApiError;

/// How long a verified key is trusted without asking the database again: also the longest a key
/// revoked on another server keeps working here (on this one, revocation is immediate).
const CACHE_TTL: Duration = Duration::from_secs(10);
const CACHE_MAX: usize = 10_000;

#[derive(Default)]
pub struct KeyCache(Mutex<HashMap<String, (ApiKeyRecord, Instant)>>);

impl KeyCache {
    fn get(&self, hash: &str) -> Option<ApiKeyRecord> {
        let map = self.0.lock().ok()?;
        map.get(hash)
            .filter(|(r, at)| {
                at.elapsed() < CACHE_TTL
                    && r.expires_at
                        .as_deref()
                        .is_none_or(|e| e > billpay_core::time::now().as_str())
            })
            .map(|(r, _)| r.clone())
    }

    /// Drops a key from the cache, so a revocation or rotation takes effect here at once.
    pub fn forget(&self, key_id: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|_, (r, _)| r.id != key_id);
        }
    }
    fn put(&self, hash: String, rec: ApiKeyRecord) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= CACHE_MAX {
                map.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
            }
            map.insert(hash, (rec, Instant::now()));
        }
    }
}

/// Who is calling: the key (or session, which stands for one), and the staff member when a
/// person from BillPay or a biller signed in through single sign-on.
#[derive(Debug, Clone)]
pub struct Principal(pub ApiKeyRecord, pub Option<StaffMember>);

impl Principal {
    /// The staff member behind a staff session.
    pub fn staff(&self) -> Option<&StaffMember> {
        self.1.as_ref()
    }
    /// Who the audit log names: the staff member for a staff session, else the key or session.
    pub fn actor(&self) -> &str {
        self.1.as_ref().map_or(self.0.id.as_str(), |s| s.id.as_str())
    }
    pub fn role(&self) -> Role {
        self.0.role
    }
    pub fn key_id(&self) -> &str {
        &self.0.id
    }
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.0.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "this endpoint needs an admin (an admin key, or an admin signed in)",
            ))
        }
    }
    /// The biller a biller key speaks for.
    pub fn biller(&self) -> Option<&str> {
        (self.0.role == Role::Biller)
            .then_some(self.0.biller_id.as_deref())
            .flatten()
    }
    /// The customer a customer key speaks for.
    pub fn customer(&self) -> Option<&str> {
        (self.0.role == Role::Customer)
            .then_some(self.0.customer_id.as_deref())
            .flatten()
    }
    /// Admins may act on any customer; a customer only on itself.
    pub fn may_act_for_customer(&self, customer_id: &str) -> Result<(), ApiError> {
        match self.0.role {
            Role::Admin => Ok(()),
            Role::Customer if self.customer() == Some(customer_id) => Ok(()),
            Role::Customer => Err(ApiError::not_found("customer")),
            Role::Biller => Err(ApiError::forbidden("a biller key cannot act on customers")),
        }
    }
}

/// A request whose credentials were already refused (the audit middleware looks first): the
/// handler answers the same refusal instead of asking the database again, so a request with the
/// database away waits for one lookup, not two.
#[derive(Clone)]
pub(crate) struct Refused(pub(crate) ApiError);

fn unauthenticated(code: &str, detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, detail)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Already resolved for this request (the audit middleware does it first).
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        if let Some(Refused(e)) = parts.extensions.get::<Refused>() {
            return Err(e.clone());
        }
        let Some(header) = parts.headers.get(header::AUTHORIZATION) else {
            // People come with a session cookie; machines with an API key.
            return match crate::session::token(&parts.headers) {
                Some(token) => {
                    let p = crate::session::principal(parts, state, &token).await?;
                    parts.extensions.insert(p.clone());
                    Ok(p)
                }
                None => Err(unauthenticated(
                    "unauthenticated",
                    "sign in, or send an API key as `Authorization: Bearer <key>`",
                )),
            };
        };
        let secret = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 200)
            .ok_or_else(|| unauthenticated("unauthenticated", "the Authorization header must be `Bearer <key>`"))?;
        let hash = hash_secret(secret);
        let rec = match state.keys.get(&hash) {
            Some(rec) => rec,
            None => match state.store.api_key_by_hash(&hash).await? {
                Some(rec) => {
                    state.keys.put(hash, rec.clone());
                    rec
                }
                None => {
                    return Err(unauthenticated(
                        "invalid_api_key",
                        "the API key is not valid (unknown, expired or revoked)",
                    ));
                }
            },
        };
        if rec.scope == Scope::ReadOnly && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "scope_forbidden",
                "this API key is read-only; it cannot change anything",
            ));
        }
        Ok(Principal(rec, None))
    }
}
