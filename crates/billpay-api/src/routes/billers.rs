//! `/v1/billers`: who customers pay. Admins create and edit them; every key can read them.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use billpay_core::Currency;
use billpay_core::biller::{AmountRule, BillerStatus, CATEGORIES, ReferenceRule};
use billpay_core::fee::{Fee, FeePayer};
use billpay_core::id::Kind;
use billpay_store::{Biller, BillerPatch, NewBiller};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey, decode_cursor, page_limit, path_id};
use crate::routes::List;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/billers", get(list_billers).post(create_biller))
        .route("/v1/billers/{biller_id}", get(get_biller).patch(update_biller))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeInput {
    /// Fixed part, in minor units.
    pub fixed: i64,
    /// Basis points of the amount, 0 to 10000.
    pub bps: i64,
    pub payer: FeePayer,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBiller {
    #[schema(example = "Energía del Valle")]
    pub name: String,
    /// electricity, water, gas, telecom, internet, tax, insurance, education or other.
    #[schema(example = "electricity")]
    pub category: String,
    #[schema(example = "COP")]
    pub currency: String,
    /// A regular expression every reference must match in full.
    #[schema(example = "[0-9]{10}")]
    pub reference_pattern: String,
    #[schema(example = "The 10-digit account number at the top of your bill")]
    pub reference_hint: String,
    /// The GS1 location number (GLN, 13 digits with its check digit) printed as (415) in the
    /// barcode of the biller's invoices; customers can then pay by pasting the barcode.
    #[schema(example = "7709998000018")]
    pub gln: Option<String>,
    pub amount_rule: AmountRule,
    /// Defaults to no fee.
    pub fee: Option<FeeInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBiller {
    pub name: Option<String>,
    pub reference_hint: Option<String>,
    /// The GS1 location number on the biller's invoices (see `CreateBiller`).
    #[schema(example = "7709998000018")]
    pub gln: Option<String>,
    pub amount_rule: Option<AmountRule>,
    pub fee: Option<FeeInput>,
    /// `suspended` stops new payments and bills at once.
    pub status: Option<BillerStatus>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BillerQuery {
    pub category: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

pub(crate) fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(ApiError::invalid(format!("{field} must be 1 to {max} characters")));
    }
    Ok(())
}

/// Optional text: empty is fine, long is not.
pub(crate) fn check_text_len(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::invalid(format!("{field} must be at most {max} characters")));
    }
    Ok(())
}

pub(crate) fn check_currency(value: &str) -> Result<Currency, ApiError> {
    Currency::parse(value)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_currency", e.to_string()))
}

fn check_fee(fee: &FeeInput) -> Result<Fee, ApiError> {
    let f = Fee {
        fixed: fee.fixed,
        bps: fee.bps,
        payer: fee.payer,
    };
    f.validate().map_err(ApiError::invalid)?;
    Ok(f)
}

/// Create a biller.
#[utoipa::path(post, path = "/v1/billers", tag = "billers", request_body = CreateBiller,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body replay the first answer")),
    responses(
        (status = 201, description = "created", body = Biller),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_biller(
    State(state): State<AppState>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<CreateBiller>,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    let b = body.value()?;
    check_text("name", &b.name, 200)?;
    check_text("reference_hint", &b.reference_hint, 500)?;
    if !CATEGORIES.contains(&b.category.as_str()) {
        return Err(ApiError::invalid(format!(
            "category must be one of {}",
            CATEGORIES.join(", ")
        )));
    }
    let currency = check_currency(&b.currency)?;
    ReferenceRule::new(&b.reference_pattern).map_err(ApiError::invalid)?;
    let fee = match &b.fee {
        Some(f) => check_fee(f)?,
        None => Fee {
            fixed: 0,
            bps: 0,
            payer: FeePayer::Customer,
        },
    };
    let new = NewBiller {
        name: b.name.trim().to_owned(),
        category: b.category.clone(),
        currency: currency.code().to_owned(),
        reference_pattern: b.reference_pattern.clone(),
        reference_hint: b.reference_hint.trim().to_owned(),
        gln: check_gln(b.gln.as_deref())?,
        amount_rule: b.amount_rule,
        fee_fixed: fee.fixed,
        fee_bps: fee.bps,
        fee_payer: fee.payer,
    };
    let store = state.store.clone();
    crate::idempotent!(
        state,
        who,
        key,
        ("POST /v1/billers", &body.raw),
        StatusCode::CREATED,
        |r| store.create_biller(new, r).await
    )
}

/// List billers. A biller key sees only its own biller.
#[utoipa::path(get, path = "/v1/billers", tag = "billers", params(BillerQuery),
    responses((status = 200, body = List<Biller>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_billers(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<BillerQuery>,
) -> Result<axum::Json<List<Biller>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::Biller)?;
    let page = state
        .store
        .list_billers(who.biller(), q.category.as_deref(), after.as_deref(), limit)
        .await?;
    Ok(axum::Json(page.into()))
}

/// Get a biller.
#[utoipa::path(get, path = "/v1/billers/{biller_id}", tag = "billers",
    params(("biller_id" = String, Path)),
    responses((status = 200, body = Biller),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_biller(
    State(state): State<AppState>,
    who: Principal,
    Path(biller_id): Path<String>,
) -> Result<axum::Json<Biller>, ApiError> {
    path_id(Kind::Biller, &biller_id)?;
    if who.biller().is_some_and(|b| b != biller_id) {
        return Err(ApiError::not_found("biller"));
    }
    Ok(axum::Json(state.store.get_biller(&biller_id).await?))
}

/// Edit a biller: rename it, change its rules or fee, suspend or reactivate it.
#[utoipa::path(patch, path = "/v1/billers/{biller_id}", tag = "billers", request_body = UpdateBiller,
    params(("biller_id" = String, Path)),
    responses((status = 200, body = Biller),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn update_biller(
    State(state): State<AppState>,
    who: Principal,
    Path(biller_id): Path<String>,
    body: ApiJson<UpdateBiller>,
) -> Result<axum::Json<Biller>, ApiError> {
    who.require_admin()?;
    path_id(Kind::Biller, &biller_id)?;
    let b = body.value()?;
    if let Some(n) = &b.name {
        check_text("name", n, 200)?;
    }
    if let Some(h) = &b.reference_hint {
        check_text("reference_hint", h, 500)?;
    }
    let fee = b.fee.as_ref().map(check_fee).transpose()?;
    let patch = BillerPatch {
        name: b.name.as_ref().map(|n| n.trim().to_owned()),
        reference_hint: b.reference_hint.as_ref().map(|h| h.trim().to_owned()),
        gln: check_gln(b.gln.as_deref())?,
        amount_rule: b.amount_rule,
        fee_fixed: fee.map(|f| f.fixed),
        fee_bps: fee.map(|f| f.bps),
        fee_payer: fee.map(|f| f.payer),
        status: b.status,
    };
    Ok(axum::Json(state.store.update_biller(&biller_id, patch).await?))
}

/// A location number, checked: 13 digits and the GS1 check digit.
fn check_gln(gln: Option<&str>) -> Result<Option<String>, ApiError> {
    gln.map(|g| {
        billpay_core::barcode::check_gln(g.trim())
            .map(|()| g.trim().to_owned())
            .map_err(|e| ApiError::invalid(format!("gln: {e}")))
    })
    .transpose()
}
