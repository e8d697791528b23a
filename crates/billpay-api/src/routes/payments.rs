//! `/v1/payments`: pay a bill from a wallet, list and read payments, receipts and refunds.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use billpay_core::bill::PaymentStatus;
use billpay_core::id::Kind;
use billpay_core::{Currency, money};
use billpay_store::{PayTarget, Payment, PaymentFilter, Receipt, Refund, Role};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey, decode_cursor, page_limit, path_id};
use crate::routes::List;
use crate::routes::billers::check_currency;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/payments", get(list_payments).post(create_payment))
        .route("/v1/payments/{payment_id}", get(get_payment))
        .route("/v1/payments/{payment_id}/receipt", get(get_receipt))
        .route("/v1/payments/{payment_id}/refunds", post(create_refund))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// The bill to pay. Give either this, or `biller_id` with `reference`.
    pub bill_id: Option<String>,
    pub biller_id: Option<String>,
    /// Pays the oldest unpaid bill with this reference at `biller_id`.
    pub reference: Option<String>,
    /// Minor units applied to the bill; the fee comes on top when the customer pays it.
    #[schema(example = 18550000)]
    pub amount: i64,
    #[schema(example = "COP")]
    pub currency: String,
    /// With an admin key: the customer whose wallet pays. A customer key pays from its own.
    pub customer_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefund {
    /// Minor units, at most what was paid less what was already refunded.
    pub amount: i64,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PaymentQuery {
    pub customer_id: Option<String>,
    pub biller_id: Option<String>,
    pub bill_id: Option<String>,
    pub status: Option<PaymentStatus>,
    /// Payments made at or after this RFC 3339 time.
    pub created_from: Option<String>,
    /// Payments made before this RFC 3339 time.
    pub created_to: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn visible(who: &Principal, p: &Payment) -> bool {
    match who.role() {
        Role::Admin => true,
        Role::Biller => who.biller() == Some(p.biller_id.as_str()),
        Role::Customer => who.customer() == Some(p.customer_id.as_str()),
    }
}

fn count(outcome: &str) {
    metrics::counter!("billpay_payments_total", "status" => outcome.to_owned()).increment(1);
}

/// Pay a bill from the customer's wallet, in full or in part as the biller allows.
#[utoipa::path(post, path = "/v1/payments", tag = "payments", request_body = CreatePayment,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the first answer")),
    responses((status = 201, description = "paid", body = Payment)), security(("bearer" = [])))]
pub async fn create_payment(
    State(state): State<AppState>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<CreatePayment>,
) -> Result<Response, ApiError> {
    let b = body.value()?;
    let customer_id = match (who.role(), &b.customer_id) {
        (Role::Customer, None) => who.customer().unwrap_or_default().to_owned(),
        (Role::Customer, Some(c)) if Some(c.as_str()) == who.customer() => c.clone(),
        (Role::Customer, Some(_)) => {
            return Err(ApiError::forbidden("a customer key pays only from its own wallet"));
        }
        (Role::Admin, Some(c)) => {
            path_id(Kind::Customer, c)
                .map_err(|_| ApiError::invalid(format!("customer_id {c:?} is not a customer id")))?;
            c.clone()
        }
        (Role::Admin, None) => {
            return Err(ApiError::invalid("customer_id is required with an admin key"));
        }
        (Role::Biller, _) => return Err(ApiError::forbidden("a biller key cannot make payments")),
    };
    let target = pay_target(b.bill_id.as_deref(), b.biller_id.as_deref(), b.reference.as_deref())?;
    money::validate_amount(b.amount)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount", e))?;
    let currency: Currency = check_currency(&b.currency)?;
    let amount = b.amount;
    let store = state.store.clone();
    let result = crate::idempotent!(
        state,
        who,
        key,
        ("POST /v1/payments", &body.raw),
        StatusCode::CREATED,
        |r| store.pay(&customer_id, &target, amount, currency.code(), r).await
    );
    match &result {
        Ok(resp) if resp.status() == StatusCode::CREATED && resp.headers().get("idempotent-replayed").is_none() => {
            count("succeeded");
            metrics::counter!("billpay_payment_amount_minor_total", "currency" => currency.code())
                .increment(amount.unsigned_abs());
        }
        Ok(_) => {}
        Err(e) => {
            count(&e.code);
            if DECLINES.contains(&e.code.as_str()) {
                let biller = match &target {
                    PayTarget::Reference { biller_id, .. } => Some(biller_id.as_str()),
                    PayTarget::Bill(_) => None,
                };
                if let Err(err) = state.store.record_decline(&customer_id, biller, &e.code).await {
                    tracing::warn!(error = %err, "could not record a declined payment");
                }
            }
        }
    }
    result
}

/// The bill a payment request names: `bill_id`, or `biller_id` with `reference`.
pub(crate) fn pay_target(
    bill_id: Option<&str>,
    biller_id: Option<&str>,
    reference: Option<&str>,
) -> Result<PayTarget, ApiError> {
    match (bill_id, biller_id, reference) {
        (Some(bill), None, None) => {
            path_id(Kind::Bill, bill)?;
            Ok(PayTarget::Bill(bill.to_owned()))
        }
        (None, Some(biller), Some(reference)) => {
            path_id(Kind::Biller, biller)?;
            Ok(PayTarget::Reference {
                biller_id: biller.to_owned(),
                reference: reference.to_owned(),
            })
        }
        _ => Err(ApiError::invalid(
            "give either bill_id, or biller_id together with reference",
        )),
    }
}

