//! `/v1/scheduled-payments`, `/v1/autopay` and `/v1/notifications`: paying later, paying each new
//! bill automatically, and what BillPay tells the customer about both.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use billpay_core::id::Kind;
use billpay_core::money;
use billpay_store::{AutopayEnrollment, NewAutopay, NewScheduledPayment, Notification, Role, ScheduledPayment};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey, decode_cursor, page_limit, path_id};
use crate::routes::List;
use crate::routes::billers::check_currency;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/scheduled-payments", get(list_scheduled).post(create_scheduled))
        .route("/v1/scheduled-payments/{scheduled_payment_id}", get(get_scheduled))
        .route(
            "/v1/scheduled-payments/{scheduled_payment_id}/cancel",
            post(cancel_scheduled),
        )
        .route("/v1/autopay", get(list_autopay).post(create_autopay))
        .route("/v1/autopay/{autopay_id}", get(get_autopay).delete(cancel_autopay))
        .route("/v1/notifications", get(list_notifications))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScheduledPayment {
    /// The bill to pay. Give either this, or `biller_id` with `reference`.
    pub bill_id: Option<String>,
    pub biller_id: Option<String>,
    pub reference: Option<String>,
    /// Minor units applied to the bill; the fee is added when it runs, if the customer pays it.
    #[schema(example = 18550000)]
    pub amount: i64,
    #[schema(example = "COP")]
    pub currency: String,
    /// The business date (Bogotá) to pay on: today or later.
    #[schema(example = "2026-12-05")]
    pub execute_on: String,
    /// With an admin key: the customer whose wallet pays.
    pub customer_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAutopay {
    pub biller_id: String,
    /// The reference of the bills to pay, as the biller prints it.
    pub reference: String,
    /// Pay this many days before each bill's due date (0 to 60; 0 pays on the due date).
    #[schema(example = 3)]
    pub days_before: i64,
    /// `full` pays each bill's amount; `fixed` pays `fixed_amount`.
    #[schema(example = "full")]
    pub amount_mode: String,
    pub fixed_amount: Option<i64>,
    /// Bills that would take more than this are skipped, and the customer told.
    pub max_amount: Option<i64>,
    /// With an admin key: the customer who enrolls.
    pub customer_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScheduledQuery {
    /// With an admin key: only this customer's.
    pub customer_id: Option<String>,
    /// `pending`, `succeeded`, `failed` or `cancelled`.
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerListQuery {
    /// With an admin key: only this customer's (required for notifications).
    pub customer_id: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The customer a request acts for: a customer key's own, or the one an admin names.
fn acting_customer(who: &Principal, named: Option<&str>, what: &str) -> Result<String, ApiError> {
    match (who.role(), named) {
        (Role::Customer, None) => Ok(who.customer().unwrap_or_default().to_owned()),
        (Role::Customer, Some(c)) if Some(c) == who.customer() => Ok(c.to_owned()),
        (Role::Customer, Some(_)) => Err(ApiError::forbidden(format!("a customer key {what} only for itself"))),
        (Role::Admin, Some(c)) => {
            path_id(Kind::Customer, c)
                .map_err(|_| ApiError::invalid(format!("customer_id {c:?} is not a customer id")))?;
            Ok(c.to_owned())
        }
        (Role::Admin, None) => Err(ApiError::invalid("customer_id is required with an admin key")),
        (Role::Biller, _) => Err(ApiError::forbidden(format!(
            "a biller key cannot do this: a customer key {what}"
        ))),
    }
}

/// Which customer's records a list shows: a customer's own; an admin's choice or everyone's.
fn list_scope(who: &Principal, named: Option<String>) -> Result<Option<String>, ApiError> {
    match who.role() {
        Role::Customer => Ok(who.customer().map(str::to_owned)),
        Role::Admin => Ok(named),
        Role::Biller => Err(ApiError::forbidden("a biller key cannot see customers' instructions")),
    }
}

/// Schedule a payment for a later date. The bill and the amount are checked now, the wallet's
/// balance when it runs; a failure is recorded with its reason and the customer notified.
#[utoipa::path(post, path = "/v1/scheduled-payments", tag = "scheduled payments", request_body = CreateScheduledPayment,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the first answer")),
    responses((status = 201, description = "scheduled", body = ScheduledPayment)), security(("bearer" = [])))]
pub async fn create_scheduled(
    State(state): State<AppState>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<CreateScheduledPayment>,
) -> Result<Response, ApiError> {
    let b = body.value()?;
    let customer_id = acting_customer(&who, b.customer_id.as_deref(), "schedules payments")?;
    let target =
        crate::routes::payments::pay_target(b.bill_id.as_deref(), b.biller_id.as_deref(), b.reference.as_deref())?;
    money::validate_amount(b.amount)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount", e))?;
    let currency = check_currency(&b.currency)?;
    let execute_on = billpay_core::time::parse_date(&b.execute_on)
        .map(billpay_core::time::format_date)
        .map_err(|e| ApiError::invalid(format!("execute_on: {e}")))?;
    let new = NewScheduledPayment {
        customer_id,
        target,
        amount: b.amount,
        currency: currency.code().to_owned(),
        execute_on,
    };
    let store = state.store.clone();
    let today = billpay_core::time::business_today();
    crate::idempotent!(
        state,
        who,
        key,
        ("POST /v1/scheduled-payments", &body.raw),
        StatusCode::CREATED,
        |r| store.schedule_payment(new, &today, r).await
    )
}

/// List scheduled payments, newest first: a customer's own, or with an admin key anyone's.
#[utoipa::path(get, path = "/v1/scheduled-payments", tag = "scheduled payments", params(ScheduledQuery),
    responses((status = 200, body = List<ScheduledPayment>)), security(("bearer" = [])))]
