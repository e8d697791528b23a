//! `/v1/billers/{id}/fetch-endpoint`: a biller's bill-fetch endpoint (docs/bill-fetch.md), and
//! how a failed fetch reads to the customer who looked a bill up.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::put;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use billpay_core::id::Kind;
use billpay_store::Role;
use billpay_store::fetch::{FetchConfig, FetchSettings};
use billpay_worker::fetch::{FetchError, FetchFailed, check_url};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, path_id};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/v1/billers/{biller_id}/fetch-endpoint",
        put(set_fetch_endpoint)
            .get(get_fetch_endpoint)
            .delete(remove_fetch_endpoint),
    )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetFetchEndpoint {
    /// HTTPS; plain HTTP only on localhost.
    #[schema(example = "https://bills.energia.example/billpay/fetch")]
    pub url: String,
    /// Per attempt, 100 to 10,000 ms. Default 2,000.
    pub timeout_ms: Option<i64>,
    /// Attempts per fetch, 1 to 5. Default 2.
    pub attempts: Option<i64>,
    /// A new secret, replacing the old at once.
    #[serde(default)]
    pub rotate_secret: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FetchEndpointView {
    pub biller_id: String,
    pub url: String,
    pub timeout_ms: i64,
    pub attempts: i64,
    /// Signs BillPay's requests and must sign the biller's answers. Shown when set or rotated.
    pub secret: Option<String>,
}

impl FetchEndpointView {
    fn of(c: FetchConfig, show_secret: bool) -> Self {
        FetchEndpointView {
            biller_id: c.biller_id,
            url: c.url,
            timeout_ms: c.timeout_ms,
            attempts: c.attempts,
            secret: show_secret.then_some(c.secret),
        }
    }
}

/// An admin, or the biller itself (its key or its staff).
fn may_manage(who: &Principal, biller_id: &str) -> Result<(), ApiError> {
    path_id(Kind::Biller, biller_id)?;
    match who.role() {
        Role::Admin => Ok(()),
        Role::Biller if who.biller() == Some(biller_id) => Ok(()),
        Role::Biller => Err(ApiError::not_found("biller")),
        Role::Customer => Err(ApiError::forbidden(
            "only the biller or an admin manages its fetch endpoint",
        )),
    }
}

/// Set where BillPay fetches this biller's bills. The answer shows the signing secret.
#[utoipa::path(put, path = "/v1/billers/{biller_id}/fetch-endpoint", tag = "billers",
    params(("biller_id" = String, Path)), request_body = SetFetchEndpoint,
    responses((status = 200, body = FetchEndpointView)), security(("bearer" = [])))]
pub async fn set_fetch_endpoint(
    State(state): State<AppState>,
    who: Principal,
    Path(biller_id): Path<String>,
    body: ApiJson<SetFetchEndpoint>,
) -> Result<axum::Json<FetchEndpointView>, ApiError> {
    may_manage(&who, &biller_id)?;
    let b = body.value()?;
    check_url(&b.url).map_err(ApiError::invalid)?;
    let timeout_ms = b.timeout_ms.unwrap_or(2000);
    if !(100..=10_000).contains(&timeout_ms) {
        return Err(ApiError::invalid(format!(
            "timeout_ms {timeout_ms} is outside 100 to 10000"
        )));
    }
    let attempts = b.attempts.unwrap_or(2);
    if !(1..=5).contains(&attempts) {
        return Err(ApiError::invalid(format!("attempts {attempts} is outside 1 to 5")));
    }
    let had = state.store.fetch_config(&biller_id).await?;
    let settings = FetchSettings {
        url: b.url.clone(),
        timeout_ms,
        attempts,
        rotate_secret: b.rotate_secret,
    };
    let today = billpay_core::time::business_today();
    let c = state.store.set_fetch_endpoint(&biller_id, settings, &today).await?;
    Ok(axum::Json(FetchEndpointView::of(c, had.is_none() || b.rotate_secret)))
}

/// This biller's fetch endpoint, without its secret.
#[utoipa::path(get, path = "/v1/billers/{biller_id}/fetch-endpoint", tag = "billers",
    params(("biller_id" = String, Path)),
    responses((status = 200, body = FetchEndpointView)), security(("bearer" = [])))]
pub async fn get_fetch_endpoint(
    State(state): State<AppState>,
    who: Principal,
    Path(biller_id): Path<String>,
) -> Result<axum::Json<FetchEndpointView>, ApiError> {
    may_manage(&who, &biller_id)?;
    let c = state.store.fetch_config(&biller_id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "fetch_endpoint_not_found",
            "this biller has no fetch endpoint; BillPay holds only the bills it presents",
        )
    })?;
    Ok(axum::Json(FetchEndpointView::of(c, false)))
}

/// Stop fetching this biller's bills.
#[utoipa::path(delete, path = "/v1/billers/{biller_id}/fetch-endpoint", tag = "billers",
    params(("biller_id" = String, Path)),
    responses((status = 204, description = "removed")), security(("bearer" = [])))]
pub async fn remove_fetch_endpoint(
    State(state): State<AppState>,
    who: Principal,
    Path(biller_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    may_manage(&who, &biller_id)?;
    state.store.remove_fetch_endpoint(&biller_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How a failed fetch reads to the customer: 504 when the biller's system is too slow, 502 when
/// it is down or answers with something BillPay cannot trust. Nothing was stored.
pub(crate) fn fetch_failed(e: FetchFailed) -> ApiError {
    let gateway = |status, code: &str, detail: String| ApiError {
        retry_after: Some(30),
        ..ApiError::transient(status, code, detail)
    };
    match e {
        FetchFailed::Store(e) => e.into(),
        FetchFailed::Fetch(e @ FetchError::Timeout { .. }) => gateway(
            StatusCode::GATEWAY_TIMEOUT,
            "biller_unreachable",
            format!("the biller cannot be reached right now; try again later ({e})"),
        ),
        FetchFailed::Fetch(e @ (FetchError::Unreachable { .. } | FetchError::Status { .. })) => gateway(
            StatusCode::BAD_GATEWAY,
            "biller_unreachable",
            format!("the biller cannot be reached right now; try again later ({e})"),
        ),
        FetchFailed::Fetch(e @ (FetchError::BadSignature(_) | FetchError::Malformed(_))) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "biller_answer_invalid",
            format!("the biller's system gave an answer BillPay cannot use; nothing was stored ({e})"),
        ),
        FetchFailed::Invalid(why) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "biller_answer_invalid",
            format!("the biller's system gave an answer BillPay cannot use; nothing was stored ({why})"),
        ),
    }
}
