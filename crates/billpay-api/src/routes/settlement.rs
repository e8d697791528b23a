//! Settlement reports, settlement batches, and reconciliation of confirmation files.

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use billpay_core::id::Kind;
use billpay_store::{
    FileLine, Reconciliation, ReconciliationException, Role, SettlementBatch, SettlementItem, SettlementReport,
};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ItemError};
use crate::extract::{ApiJson, ApiQuery, decode_cursor, page_limit, path_id, read_body};
use crate::routes::List;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/billers/{biller_id}/settlement-reports/{date}",
            get(settlement_report),
        )
        .route("/v1/settlement-batches", get(list_batches).post(create_batch))
        .route("/v1/settlement-batches/{batch_id}", get(get_batch))
        .route("/v1/settlement-batches/{batch_id}/reconciliations", post(reconcile))
        .route("/v1/reconciliation-exceptions", get(list_exceptions))
        .route(
            "/v1/reconciliation-exceptions/{exception_id}/close",
            post(close_exception),
        )
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `json` (the default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBatch {
    pub biller_id: String,
    /// Settle payments and refunds made before this RFC 3339 time (default: now).
    pub cutoff: Option<String>,
    /// The reference the bank transfer will carry (default: generated, `BP-YYYYMMDD-XXXXXXXX`).
    pub bank_reference: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BatchQuery {
    /// With an admin key: only this biller's batches.
    pub biller_id: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReconcileQuery {
    /// `biller`: lines are payments (confirmation number) and refunds (refund id). `bank`: lines
    /// are transfers (bank reference).
    pub source: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExceptionQuery {
    /// `open` or `closed`.
    pub status: Option<String>,
    pub batch_id: Option<String>,
    /// With an admin key: only this biller's.
    pub biller_id: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseException {
    /// How the difference was resolved.
    #[schema(example = "bank confirmed the transfer on 2026-11-30; file was re-sent")]
    pub note: String,
}

/// A batch with the payments and refunds it settled.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDetail {
    #[serde(flatten)]
    pub batch: SettlementBatch,
    pub items: Vec<SettlementItem>,
}

/// The biller whose settlement this key may see: an admin any, a biller its own.
fn may_see_biller(who: &Principal, biller_id: &str) -> Result<(), ApiError> {
    match who.role() {
        Role::Admin => Ok(()),
        Role::Biller if who.biller() == Some(biller_id) => Ok(()),
        Role::Biller => Err(ApiError::not_found("biller")),
        Role::Customer => Err(ApiError::forbidden("a customer key cannot see settlements")),
    }
}

fn biller_scope(who: &Principal, named: Option<String>) -> Result<Option<String>, ApiError> {
    match who.role() {
        Role::Admin => Ok(named),
        Role::Biller => Ok(who.biller().map(str::to_owned)),
        Role::Customer => Err(ApiError::forbidden("a customer key cannot see settlements")),
    }
}

/// The report as CSV: one row per item, then a `total` row.
fn report_csv(r: &SettlementReport) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "kind",
        "id",
        "confirmation_number",
        "bill_id",
        "currency",
        "amount",
        "biller_fee",
        "net",
        "created_at",
    ])?;
    for i in &r.items {
        w.write_record([
            i.kind.as_str(),
            &i.id,
            &i.confirmation_number,
            &i.bill_id,
            &r.currency,
            &i.amount.to_string(),
            &i.biller_fee.to_string(),
            &i.net.to_string(),
            &i.created_at,
        ])?;
    }
    let t = &r.totals;
    w.write_record([
        "total",
        "",
        "",
        "",
        &r.currency,
        &(t.payments_amount - t.refunds_amount).to_string(),
        &t.biller_fees.to_string(),
        &t.net_amount.to_string(),
        "",
    ])?;
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A biller's settlement report for one business day (Bogotá): every payment and refund, the
/// fees, and the net amount due to the biller. `?format=csv` gives a spreadsheet with a final
/// `total` row.
#[utoipa::path(get, path = "/v1/billers/{biller_id}/settlement-reports/{date}", tag = "settlement",
    params(("biller_id" = String, Path), ("date" = String, Path, description = "YYYY-MM-DD"), ReportQuery),
    responses((status = 200, body = SettlementReport, content_type = "application/json"),
              (status = 200, description = "the same report as CSV", body = String, content_type = "text/csv")),
    security(("bearer" = [])))]
