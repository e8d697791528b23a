//! `/v1/bills`: presentment. Billers (and admins) present bills one at a time or from CSV;
//! customers look them up by biller and reference.

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use billpay_core::bill::BillStatus;
use billpay_core::id::Kind;
use billpay_core::{Rejection, money};
use billpay_store::{Bill, BillFilter, NewBill, Role};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ItemError};
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey, decode_cursor, page_limit, path_id, read_body};
use crate::routes::List;
use crate::routes::billers::check_currency;

/// Most rows one bulk upload takes.
pub const MAX_BULK_ROWS: usize = 10_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/bills", get(list_bills).post(create_bill))
        .route("/v1/bills/bulk", post(bulk_create_bills))
        .route("/v1/bills/lookup", get(lookup_bills))
        .route("/v1/bills/{bill_id}", get(get_bill))
        .route("/v1/bills/{bill_id}/cancel", post(cancel_bill))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBill {
    /// Required with an admin key; a biller key presents for its own biller.
    pub biller_id: Option<String>,
    #[schema(example = "1234567890")]
    pub reference: String,
    #[schema(example = "Ana Gómez")]
    pub customer_name: String,
    /// Ties the bill to one BillPay customer, who alone can then see and pay it.
    pub customer_id: Option<String>,
    /// Minor units.
    #[schema(example = 18550000)]
    pub amount_due: i64,
    /// Must be the biller's currency.
    #[schema(example = "COP")]
    pub currency: String,
    #[schema(example = "2026-12-15")]
    pub due_date: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    pub created: usize,
    /// New bill ids, in the order of the file's rows.
    pub bill_ids: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BillQuery {
    pub biller_id: Option<String>,
    pub customer_id: Option<String>,
    pub status: Option<BillStatus>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// With `reference`; or give `barcode` instead of both.
    pub biller_id: Option<String>,
    pub reference: Option<String>,
    /// The GS1-128 barcode of a Colombian invoice, as printed under the bars
    /// (`(415)…(8020)…(3900)…(96)…`) or as scanned (FNC1-separated). The biller comes from its
    /// location number (415), the reference from (8020).
    #[param(example = "(415)7709998000018(8020)4455667788(3900)185500(96)20261215")]
    pub barcode: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BulkQuery {
    /// Required with an admin key.
    pub biller_id: Option<String>,
}

/// The biller a request acts for: a biller key's own, or the one an admin names.
/// Whether a request's body is declared as CSV.
pub(crate) fn is_csv(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("text/csv")
        })
}

fn acting_biller(who: &Principal, named: Option<&str>) -> Result<String, ApiError> {
    match (who.role(), who.biller(), named) {
        (Role::Biller, Some(own), None) => Ok(own.to_owned()),
        (Role::Biller, Some(own), Some(n)) if n == own => Ok(own.to_owned()),
        (Role::Biller, _, _) => Err(ApiError::forbidden(
            "a biller key presents bills only for its own biller",
        )),
        (Role::Admin, _, Some(n)) => {
            path_id(Kind::Biller, n).map_err(|_| ApiError::invalid(format!("biller_id {n:?} is not a biller id")))?;
            Ok(n.to_owned())
        }
        (Role::Admin, _, None) => Err(ApiError::invalid("biller_id is required with an admin key")),
        (Role::Customer, _, _) => Err(ApiError::forbidden("a customer key cannot present bills")),
    }
}

fn check_bill(reference: &str, customer_name: &str, amount_due: i64, due_date: &str) -> Result<(), String> {
    if reference.is_empty() || reference.len() > 64 {
        return Err("reference must be 1 to 64 characters".into());
    }
    if customer_name.trim().is_empty() || customer_name.chars().count() > 200 {
        return Err("customer_name must be 1 to 200 characters".into());
    }
    money::validate_amount(amount_due).map_err(|e| format!("amount_due: {e}"))?;
    billpay_core::time::parse_date(due_date).map_err(|e| format!("due_date: {e}"))?;
    Ok(())
}

/// Can this principal see this bill? Others get 404, so ids leak nothing.
fn visible(who: &Principal, bill: &Bill) -> bool {
    match who.role() {
        Role::Admin => true,
        Role::Biller => who.biller() == Some(bill.biller_id.as_str()),
        Role::Customer => bill.customer_id.is_none() || bill.customer_id.as_deref() == who.customer(),
    }
}

