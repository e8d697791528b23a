//! `/v1/complaints`: a customer's dispute about a payment or a bill, worked by the biller, with a
//! response deadline per type and escalation to BillPay's admins (docs/complaints.md).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use billpay_core::id::Kind;
use billpay_store::Role;
use billpay_store::complaints::{Complaint, ComplaintFilter, NewComplaint, Step, TYPES};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdempotencyKey, decode_cursor, page_limit, path_id};
use crate::routes::List;
use crate::routes::billers::check_text;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/complaints", get(list_complaints).post(open_complaint))
        .route("/v1/complaint-types", get(complaint_types))
        .route("/v1/complaints/{complaint_id}", get(get_complaint))
        .route("/v1/complaints/{complaint_id}/assign", post(assign))
        .route("/v1/complaints/{complaint_id}/respond", post(respond))
        .route("/v1/complaints/{complaint_id}/resolve", post(resolve))
        .route("/v1/complaints/{complaint_id}/close", post(close))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenComplaint {
    /// The payment complained about; or give `bill_id`.
    pub payment_id: Option<String>,
    pub bill_id: Option<String>,
    /// One of `GET /v1/complaint-types`.
    #[serde(rename = "type")]
    #[schema(example = "paid_not_credited")]
    pub kind: String,
    #[schema(example = "I paid on the 3rd and the bill still shows as due")]
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintType {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Hours the biller has to respond before the complaint goes to BillPay's admins.
    pub response_hours: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// Who at the biller handles it (a name or e-mail).
    pub assignee: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Respond {
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolve {
    pub resolution: String,
    /// Minor units to refund from the complaint's payment, through the normal refund path.
    pub refund_amount: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Close {
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ComplaintQuery {
    /// `open`, `assigned`, `responded`, `resolved` or `closed`.
    pub status: Option<String>,
    /// Only escalated (`true`) or only not escalated (`false`) complaints.
    pub escalated: Option<bool>,
    /// Admins only: one biller's complaints.
    pub biller_id: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

const STATUSES: &[&str] = &["open", "assigned", "responded", "resolved", "closed"];

/// Can this principal see this complaint? Others get 404.
fn visible(who: &Principal, c: &Complaint) -> bool {
    match who.role() {
        Role::Admin => true,
        Role::Biller => who.biller() == Some(c.biller_id.as_str()),
        Role::Customer => who.customer() == Some(c.customer_id.as_str()),
    }
}

async fn visible_complaint(state: &AppState, who: &Principal, id: &str) -> Result<Complaint, ApiError> {
    path_id(Kind::Complaint, id)?;
    let c = state.store.get_complaint(id).await?;
    if !visible(who, &c) {
        return Err(ApiError::not_found("complaint"));
    }
    Ok(c)
}

/// The types a complaint may have, with the hours the biller has to respond.
#[utoipa::path(get, path = "/v1/complaint-types", tag = "complaints",
    responses((status = 200, body = Vec<ComplaintType>)), security(("bearer" = [])))]
pub async fn complaint_types(_who: Principal) -> axum::Json<Vec<ComplaintType>> {
    axum::Json(
        TYPES
            .iter()
            .map(|(kind, response_hours)| ComplaintType {
                kind,
                response_hours: *response_hours,
            })
            .collect(),
    )
}

/// File a complaint about one of your payments or bills. The biller is told, and must respond
/// within the type's hours.
#[utoipa::path(post, path = "/v1/complaints", tag = "complaints", request_body = OpenComplaint,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = Complaint)), security(("bearer" = []), ("session" = [])))]
pub async fn open_complaint(
    State(state): State<AppState>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<OpenComplaint>,
) -> Result<Response, ApiError> {
    let Some(customer_id) = who.customer().map(str::to_owned) else {
        return Err(ApiError::forbidden("only a customer files a complaint"));
    };
    let b = body.value()?;
    check_text("description", &b.description, 2000)?;
    if let Some(p) = &b.payment_id {
        path_id(Kind::Payment, p)?;
    }
    if let Some(bill) = &b.bill_id {
        path_id(Kind::Bill, bill)?;
    }
    let new = NewComplaint {
        customer_id,
        bill_id: b.bill_id.clone(),
        payment_id: b.payment_id.clone(),
        kind: b.kind.clone(),
        description: b.description.trim().to_owned(),
    };
    let store = state.store.clone();
    let actor = who.actor().to_owned();
    crate::idempotent!(
        state,
        who,
        key,
        ("POST /v1/complaints", &body.raw),
        StatusCode::CREATED,
        |r| store
            .open_complaint(new, &actor, time::OffsetDateTime::now_utc(), r)
            .await
    )
}

/// Complaints: a customer's own, a biller's own, or all of them for an admin. Newest first.
#[utoipa::path(get, path = "/v1/complaints", tag = "complaints", params(ComplaintQuery),
    responses((status = 200, body = List<Complaint>)), security(("bearer" = []), ("session" = [])))]
pub async fn list_complaints(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ComplaintQuery>,
) -> Result<axum::Json<List<Complaint>>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::Complaint)?;
    if let Some(s) = q.status.as_deref().filter(|s| !STATUSES.contains(s)) {
        return Err(ApiError::invalid(format!(
            "status {s:?} is not one of {}",
            STATUSES.join(", ")
        )));
    }
    let mut f = ComplaintFilter {
        customer_id: None,
        biller_id: q.biller_id,
        status: q.status,
        escalated: q.escalated,
    };
    match who.role() {
        Role::Admin => {}
        Role::Biller => f.biller_id = who.biller().map(str::to_owned),
        Role::Customer => {
            f.biller_id = None;
            f.customer_id = who.customer().map(str::to_owned);
        }
    }
    Ok(axum::Json(
        state.store.list_complaints(&f, after.as_deref(), limit).await?.into(),
    ))
}

