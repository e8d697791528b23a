//! `/v1/customers`: customers and their wallets.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use billpay_core::id::Kind;
use billpay_core::money;
use billpay_store::{Customer, Topup, Wallet};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey, decode_cursor, page_limit, path_id};
use crate::routes::List;
use crate::routes::billers::{check_currency, check_text};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/customers", get(list_customers).post(create_customer))
        .route("/v1/customers/{customer_id}", get(get_customer))
        .route("/v1/customers/{customer_id}/wallet", get(get_wallet))
        .route("/v1/customers/{customer_id}/wallet/topups", post(top_up))
        .route("/v1/customers/{customer_id}/api-keys", post(create_customer_key))
        .route("/v1/me", get(me))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    #[schema(example = "Ana Gómez")]
    pub name: String,
    #[schema(example = "ana@example.com")]
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTopup {
    /// Minor units.
    #[schema(example = 50000000)]
    pub amount: i64,
    #[schema(example = "COP")]
    pub currency: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Create a customer.
#[utoipa::path(post, path = "/v1/customers", tag = "customers", request_body = CreateCustomer,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, description = "created", body = Customer)), security(("bearer" = [])))]
pub async fn create_customer(
    State(state): State<AppState>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<CreateCustomer>,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    let c = body.value()?;
    check_text("name", &c.name, 200)?;
    if let Some(e) = &c.email
        && (e.len() > 254 || !e.contains('@') || e.starts_with('@') || e.ends_with('@'))
    {
        return Err(ApiError::invalid(format!("email {e:?} is not an email address")));
    }
    let (name, email) = (c.name.trim().to_owned(), c.email.clone());
    let store = state.store.clone();
    crate::idempotent!(
        state,
        who,
        key,
        ("POST /v1/customers", &body.raw),
        StatusCode::CREATED,
        |r| store.create_customer(&name, email.as_deref(), r).await
    )
}

/// List customers (admin).
#[utoipa::path(get, path = "/v1/customers", tag = "customers", params(PageQuery),
    responses((status = 200, body = List<Customer>)), security(("bearer" = [])))]
pub async fn list_customers(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<axum::Json<List<Customer>>, ApiError> {
    who.require_admin()?;
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::Customer)?;
    Ok(axum::Json(
        state.store.list_customers(after.as_deref(), limit).await?.into(),
    ))
}

/// Get a customer: an admin any, a customer itself.
#[utoipa::path(get, path = "/v1/customers/{customer_id}", tag = "customers", params(("customer_id" = String, Path)),
    responses((status = 200, body = Customer)), security(("bearer" = [])))]
pub async fn get_customer(
    State(state): State<AppState>,
    who: Principal,
    Path(customer_id): Path<String>,
) -> Result<axum::Json<Customer>, ApiError> {
    path_id(Kind::Customer, &customer_id)?;
    who.may_act_for_customer(&customer_id)?;
    Ok(axum::Json(state.store.get_customer(&customer_id).await?))
}

/// A customer's wallet balances, one per currency.
#[utoipa::path(get, path = "/v1/customers/{customer_id}/wallet", tag = "customers", params(("customer_id" = String, Path)),
    responses((status = 200, body = Wallet)), security(("bearer" = [])))]
pub async fn get_wallet(
    State(state): State<AppState>,
    who: Principal,
    Path(customer_id): Path<String>,
) -> Result<axum::Json<Wallet>, ApiError> {
    path_id(Kind::Customer, &customer_id)?;
    who.may_act_for_customer(&customer_id)?;
    Ok(axum::Json(state.store.wallet(&customer_id).await?))
}

/// Top up a wallet with money from an external funding source.
#[utoipa::path(post, path = "/v1/customers/{customer_id}/wallet/topups", tag = "customers", request_body = CreateTopup,
    params(("customer_id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, description = "credited", body = Topup)), security(("bearer" = [])))]
pub async fn top_up(
    State(state): State<AppState>,
    who: Principal,
    Path(customer_id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<CreateTopup>,
) -> Result<Response, ApiError> {
    path_id(Kind::Customer, &customer_id)?;
    who.may_act_for_customer(&customer_id)?;
    let t = body.value()?;
    money::validate_amount(t.amount)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount", e))?;
    let currency = check_currency(&t.currency)?;
    let amount = t.amount;
    let store = state.store.clone();
    let fingerprint = format!("POST /v1/customers/{customer_id}/wallet/topups");
    crate::idempotent!(state, who, key, (&fingerprint, &body.raw), StatusCode::CREATED, |r| {
        store.top_up(&customer_id, currency.code(), amount, r).await
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomerKey {
    #[schema(example = "mobile app")]
    pub label: String,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct CustomerKey {
    pub id: String,
    pub customer_id: String,
    /// Shown once; only its SHA-256 is stored.
    pub secret: String,
}

/// Create an API key for a customer (what the customer apps sign in with).
#[utoipa::path(post, path = "/v1/customers/{customer_id}/api-keys", tag = "customers", request_body = CreateCustomerKey,
    params(("customer_id" = String, Path)),
    responses((status = 201, description = "created", body = CustomerKey)), security(("bearer" = [])))]
pub async fn create_customer_key(
    State(state): State<AppState>,
    who: Principal,
    Path(customer_id): Path<String>,
    body: ApiJson<CreateCustomerKey>,
) -> Result<(StatusCode, axum::Json<CustomerKey>), ApiError> {
    who.require_admin()?;
    path_id(Kind::Customer, &customer_id)?;
    let label = body.value()?.label.trim().to_owned();
    check_text("label", &label, 200)?;
    let key = state
        .store
        .create_api_key(
            billpay_store::Role::Customer,
            None,
            Some(&customer_id),
            &label,
            &billpay_store::KeyTerms::default(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CustomerKey {
            id: key.record.id,
            customer_id,
            secret: key.secret,
        }),
    ))
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Me {
    pub key_id: String,
    /// admin, biller or customer.
    pub role: String,
    pub customer_id: Option<String>,
    pub biller_id: Option<String>,
    /// The customer's or biller's name.
    pub name: Option<String>,
    /// For a staff member signed in through single sign-on: who they are.
    pub staff: Option<crate::routes::staff::Staff>,
}

/// Who the calling key speaks for (what an app shows after signing in).
#[utoipa::path(get, path = "/v1/me", tag = "customers",
    responses((status = 200, body = Me)), security(("bearer" = []), ("session" = [])))]
pub async fn me(State(state): State<AppState>, who: Principal) -> Result<axum::Json<Me>, ApiError> {
    let name = match (who.customer(), who.biller()) {
        (Some(c), _) => Some(state.store.get_customer(c).await?.name),
        (_, Some(b)) => Some(state.store.get_biller(b).await?.name),
        _ => None,
    };
    Ok(axum::Json(Me {
        key_id: who.key_id().to_owned(),
        role: who.role().as_str().to_owned(),
        customer_id: who.customer().map(str::to_owned),
        biller_id: who.biller().map(str::to_owned),
        name,
        staff: who.staff().cloned().map(crate::routes::staff::view),
    }))
}
