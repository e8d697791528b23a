//! `/v1/webhook-endpoints`: where BillPay posts events, each delivery's log, replays and secret
//! rotation. Billers manage their own endpoints; admins also the platform's, which receive every
//! biller's events.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use billpay_core::id::Kind;
use billpay_store::{Delivery, DeliveryAttempt, EVENT_TYPES, NewEndpoint, Role, WebhookEndpoint};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, decode_cursor, page_limit, path_id};
use crate::routes::List;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/webhook-endpoints", get(list_endpoints).post(create_endpoint))
        .route(
            "/v1/webhook-endpoints/{endpoint_id}",
            get(get_endpoint).delete(disable_endpoint),
        )
        .route("/v1/webhook-endpoints/{endpoint_id}/rotate-secret", post(rotate_secret))
        .route("/v1/webhook-endpoints/{endpoint_id}/deliveries", get(list_deliveries))
        .route(
            "/v1/webhook-endpoints/{endpoint_id}/deliveries/{event_id}",
            get(get_delivery),
        )
        .route(
            "/v1/webhook-endpoints/{endpoint_id}/deliveries/{event_id}/replay",
            post(replay),
        )
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    /// Where to POST events: `https://`, or `http://` to localhost for development.
    #[schema(example = "https://billing.example.com/billpay/webhooks")]
    pub url: String,
    /// The event types to receive, or `["*"]` for all.
    #[schema(example = json!(["payment.succeeded", "bill.paid"]))]
    pub event_types: Vec<String>,
    pub description: Option<String>,
    /// With an admin key: the biller whose events it receives. Leave it out for a platform
    /// endpoint, which receives every biller's events.
    pub biller_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// How long the old secret keeps signing alongside the new one (0 to 604800; default 86400).
    #[schema(example = 86400)]
    pub grace_period_seconds: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EndpointQuery {
    /// With an admin key: only this biller's endpoints.
    pub biller_id: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `failed`.
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A delivery with every attempt made at it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryLog {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub attempts: Vec<DeliveryAttempt>,
}

fn check_url(url: &str) -> Result<(), ApiError> {
    let bad = |why: &str| ApiError::invalid(format!("url {url:?} {why}"));
    if url.len() > 2048 {
        return Err(bad("is longer than 2048 characters"));
    }
    let uri: Uri = url.parse().map_err(|_| bad("is not a URL"))?;
    let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| bad("has no host"))?;
    let local = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if local => Ok(()),
        Some("http") => Err(bad("must use https (plain http is only for localhost)")),
        _ => Err(bad("must start with https://")),
    }
}

fn check_types(types: &[String]) -> Result<(), ApiError> {
    if types.is_empty() {
        return Err(ApiError::invalid(
            "event_types is empty; name at least one, or \"*\" for all",
        ));
    }
    for t in types {
        if t != "*" && !EVENT_TYPES.contains(&t.as_str()) {
            return Err(ApiError::invalid(format!(
                "event type {t:?} is not one of *, {}",
                EVENT_TYPES.join(", ")
            )));
        }
    }
    Ok(())
}

/// The endpoint, if this key may manage it.
async fn visible(state: &AppState, who: &Principal, id: &str) -> Result<WebhookEndpoint, ApiError> {
    path_id(Kind::WebhookEndpoint, id)?;
    let e = state.store.get_endpoint(id).await?;
    match who.role() {
        Role::Admin => Ok(e),
        Role::Biller if who.biller().is_some() && who.biller() == e.biller_id.as_deref() => Ok(e),
        Role::Biller => Err(ApiError::not_found("webhook endpoint")),
        Role::Customer => Err(ApiError::forbidden("a customer key cannot manage webhook endpoints")),
    }
}

/// Register an endpoint. The answer holds its signing secret, shown this once.
#[utoipa::path(post, path = "/v1/webhook-endpoints", tag = "webhooks", request_body = CreateEndpoint,
    responses((status = 201, description = "registered; `secret` is shown only now", body = WebhookEndpoint)), security(("bearer" = [])))]
pub async fn create_endpoint(
    State(state): State<AppState>,
    who: Principal,
    body: ApiJson<CreateEndpoint>,
) -> Result<(StatusCode, axum::Json<WebhookEndpoint>), ApiError> {
    let b = body.value()?;
    let biller_id = match (who.role(), &b.biller_id) {
        (Role::Admin, Some(id)) => {
            path_id(Kind::Biller, id).map_err(|_| ApiError::invalid(format!("biller_id {id:?} is not a biller id")))?;
            Some(id.clone())
        }
        (Role::Admin, None) => None,
        (Role::Biller, None) => who.biller().map(str::to_owned),
        (Role::Biller, Some(id)) if Some(id.as_str()) == who.biller() => Some(id.clone()),
        (Role::Biller, Some(_)) => return Err(ApiError::forbidden("a biller key registers endpoints only for itself")),
        (Role::Customer, _) => return Err(ApiError::forbidden("a customer key cannot register webhook endpoints")),
    };
    check_url(&b.url)?;
    check_types(&b.event_types)?;
    let mut types = b.event_types.clone();
    types.sort();
    types.dedup();
    if types.iter().any(|t| t == "*") {
        types = vec!["*".into()];
    }
    let description = b.description.clone().unwrap_or_default();
    if description.chars().count() > 200 {
        return Err(ApiError::invalid("description is longer than 200 characters"));
    }
    let e = state
        .store
        .create_endpoint(NewEndpoint {
            biller_id,
            url: b.url.clone(),
            description,
            event_types: types,
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(e)))
}