/// A complaint with its history.
#[utoipa::path(get, path = "/v1/complaints/{complaint_id}", tag = "complaints",
    params(("complaint_id" = String, Path)),
    responses((status = 200, body = Complaint)), security(("bearer" = []), ("session" = [])))]
pub async fn get_complaint(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<axum::Json<Complaint>, ApiError> {
    Ok(axum::Json(visible_complaint(&state, &who, &id).await?))
}

/// The biller's side (or an admin's, once escalated or at any time).
async fn biller_step(state: &AppState, who: &Principal, id: &str) -> Result<Complaint, ApiError> {
    let c = visible_complaint(state, who, id).await?;
    if who.role() == Role::Customer {
        return Err(ApiError::forbidden("only the biller or an admin works a complaint"));
    }
    Ok(c)
}

async fn step(
    state: AppState,
    who: Principal,
    key: Option<String>,
    id: &str,
    raw: &bytes::Bytes,
    s: Step,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let actor = who.actor().to_owned();
    let fingerprint = format!("POST /v1/complaints/{id}/{}", s.action());
    crate::idempotent!(state, who, key, (&fingerprint, raw), StatusCode::OK, |r| store
        .complaint_step(id, s, &actor, r)
        .await)
}

/// Assign a complaint to someone at the biller.
#[utoipa::path(post, path = "/v1/complaints/{complaint_id}/assign", tag = "complaints", request_body = Assign,
    params(("complaint_id" = String, Path)),
    responses((status = 200, body = Complaint)), security(("bearer" = []), ("session" = [])))]
pub async fn assign(
    State(state): State<AppState>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
    body: ApiJson<Assign>,
) -> Result<Response, ApiError> {
    biller_step(&state, &who, &id).await?;
    let b = body.value()?;
    check_text("assignee", &b.assignee, 200)?;
    let s = Step::Assign {
        assignee: b.assignee.trim().to_owned(),
    };
    step(state, who, key, &id, &body.raw, s).await
}

/// Answer the customer. The customer is notified.
#[utoipa::path(post, path = "/v1/complaints/{complaint_id}/respond", tag = "complaints", request_body = Respond,
    params(("complaint_id" = String, Path)),
    responses((status = 200, body = Complaint)), security(("bearer" = []), ("session" = [])))]
pub async fn respond(
    State(state): State<AppState>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
    body: ApiJson<Respond>,
) -> Result<Response, ApiError> {
    biller_step(&state, &who, &id).await?;
    let b = body.value()?;
    check_text("message", &b.message, 2000)?;
    let s = Step::Respond {
        message: b.message.trim().to_owned(),
    };
    step(state, who, key, &id, &body.raw, s).await
}

/// Resolve a complaint, with a refund of its payment if `refund_amount` is given. The refund and
/// the resolution commit together.
#[utoipa::path(post, path = "/v1/complaints/{complaint_id}/resolve", tag = "complaints", request_body = Resolve,
    params(("complaint_id" = String, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 200, body = Complaint)), security(("bearer" = []), ("session" = [])))]
pub async fn resolve(
    State(state): State<AppState>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
    body: ApiJson<Resolve>,
) -> Result<Response, ApiError> {
    biller_step(&state, &who, &id).await?;
    let b = body.value()?;
    check_text("resolution", &b.resolution, 2000)?;
    if let Some(a) = b.refund_amount {
        billpay_core::money::validate_amount(a).map_err(|e| ApiError::invalid(format!("refund_amount: {e}")))?;
    }
    let s = Step::Resolve {
        resolution: b.resolution.trim().to_owned(),
        refund: b.refund_amount,
    };
    step(state, who, key, &id, &body.raw, s).await
}

/// Close a complaint: the customer who filed it (satisfied, or withdrawing it), or an admin.
#[utoipa::path(post, path = "/v1/complaints/{complaint_id}/close", tag = "complaints", request_body = Close,
    params(("complaint_id" = String, Path)),
    responses((status = 200, body = Complaint)), security(("bearer" = []), ("session" = [])))]
pub async fn close(
    State(state): State<AppState>,
    who: Principal,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
    body: ApiJson<Close>,
) -> Result<Response, ApiError> {
    visible_complaint(&state, &who, &id).await?;
    if who.role() == Role::Biller {
        return Err(ApiError::forbidden(
            "the customer or an admin closes a complaint; the biller resolves it",
        ));
    }
    let b = body.value()?;
    if let Some(n) = &b.note {
        check_text("note", n, 2000)?;
    }
    let s = Step::Close {
        note: b.note.as_ref().map(|n| n.trim().to_owned()),
    };
    step(state, who, key, &id, &body.raw, s).await
}