/// Refusals that count as declined payments in the business figures: the request was well
/// formed, and a rule about money, the bill or the biller said no.
const DECLINES: &[&str] = &[
    "insufficient_funds",
    "bill_already_paid",
    "bill_cancelled",
    "amount_not_allowed",
    "biller_suspended",
    "reference_invalid",
    "currency_mismatch",
];

/// List payments, filtered by customer, biller, bill, status and time. Each key sees only what
/// it may: a biller its own payments, a customer its own.
#[utoipa::path(get, path = "/v1/payments", tag = "payments", params(PaymentQuery),
    responses((status = 200, body = List<Payment>)), security(("bearer" = [])))]
pub async fn list_payments(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<PaymentQuery>,
) -> Result<axum::Json<List<Payment>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::Payment)?;
    let time = |field: &str, v: Option<String>| {
        v.map(|s| {
            billpay_core::time::parse_timestamp(&s)
                .map_err(|e| ApiError::bad_request("invalid_query", format!("{field}: {e}")))
        })
        .transpose()
    };
    let mut f = PaymentFilter {
        customer_id: q.customer_id,
        biller_id: q.biller_id,
        bill_id: q.bill_id,
        status: q.status,
        created_from: time("created_from", q.created_from)?,
        created_to: time("created_to", q.created_to)?,
    };
    match who.role() {
        Role::Admin => {}
        Role::Biller => f.biller_id = who.biller().map(str::to_owned),
        Role::Customer => f.customer_id = who.customer().map(str::to_owned),
    }
    Ok(axum::Json(
        state.store.list_payments(&f, after.as_deref(), limit).await?.into(),
    ))
}

async fn visible_payment(state: &AppState, who: &Principal, payment_id: &str) -> Result<Payment, ApiError> {
    path_id(Kind::Payment, payment_id)?;
    let p = state.store.get_payment(payment_id).await?;
    if visible(who, &p) {
        Ok(p)
    } else {
        Err(ApiError::not_found("payment"))
    }
}

/// Get a payment.
#[utoipa::path(get, path = "/v1/payments/{payment_id}", tag = "payments", params(("payment_id" = String, Path)),
    responses((status = 200, body = Payment)), security(("bearer" = [])))]
pub async fn get_payment(
    State(state): State<AppState>,
    who: Principal,
    Path(payment_id): Path<String>,
) -> Result<axum::Json<Payment>, ApiError> {
    Ok(axum::Json(visible_payment(&state, &who, &payment_id).await?))
}

/// A payment's receipt: printable HTML when the client asks for `text/html`, JSON otherwise.
#[utoipa::path(get, path = "/v1/payments/{payment_id}/receipt", tag = "payments", params(("payment_id" = String, Path)),
    responses((status = 200, content((Receipt = "application/json"), (String = "text/html")))), security(("bearer" = [])))]
pub async fn get_receipt(
    State(state): State<AppState>,
    who: Principal,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    visible_payment(&state, &who, &payment_id).await?;
    let receipt = state.store.receipt(&payment_id).await?;
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !wants_html {
        return Ok(axum::Json(receipt).into_response());
    }
    let html = render_receipt(&receipt).map_err(|e| {
        tracing::error!(error = %e, "receipt template failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the receipt could not be rendered",
        )
    })?;
    let mut resp = html.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Ok(resp)
}

fn render_receipt(r: &Receipt) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("receipt.html", include_str!("../../templates/receipt.html"))?;
    let cur = Currency::parse(&r.payment.currency).ok();
    let fmt = |v: i64| cur.map_or_else(|| format!("{} {v}", r.payment.currency), |c| c.format(v));
    let refunds: Vec<_> = r
        .refunds
        .iter()
        .map(|f| minijinja::context! { id => f.id, created_at => f.created_at, reason => f.reason, formatted => fmt(f.amount) })
        .collect();
    env.get_template("receipt.html")?.render(minijinja::context! {
        p => r.payment,
        r => r,
        amount => fmt(r.payment.amount),
        fee => fmt(r.payment.fee),
        total => fmt(r.payment.total_debited),
        refunds => refunds,
    })
}

/// Refund part or all of a payment (admin, or the biller that was paid).
#[utoipa::path(post, path = "/v1/payments/{payment_id}/refunds", tag = "payments", request_body = CreateRefund,
    params(("payment_id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, description = "refunded", body = Refund)), security(("bearer" = [])))]
pub async fn create_refund(
    State(state): State<AppState>,
    who: Principal,
    Path(payment_id): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<CreateRefund>,
) -> Result<Response, ApiError> {
    if who.role() == Role::Customer {
        return Err(ApiError::forbidden("a customer key cannot refund; ask the biller"));
    }
    let b = body.value()?;
    money::validate_amount(b.amount)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_amount", e))?;
    let reason = b.reason.clone().unwrap_or_else(|| "requested".to_owned());
    if reason.chars().count() > 500 {
        return Err(ApiError::invalid("reason must be at most 500 characters"));
    }
    visible_payment(&state, &who, &payment_id).await?;
    let amount = b.amount;
    let store = state.store.clone();
    let fingerprint = format!("POST /v1/payments/{payment_id}/refunds");
    crate::idempotent!(state, who, key, (&fingerprint, &body.raw), StatusCode::CREATED, |r| {
        store.refund(&payment_id, amount, &reason, r).await
    })
}