pub async fn settlement_report(
    State(state): State<AppState>,
    who: Principal,
    Path((biller_id, date)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    path_id(Kind::Biller, &biller_id)?;
    may_see_biller(&who, &biller_id)?;
    let day = billpay_core::time::parse_date(&date).map_err(|e| ApiError::bad_request("invalid_date", e))?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("format {other:?} is not one of json, csv"),
            ));
        }
    };
    let report = state.store.settlement_report(&biller_id, day).await?;
    if !csv {
        return Ok(axum::Json(report).into_response());
    }
    let csv = report_csv(&report).map_err(|e| {
        tracing::error!(error = %e, "cannot write the settlement report as CSV");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred",
        )
    })?;
    let mut resp = csv.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"settlement-{biller_id}-{date}.csv\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Settle a biller: move what BillPay owes it for every unsettled payment and refund before the
/// cutoff from its payable to the settlement clearing account, in one balanced journal. The
/// batch carries the bank transfer's reference.
#[utoipa::path(post, path = "/v1/settlement-batches", tag = "settlement", request_body = CreateBatch,
    responses((status = 201, description = "settled", body = SettlementBatch)), security(("bearer" = [])))]
pub async fn create_batch(
    State(state): State<AppState>,
    who: Principal,
    body: ApiJson<CreateBatch>,
) -> Result<(StatusCode, axum::Json<SettlementBatch>), ApiError> {
    who.require_admin()?;
    let b = body.value()?;
    path_id(Kind::Biller, &b.biller_id)
        .map_err(|_| ApiError::invalid(format!("biller_id {:?} is not a biller id", b.biller_id)))?;
    let now = billpay_core::time::now();
    let cutoff = match &b.cutoff {
        Some(c) => {
            let c = billpay_core::time::parse_timestamp(c).map_err(|e| ApiError::invalid(format!("cutoff: {e}")))?;
            if c > now {
                return Err(ApiError::invalid(format!("cutoff {c} is in the future")));
            }
            c
        }
        None => now,
    };
    if let Some(r) = &b.bank_reference
        && (r.is_empty() || r.len() > 35 || !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(ApiError::invalid(
            "bank_reference must be 1 to 35 letters, digits or hyphens (what banks carry in a transfer)",
        ));
    }
    let batch = state
        .store
        .create_settlement(&b.biller_id, &cutoff, b.bank_reference.clone())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(batch)))
}

/// List settlement batches, newest first.
#[utoipa::path(get, path = "/v1/settlement-batches", tag = "settlement", params(BatchQuery),
    responses((status = 200, body = List<SettlementBatch>)), security(("bearer" = [])))]
pub async fn list_batches(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<BatchQuery>,
) -> Result<axum::Json<List<SettlementBatch>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::SettlementBatch)?;
    let biller = biller_scope(&who, q.biller_id)?;
    Ok(axum::Json(
        state
            .store
            .list_settlements(biller.as_deref(), after.as_deref(), limit)
            .await?
            .into(),
    ))
}

async fn visible_batch(state: &AppState, who: &Principal, id: &str) -> Result<SettlementBatch, ApiError> {
    path_id(Kind::SettlementBatch, id)?;
    let b = state.store.get_settlement(id).await?;
    may_see_biller(who, &b.biller_id).map_err(|e| {
        if e.status == StatusCode::NOT_FOUND {
            ApiError::not_found("settlement batch")
        } else {
            e
        }
    })?;
    Ok(b)
}

/// A settlement batch with the payments and refunds it settled.
#[utoipa::path(get, path = "/v1/settlement-batches/{batch_id}", tag = "settlement", params(("batch_id" = String, Path)),
    responses((status = 200, body = BatchDetail)), security(("bearer" = [])))]
