//! `/v1/api-keys`: admins manage the keys machines use. A key has a role and an owner, a scope
//! (`read_write`, or `read_only` for reporting), and may expire; it can be rotated (a new secret,
//! the old one working for an overlap) and revoked. The secret is shown once, when it is made.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use billpay_core::id::Kind;
use billpay_store::{ApiKeyInfo, KeyTerms, NewApiKey, Role, Scope};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, path_id};
use crate::routes::billers::check_text;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/api-keys", get(list_keys).post(create_key))
        .route("/v1/api-keys/{key_id}", delete(revoke_key))
        .route("/v1/api-keys/{key_id}/rotate", post(rotate_key))
}

/// The longest a key may be made to live, in days.
const MAX_DAYS: u32 = 730;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// `admin`, `biller` or `customer`.
    #[schema(example = "biller")]
    pub role: String,
    /// The biller a biller key speaks for.
    pub biller_id: Option<String>,
    /// The customer a customer key speaks for.
    pub customer_id: Option<String>,
    #[schema(example = "ERP integration")]
    pub label: String,
    /// `read_write` (the default) or `read_only`.
    pub scope: Option<String>,
    /// Days until the key stops working (1 to 730); without it, the key does not expire.
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// Hours the old key keeps working, so clients can switch (0 to 168; default 24).
    pub overlap_hours: Option<u32>,
    /// Days until the new key stops working; without it, it does not expire.
    pub expires_in_days: Option<u32>,
}

/// A key without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    #[schema(example = "key_01jdx5v9k3m0000000000000ee")]
    pub id: String,
    pub role: String,
    pub biller_id: Option<String>,
    pub customer_id: Option<String>,
    pub label: String,
    pub scope: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A key just made: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    pub id: String,
    pub role: String,
    pub scope: String,
    pub expires_at: Option<String>,
    /// Keep it now: BillPay stores only its hash.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeys {
    pub data: Vec<ApiKey>,
}

fn view(k: ApiKeyInfo) -> ApiKey {
    ApiKey {
        id: k.record.id,
        role: k.record.role.as_str().to_owned(),
        biller_id: k.record.biller_id,
        customer_id: k.record.customer_id,
        label: k.label,
        scope: k.record.scope.as_str().to_owned(),
        created_at: k.created_at,
        expires_at: k.record.expires_at,
        revoked_at: k.revoked_at,
    }
}

fn created(k: NewApiKey) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(CreatedKey {
            id: k.record.id,
            role: k.record.role.as_str().to_owned(),
            scope: k.record.scope.as_str().to_owned(),
            expires_at: k.record.expires_at,
            secret: k.secret,
        }),
    )
        .into_response()
}

fn days_from_now(field: &str, days: Option<u32>) -> Result<Option<String>, ApiError> {
    match days {
        None => Ok(None),
        Some(d) if (1..=MAX_DAYS).contains(&d) => {
            Ok(Some(billpay_core::time::from_now(time::Duration::days(i64::from(d)))))
        }
        Some(d) => Err(ApiError::invalid(format!(
            "{field} must be between 1 and {MAX_DAYS}, not {d}"
        ))),
    }
}

/// Every API key, newest first, with its scope, expiry and revocation; never a secret.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api keys",
    responses((status = 200, body = ApiKeys)), security(("bearer" = [])))]
pub async fn list_keys(State(state): State<AppState>, who: Principal) -> Result<axum::Json<ApiKeys>, ApiError> {
    who.require_admin()?;
    let data = state.store.list_api_keys().await?.into_iter().map(view).collect();
    Ok(axum::Json(ApiKeys { data }))
}

/// Make an API key for a machine. Its secret is in this answer only.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api keys", request_body = CreateKey,
    responses((status = 201, description = "created; keep the secret", body = CreatedKey)), security(("bearer" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    who: Principal,
    body: ApiJson<CreateKey>,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    let b = body.value()?;
    let role = Role::parse(&b.role)
        .ok_or_else(|| ApiError::invalid(format!("role {:?} is not admin, biller or customer", b.role)))?;
    let scope = match b.scope.as_deref() {
        None => Scope::ReadWrite,
        Some(s) => {
            Scope::parse(s).ok_or_else(|| ApiError::invalid(format!("scope {s:?} is not read_write or read_only")))?
        }
    };
    if let Some(id) = &b.biller_id {
        path_id(Kind::Biller, id)?;
    }
    if let Some(id) = &b.customer_id {
        path_id(Kind::Customer, id)?;
    }
    let label = b.label.trim();
    check_text("label", label, 200)?;
    let terms = KeyTerms {
        scope,
        expires_at: days_from_now("expires_in_days", b.expires_in_days)?,
    };
    let key = state
        .store
        .create_api_key(role, b.biller_id.as_deref(), b.customer_id.as_deref(), label, &terms)
        .await?;
    Ok(created(key))
}

/// Revoke a key now. Requests with it are refused at once on this server, and within ten seconds
/// on every other.
#[utoipa::path(delete, path = "/v1/api-keys/{key_id}", tag = "api keys", params(("key_id" = String, Path)),
    responses((status = 204, description = "revoked")), security(("bearer" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    who: Principal,
    Path(key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    who.require_admin()?;
    path_id(Kind::ApiKey, &key_id)?;
    if key_id == who.key_id() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "this is the key making the request: revoke it with another admin key, or rotate it",
        ));
    }
    state.store.revoke_api_key(&key_id).await?;
    state.keys.forget(&key_id);
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate a key: a new secret for the same role, owner, scope and label. The old key keeps
/// working for `overlap_hours` (default 24), then stops.
#[utoipa::path(post, path = "/v1/api-keys/{key_id}/rotate", tag = "api keys", params(("key_id" = String, Path)),
    request_body = RotateKey,
    responses((status = 201, description = "the new key; keep the secret", body = CreatedKey)), security(("bearer" = [])))]
pub async fn rotate_key(
    State(state): State<AppState>,
    who: Principal,
    Path(key_id): Path<String>,
    body: ApiJson<RotateKey>,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    path_id(Kind::ApiKey, &key_id)?;
    let b = body.value()?;
    let overlap = b.overlap_hours.unwrap_or(24);
    if overlap > 168 {
        return Err(ApiError::invalid(format!(
            "overlap_hours must be between 0 and 168, not {overlap}"
        )));
    }
    if overlap == 0 && key_id == who.key_id() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "rotating the key making the request with no overlap would lock its holder out: give overlap_hours",
        ));
    }
    let old_until = billpay_core::time::from_now(time::Duration::hours(i64::from(overlap)));
    let new_until = days_from_now("expires_in_days", b.expires_in_days)?;
    let key = state
        .store
        .rotate_api_key(&key_id, &old_until, new_until.as_deref())
        .await?;
    state.keys.forget(&key_id);
    Ok(created(key))
}