/// Present one bill.
#[utoipa::path(post, path = "/v1/bills", tag = "bills", request_body = CreateBill,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, description = "created", body = Bill)), security(("bearer" = [])))]
pub async fn create_bill(
    State(state): State<AppState>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<CreateBill>,
) -> Result<Response, ApiError> {
    let b = body.value()?;
    let biller_id = acting_biller(&who, b.biller_id.as_deref())?;
    check_bill(&b.reference, &b.customer_name, b.amount_due, &b.due_date).map_err(ApiError::invalid)?;
    let currency = check_currency(&b.currency)?;
    if let Some(c) = &b.customer_id {
        path_id(Kind::Customer, c).map_err(|_| ApiError::invalid(format!("customer_id {c:?} is not a customer id")))?;
    }
    let biller = state.store.get_biller(&biller_id).await?;
    if biller.currency != currency.code() {
        return Err(Rejection::CurrencyMismatch {
            given: currency.code().to_owned(),
            expected: biller.currency,
        }
        .into());
    }
    let new = NewBill {
        reference: b.reference.clone(),
        customer_name: b.customer_name.trim().to_owned(),
        customer_id: b.customer_id.clone(),
        amount_due: b.amount_due,
        due_date: b.due_date.clone(),
    };
    let store = state.store.clone();
    crate::idempotent!(
        state,
        who,
        key,
        ("POST /v1/bills", &body.raw),
        StatusCode::CREATED,
        |r| store.create_bill(&biller_id, new, r).await
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CsvRow {
    reference: String,
    customer_name: String,
    amount_due: String,
    due_date: String,
    #[serde(default)]
    customer_id: Option<String>,
}

/// Present up to 10,000 bills from a CSV file, all or none.
///
/// Columns: `reference,customer_name,amount_due,due_date[,customer_id]`, with a header row.
/// `amount_due` is in minor units of the biller's currency. When any row is bad, nothing is
/// written and the answer lists every bad row.
#[utoipa::path(post, path = "/v1/bills/bulk", tag = "bills", params(BulkQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 201, description = "all rows created", body = BulkResult)), security(("bearer" = [])))]
pub async fn bulk_create_bills(
    State(state): State<AppState>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    ApiQuery(q): ApiQuery<BulkQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let biller_id = acting_biller(&who, q.biller_id.as_deref())?;
    if !is_csv(req.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the bills as text/csv",
        ));
    }
    let raw = read_body(req, &state, crate::MAX_BODY).await?;
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(raw.as_ref());
    let mut bills = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, row) in reader.deserialize::<CsvRow>().enumerate() {
        let row_no = i + 1;
        if row_no > MAX_BULK_ROWS {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_many_rows",
                format!("a bulk upload takes at most {MAX_BULK_ROWS} rows"),
            ));
        }
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                errors.push(ItemError {
                    location: format!("row {row_no}"),
                    code: "malformed_row".into(),
                    detail: e.to_string(),
                });
                continue;
            }
        };
        let parsed = row
            .amount_due
            .parse::<i64>()
            .map_err(|_| format!("amount_due {:?} is not an integer of minor units", row.amount_due))
            .and_then(|amount| {
                check_bill(&row.reference, &row.customer_name, amount, &row.due_date)?;
                if let Some(c) = row.customer_id.as_deref().filter(|c| !c.is_empty()) {
                    path_id(Kind::Customer, c).map_err(|_| format!("customer_id {c:?} is not a customer id"))?;
                }
                if !seen.insert((row.reference.clone(), row.due_date.clone())) {
                    return Err(format!(
                        "reference {:?} due {} appears twice in this file",
                        row.reference, row.due_date
                    ));
                }
                Ok(amount)
            });
        match parsed {
            Ok(amount_due) => bills.push(NewBill {
                reference: row.reference,
                customer_name: row.customer_name.trim().to_owned(),
                customer_id: row.customer_id.filter(|c| !c.is_empty()),
                amount_due,
                due_date: row.due_date,
            }),
            Err(detail) => errors.push(ItemError {
                location: format!("row {row_no}"),
                code: "invalid_row".into(),
                detail,
            }),
        }
    }
    if errors.is_empty() && bills.is_empty() {
        return Err(ApiError::invalid(
            "the file has no rows; the header is reference,customer_name,amount_due,due_date[,customer_id]",
        ));
    }
    if !errors.is_empty() {
        return Err(rows_error(errors));
    }
    let store = state.store.clone();
    let fingerprint = format!("POST /v1/bills/bulk?biller_id={biller_id}");
    crate::idempotent!(state, who, key, (&fingerprint, &raw), StatusCode::CREATED, |r| store
        .create_bills(
            &biller_id,
            &bills,
            |bill_ids| BulkResult {
                created: bill_ids.len(),
                bill_ids
            },
            r
        )
        .await)
}

pub(crate) fn rows_error(errors: Vec<ItemError>) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_rows",
        format!("{} row(s) are invalid; nothing was written", errors.len()),
    );
    e.errors = Some(errors);
    e
}

/// List bills: an admin sees all, a biller its own, a customer the bills tied to it.
#[utoipa::path(get, path = "/v1/bills", tag = "bills", params(BillQuery),
    responses((status = 200, body = List<Bill>)), security(("bearer" = [])))]
pub async fn list_bills(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<BillQuery>,
) -> Result<axum::Json<List<Bill>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::Bill)?;
    let mut f = BillFilter {
        biller_id: q.biller_id,
        customer_id: q.customer_id,
        status: q.status,
        reference: None,
    };
    match who.role() {
        Role::Admin => {}
        Role::Biller => f.biller_id = who.biller().map(str::to_owned),
        Role::Customer => f.customer_id = who.customer().map(str::to_owned),
    }
    Ok(axum::Json(
        state.store.list_bills(&f, after.as_deref(), limit).await?.into(),
    ))
}