pub async fn list_scheduled(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ScheduledQuery>,
) -> Result<axum::Json<List<ScheduledPayment>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::ScheduledPayment)?;
    crate::routes::check_status(q.status.as_deref(), &["pending", "succeeded", "failed", "cancelled"])?;
    let customer = list_scope(&who, q.customer_id)?;
    let page = state
        .store
        .list_scheduled(customer.as_deref(), q.status.as_deref(), after.as_deref(), limit)
        .await?;
    Ok(axum::Json(page.into()))
}

async fn visible_scheduled(state: &AppState, who: &Principal, id: &str) -> Result<ScheduledPayment, ApiError> {
    path_id(Kind::ScheduledPayment, id)?;
    let s = state.store.get_scheduled(id).await?;
    match who.role() {
        Role::Admin => Ok(s),
        Role::Customer if who.customer() == Some(s.customer_id.as_str()) => Ok(s),
        _ => Err(ApiError::not_found("scheduled payment")),
    }
}

/// Read a scheduled payment: its status, the payment it made, or why it failed.
#[utoipa::path(get, path = "/v1/scheduled-payments/{scheduled_payment_id}", tag = "scheduled payments",
    params(("scheduled_payment_id" = String, Path)),
    responses((status = 200, body = ScheduledPayment)), security(("bearer" = [])))]
pub async fn get_scheduled(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<ScheduledPayment>, ApiError> {
    Ok(axum::Json(visible_scheduled(&state, &who, &id).await?))
}

/// Cancel a scheduled payment that has not run yet. One that ran, failed or was cancelled is a
/// conflict.
#[utoipa::path(post, path = "/v1/scheduled-payments/{scheduled_payment_id}/cancel", tag = "scheduled payments",
    params(("scheduled_payment_id" = String, Path)),
    responses((status = 200, body = ScheduledPayment)), security(("bearer" = [])))]
pub async fn cancel_scheduled(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<ScheduledPayment>, ApiError> {
    visible_scheduled(&state, &who, &id).await?;
    Ok(axum::Json(state.store.cancel_scheduled(&id).await?))
}

/// Turn on autopay for a biller and reference: each new bill is scheduled for payment
/// `days_before` its due date, in full or a fixed amount, unless it is over `max_amount`.
#[utoipa::path(post, path = "/v1/autopay", tag = "scheduled payments", request_body = CreateAutopay,
    responses((status = 201, description = "enrolled", body = AutopayEnrollment)), security(("bearer" = [])))]