pub async fn get_batch(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<BatchDetail>, ApiError> {
    let batch = visible_batch(&state, &who, &id).await?;
    let items = state.store.settlement_items(&id).await?;
    Ok(axum::Json(BatchDetail { batch, items }))
}

#[derive(Debug, Deserialize)]
struct CsvLine {
    id: String,
    amount: String,
}

/// Check a confirmation file (text/csv with the header `id,amount`, amounts in minor units)
/// against a batch. Matched ids come back; every difference (amount mismatch, missing on either
/// side, duplicate line) becomes an open exception.
#[utoipa::path(post, path = "/v1/settlement-batches/{batch_id}/reconciliations", tag = "settlement",
    params(("batch_id" = String, Path), ReconcileQuery),
    request_body(content = String, content_type = "text/csv", description = "id,amount"),
    responses((status = 201, description = "reconciled", body = Reconciliation)), security(("bearer" = [])))]
pub async fn reconcile(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ReconcileQuery>,
    req: Request,
) -> Result<(StatusCode, axum::Json<Reconciliation>), ApiError> {
    if !["biller", "bank"].contains(&q.source.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("source {:?} is not one of biller, bank", q.source),
        ));
    }
    if !crate::routes::bills::is_csv(req.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the confirmation file as text/csv",
        ));
    }
    visible_batch(&state, &who, &id).await?;
    let raw = read_body(req, &state, crate::MAX_BODY).await?;
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(raw.as_ref());
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (i, row) in reader.deserialize::<CsvLine>().enumerate() {
        let row_no = i + 1;
        let parsed = row.map_err(|e| e.to_string()).and_then(|l| {
            if l.id.is_empty() || l.id.len() > 64 {
                return Err("id must be 1 to 64 characters".to_owned());
            }
            let amount = l
                .amount
                .parse::<i64>()
                .map_err(|_| format!("amount {:?} is not an integer of minor units", l.amount))?;
            Ok(FileLine {
                row: row_no,
                id: l.id,
                amount,
            })
        });
        match parsed {
            Ok(l) => lines.push(l),
            Err(detail) => errors.push(ItemError {
                location: format!("row {row_no}"),
                code: "invalid_row".into(),
                detail,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(crate::routes::bills::rows_error(errors));
    }
    if lines.is_empty() {
        return Err(ApiError::invalid("the file has no rows; the header is id,amount"));
    }
    let rec = state.store.reconcile(&id, &q.source, &lines).await?;
    Ok((StatusCode::CREATED, axum::Json(rec)))
}

/// The reconciliation exceptions to work through, newest first.
#[utoipa::path(get, path = "/v1/reconciliation-exceptions", tag = "settlement", params(ExceptionQuery),
    responses((status = 200, body = List<ReconciliationException>)), security(("bearer" = [])))]
pub async fn list_exceptions(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ExceptionQuery>,
) -> Result<axum::Json<List<ReconciliationException>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::ReconciliationException)?;
    crate::routes::check_status(q.status.as_deref(), &["open", "closed"])?;
    let biller = biller_scope(&who, q.biller_id)?;
    let page = state
        .store
        .list_exceptions(
            biller.as_deref(),
            q.status.as_deref(),
            q.batch_id.as_deref(),
            after.as_deref(),
            limit,
        )
        .await?;
    Ok(axum::Json(page.into()))
}

/// Close an exception with a note saying how it was resolved: an admin any, a biller its own
/// (another biller's is not found).
#[utoipa::path(post, path = "/v1/reconciliation-exceptions/{exception_id}/close", tag = "settlement",
    params(("exception_id" = String, Path)), request_body = CloseException,
    responses((status = 200, body = ReconciliationException)), security(("bearer" = [])))]
pub async fn close_exception(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    body: ApiJson<CloseException>,
) -> Result<axum::Json<ReconciliationException>, ApiError> {
    path_id(Kind::ReconciliationException, &id)?;
    if who.role() == Role::Customer {
        return Err(ApiError::forbidden(
            "a customer key cannot close reconciliation exceptions",
        ));
    }
    let note = body.value()?.note.trim().to_owned();
    if note.is_empty() || note.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "note must be 1 to 1000 characters: say how the difference was resolved",
        ));
    }
    let exception = state.store.get_exception(&id).await?;
    may_see_biller(&who, &exception.biller_id).map_err(|_| ApiError::not_found("reconciliation exception"))?;
    Ok(axum::Json(state.store.close_exception(&id, &note, who.key_id()).await?))
}