/// Look bills up by biller and reference, or by the barcode printed on a Colombian invoice, as a
/// customer does before paying. Newest first; cancelled bills are left out. When BillPay holds
/// nothing payable for the reference and the biller has a fetch endpoint, BillPay asks the
/// biller's system and stores what it answers (502 or 504 `biller_unreachable` when it cannot).
#[utoipa::path(get, path = "/v1/bills/lookup", tag = "bills", params(LookupQuery),
    responses((status = 200, body = List<Bill>),
        (status = 502, description = "the biller's system is down (`biller_unreachable`, with Retry-After) or gave an answer BillPay cannot use (`biller_answer_invalid`)",
            body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 504, description = "the biller's system did not answer in time (`biller_unreachable`, with Retry-After)",
            body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn lookup_bills(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> Result<axum::Json<List<Bill>>, ApiError> {
    let (biller, reference) = match (q.barcode, q.biller_id, q.reference) {
        (Some(code), None, None) => {
            let code = billpay_core::barcode::parse(&code)
                .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_barcode", e.to_string()))?;
            let biller = match state.store.get_biller_by_gln(&code.gln).await {
                Err(billpay_store::StoreError::NotFound(_)) => {
                    return Err(ApiError::new(
                        StatusCode::NOT_FOUND,
                        "biller_not_found",
                        format!("no biller has location number (415) {}", code.gln),
                    ));
                }
                other => other?,
            };
            (biller, code.reference)
        }
        (None, Some(biller_id), Some(reference)) => {
            path_id(Kind::Biller, &biller_id)?;
            (state.store.get_biller(&biller_id).await?, reference)
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "give biller_id and reference, or barcode alone",
            ));
        }
    };
    let rule = billpay_core::biller::ReferenceRule::new(&biller.reference_pattern).map_err(ApiError::invalid)?;
    if !rule.matches(&reference) {
        return Err(Rejection::ReferenceInvalid {
            reference,
            hint: biller.reference_hint,
        }
        .into());
    }
    if who.biller().is_some_and(|b| b != biller.id) {
        return Err(ApiError::not_found("biller"));
    }
    let biller_id = biller.id.clone();
    let f = BillFilter {
        biller_id: Some(biller.id),
        reference: Some(reference),
        ..Default::default()
    };
    let page = state.store.list_bills(&f, None, 100).await?;
    let mut data: Vec<Bill> = page
        .items
        .into_iter()
        .filter(|b| b.status != BillStatus::Cancelled && visible(&who, b))
        .collect();
    // A biller that answers for its own bills is asked when BillPay holds nothing payable.
    if !data.iter().any(|b| b.amount_outstanding > 0)
        && let Some(config) = state.store.fetch_config(&biller_id).await?
    {
        let reference = f.reference.as_deref().unwrap_or_default();
        let fetched = billpay_worker::fetch::fetch_and_store(
            &state.http,
            &state.store,
            &config,
            reference,
            billpay_worker::fetch::Purpose::Lookup,
        )
        .await
        .map_err(crate::routes::fetch::fetch_failed)?;
        for b in fetched {
            if b.status != BillStatus::Cancelled && visible(&who, &b) && !data.iter().any(|d| d.id == b.id) {
                data.push(b);
            }
        }
        data.sort_by(|a, b| b.id.cmp(&a.id));
    }
    Ok(axum::Json(List {
        data,
        has_more: false,
        next_cursor: None,
    }))
}

/// Get a bill.
#[utoipa::path(get, path = "/v1/bills/{bill_id}", tag = "bills", params(("bill_id" = String, Path)),
    responses((status = 200, body = Bill)), security(("bearer" = [])))]
pub async fn get_bill(
    State(state): State<AppState>,
    who: Principal,
    Path(bill_id): Path<String>,
) -> Result<axum::Json<Bill>, ApiError> {
    path_id(Kind::Bill, &bill_id)?;
    let bill = state.store.get_bill(&bill_id).await?;
    if !visible(&who, &bill) {
        return Err(ApiError::not_found("bill"));
    }
    Ok(axum::Json(bill))
}

/// Cancel a bill nobody has paid anything on.
#[utoipa::path(post, path = "/v1/bills/{bill_id}/cancel", tag = "bills", params(("bill_id" = String, Path)),
    responses((status = 200, body = Bill)), security(("bearer" = [])))]
pub async fn cancel_bill(
    State(state): State<AppState>,
    who: Principal,
    Path(bill_id): Path<String>,
) -> Result<axum::Json<Bill>, ApiError> {
    path_id(Kind::Bill, &bill_id)?;
    if who.role() == Role::Customer {
        return Err(ApiError::forbidden("a customer key cannot cancel bills"));
    }
    let bill = state.store.get_bill(&bill_id).await?;
    if !visible(&who, &bill) {
        return Err(ApiError::not_found("bill"));
    }
    Ok(axum::Json(state.store.cancel_bill(&bill_id).await?))
}