pub async fn create_autopay(
    State(state): State<AppState>,
    who: Principal,
    body: ApiJson<CreateAutopay>,
) -> Result<(StatusCode, axum::Json<AutopayEnrollment>), ApiError> {
    let b = body.value()?;
    let customer_id = acting_customer(&who, b.customer_id.as_deref(), "enrolls in autopay")?;
    path_id(Kind::Biller, &b.biller_id)?;
    if b.reference.is_empty() || b.reference.len() > 64 {
        return Err(ApiError::invalid("reference must be 1 to 64 characters"));
    }
    if !(0..=60).contains(&b.days_before) {
        return Err(ApiError::invalid(format!(
            "days_before {} is not between 0 and 60",
            b.days_before
        )));
    }
    let fixed_amount = match (b.amount_mode.as_str(), b.fixed_amount) {
        ("full", None) => None,
        ("full", Some(_)) => return Err(ApiError::invalid("fixed_amount goes only with amount_mode fixed")),
        ("fixed", Some(a)) => {
            money::validate_amount(a).map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_amount",
                    format!("fixed_amount: {e}"),
                )
            })?;
            Some(a)
        }
        ("fixed", None) => return Err(ApiError::invalid("amount_mode fixed needs fixed_amount")),
        (other, _) => {
            return Err(ApiError::invalid(format!(
                "amount_mode {other:?} is not one of full, fixed"
            )));
        }
    };
    if let Some(cap) = b.max_amount {
        money::validate_amount(cap).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_amount",
                format!("max_amount: {e}"),
            )
        })?;
    }
    let a = state
        .store
        .enroll_autopay(NewAutopay {
            customer_id,
            biller_id: b.biller_id.clone(),
            reference: b.reference.clone(),
            days_before: b.days_before,
            fixed_amount,
            max_amount: b.max_amount,
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(a)))
}

/// List autopay enrollments, newest first.
#[utoipa::path(get, path = "/v1/autopay", tag = "scheduled payments", params(CustomerListQuery),
    responses((status = 200, body = List<AutopayEnrollment>)), security(("bearer" = [])))]
pub async fn list_autopay(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<CustomerListQuery>,
) -> Result<axum::Json<List<AutopayEnrollment>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::Autopay)?;
    let customer = list_scope(&who, q.customer_id)?;
    Ok(axum::Json(
        state
            .store
            .list_autopay(customer.as_deref(), after.as_deref(), limit)
            .await?
            .into(),
    ))
}

async fn visible_autopay(state: &AppState, who: &Principal, id: &str) -> Result<AutopayEnrollment, ApiError> {
    path_id(Kind::Autopay, id)?;
    let a = state.store.get_autopay(id).await?;
    match who.role() {
        Role::Admin => Ok(a),
        Role::Customer if who.customer() == Some(a.customer_id.as_str()) => Ok(a),
        _ => Err(ApiError::not_found("autopay enrollment")),
    }
}

#[utoipa::path(get, path = "/v1/autopay/{autopay_id}", tag = "scheduled payments", params(("autopay_id" = String, Path)),
    responses((status = 200, body = AutopayEnrollment)), security(("bearer" = [])))]
pub async fn get_autopay(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<AutopayEnrollment>, ApiError> {
    Ok(axum::Json(visible_autopay(&state, &who, &id).await?))
}

/// Turn autopay off. Payments it already scheduled stay; cancel them one by one.
#[utoipa::path(delete, path = "/v1/autopay/{autopay_id}", tag = "scheduled payments", params(("autopay_id" = String, Path)),
    responses((status = 200, body = AutopayEnrollment)), security(("bearer" = [])))]
pub async fn cancel_autopay(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<AutopayEnrollment>, ApiError> {
    visible_autopay(&state, &who, &id).await?;
    Ok(axum::Json(state.store.cancel_autopay(&id).await?))
}

/// What BillPay told the customer: failed scheduled payments and bills autopay skipped.
#[utoipa::path(get, path = "/v1/notifications", tag = "scheduled payments", params(CustomerListQuery),
    responses((status = 200, body = List<Notification>)), security(("bearer" = [])))]
pub async fn list_notifications(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<CustomerListQuery>,
) -> Result<axum::Json<List<Notification>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::Notification)?;
    let customer = acting_customer(&who, q.customer_id.as_deref(), "reads notifications")?;
    Ok(axum::Json(
        state
            .store
            .list_notifications(&customer, after.as_deref(), limit)
            .await?
            .into(),
    ))
}