/// List endpoints, newest first: a biller's own; with an admin key, all or one biller's.
#[utoipa::path(get, path = "/v1/webhook-endpoints", tag = "webhooks", params(EndpointQuery),
    responses((status = 200, body = List<WebhookEndpoint>)), security(("bearer" = [])))]
pub async fn list_endpoints(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<EndpointQuery>,
) -> Result<axum::Json<List<WebhookEndpoint>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::WebhookEndpoint)?;
    let biller = match who.role() {
        Role::Admin => q.biller_id,
        Role::Biller => who.biller().map(str::to_owned),
        Role::Customer => return Err(ApiError::forbidden("a customer key cannot see webhook endpoints")),
    };
    Ok(axum::Json(
        state
            .store
            .list_endpoints(biller.as_deref(), after.as_deref(), limit)
            .await?
            .into(),
    ))
}

#[utoipa::path(get, path = "/v1/webhook-endpoints/{endpoint_id}", tag = "webhooks", params(("endpoint_id" = String, Path)),
    responses((status = 200, body = WebhookEndpoint)), security(("bearer" = [])))]
pub async fn get_endpoint(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<WebhookEndpoint>, ApiError> {
    Ok(axum::Json(visible(&state, &who, &id).await?))
}

/// Disable an endpoint: no new events are queued for it. Its delivery log stays readable.
#[utoipa::path(delete, path = "/v1/webhook-endpoints/{endpoint_id}", tag = "webhooks", params(("endpoint_id" = String, Path)),
    responses((status = 200, body = WebhookEndpoint)), security(("bearer" = [])))]
pub async fn disable_endpoint(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<WebhookEndpoint>, ApiError> {
    visible(&state, &who, &id).await?;
    Ok(axum::Json(state.store.disable_endpoint(&id).await?))
}

/// Give the endpoint a new signing secret. Until the grace period ends, every delivery carries a
/// signature with the new secret and one with the old, so the receiver can switch at leisure.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{endpoint_id}/rotate-secret", tag = "webhooks",
    params(("endpoint_id" = String, Path)), request_body = RotateSecret,
    responses((status = 200, description = "rotated; the new `secret` is shown only now", body = WebhookEndpoint)), security(("bearer" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    body: ApiJson<RotateSecret>,
) -> Result<axum::Json<WebhookEndpoint>, ApiError> {
    let grace = body.value()?.grace_period_seconds.unwrap_or(86_400);
    if !(0..=604_800).contains(&grace) {
        return Err(ApiError::invalid(format!(
            "grace_period_seconds {grace} is not between 0 and 604800 (7 days)"
        )));
    }
    visible(&state, &who, &id).await?;
    let until = billpay_core::time::format_timestamp(time::OffsetDateTime::now_utc() + time::Duration::seconds(grace));
    Ok(axum::Json(state.store.rotate_secret(&id, &until).await?))
}

/// The endpoint's delivery log, newest event first.
#[utoipa::path(get, path = "/v1/webhook-endpoints/{endpoint_id}/deliveries", tag = "webhooks",
    params(("endpoint_id" = String, Path), DeliveryQuery),
    responses((status = 200, body = List<Delivery>)), security(("bearer" = [])))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> Result<axum::Json<List<Delivery>>, ApiError> {
    visible(&state, &who, &id).await?;
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::Event)?;
    crate::routes::check_status(q.status.as_deref(), &["pending", "delivered", "failed"])?;
    let page = state
        .store
        .list_deliveries(&id, q.status.as_deref(), after.as_deref(), limit)
        .await?;
    Ok(axum::Json(page.into()))
}

async fn delivery(state: &AppState, endpoint_id: &str, event_id: &str) -> Result<Delivery, ApiError> {
    path_id(Kind::Event, event_id)?;
    state
        .store
        .get_delivery(endpoint_id, event_id)
        .await
        .map_err(Into::into)
}

/// One delivery, with every attempt: when, the receiver's status or the error, how long it took.
#[utoipa::path(get, path = "/v1/webhook-endpoints/{endpoint_id}/deliveries/{event_id}", tag = "webhooks",
    params(("endpoint_id" = String, Path), ("event_id" = String, Path)),
    responses((status = 200, body = DeliveryLog)), security(("bearer" = [])))]
pub async fn get_delivery(
    State(state): State<AppState>,
    who: Principal,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<axum::Json<DeliveryLog>, ApiError> {
    visible(&state, &who, &id).await?;
    let d = delivery(&state, &id, &event_id).await?;
    let attempts = state.store.delivery_attempts(&id, &event_id).await?;
    Ok(axum::Json(DeliveryLog { delivery: d, attempts }))
}

/// Send an event to the endpoint again, now: a failed one after the receiver is fixed, or a
/// delivered one the receiver lost. It carries the same event id.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{endpoint_id}/deliveries/{event_id}/replay", tag = "webhooks",
    params(("endpoint_id" = String, Path), ("event_id" = String, Path)),
    responses((status = 202, description = "queued", body = Delivery)), security(("bearer" = [])))]
pub async fn replay(
    State(state): State<AppState>,
    who: Principal,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<(StatusCode, axum::Json<Delivery>), ApiError> {
    visible(&state, &who, &id).await?;
    path_id(Kind::Event, &event_id)?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(state.store.replay_delivery(&id, &event_id).await?),
    ))
}
