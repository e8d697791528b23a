//! `/v1/staff`: who may sign in through single sign-on, and as what. Admins manage the list; each
//! change is in the audit log (the audit middleware records every admin request). Removing a
//! member ends their sessions at once.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use billpay_core::id::Kind;
use billpay_store::{Role, StaffMember};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, path_id};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/staff", get(list).post(add))
        .route("/v1/staff/{staff_id}", delete(remove))
}

/// A staff member: an admin, or a person of one biller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Staff {
    pub id: String,
    pub email: String,
    pub name: String,
    /// `admin` or `biller`.
    pub role: String,
    pub biller_id: Option<String>,
    /// Whether they have signed in (their identity at the issuer is bound).
    pub bound: bool,
    pub created_at: String,
    /// Who added them: an admin's staff id or key id, or `cli`.
    pub created_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffList {
    pub data: Vec<Staff>,
}

pub fn view(m: StaffMember) -> Staff {
    Staff {
        id: m.id,
        email: m.email,
        name: m.name,
        role: m.role.as_str().to_owned(),
        biller_id: m.biller_id,
        bound: m.subject.is_some(),
        created_at: m.created_at,
        created_by: m.created_by,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    #[schema(example = "lucia@billpay.example")]
    pub email: String,
    pub name: String,
    /// `admin`, or `biller` with `biller_id`.
    #[schema(example = "admin")]
    pub role: String,
    pub biller_id: Option<String>,
}

/// Check and normalise a new staff member's fields.
pub fn parse_new(b: &NewStaff) -> Result<(String, String, Role), ApiError> {
    let email = crate::routes::auth::address(&b.email)?;
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid("name must be 1 to 200 characters"));
    }
    let role = match b.role.as_str() {
        "admin" => Role::Admin,
        "biller" => Role::Biller,
        other => return Err(ApiError::invalid(format!("role {other:?} is not admin or biller"))),
    };
    if let Some(b) = &b.biller_id {
        path_id(Kind::Biller, b)?;
    }
    Ok((email, name.to_owned(), role))
}

/// The staff members.
#[utoipa::path(operation_id = "list_staff", get, path = "/v1/staff", tag = "staff",
    responses((status = 200, body = StaffList)), security(("session" = []), ("bearer" = [])))]
pub async fn list(State(state): State<AppState>, who: Principal) -> Result<axum::Json<StaffList>, ApiError> {
    who.require_admin()?;
    let data = state.store.list_staff().await?.into_iter().map(view).collect();
    Ok(axum::Json(StaffList { data }))
}

/// Add a staff member. They sign in through single sign-on with this address (verified by the
/// issuer); the first sign-in binds their identity at the issuer.
#[utoipa::path(post, path = "/v1/staff", tag = "staff", request_body = NewStaff,
    responses((status = 201, body = Staff),
        (status = 409, description = "the address is already a staff member", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("session" = []), ("bearer" = [])))]
pub async fn add(State(state): State<AppState>, who: Principal, body: ApiJson<NewStaff>) -> Result<Response, ApiError> {
    who.require_admin()?;
    let b = body.value()?;
    let (email, name, role) = parse_new(b)?;
    let member = state
        .store
        .add_staff(&email, &name, role, b.biller_id.as_deref(), who.actor())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(member))).into_response())
}

/// Remove a staff member; their sessions end now. An admin cannot remove themselves, so the
/// last admin is never locked out by their own hand.
#[utoipa::path(operation_id = "remove_staff", delete, path = "/v1/staff/{staff_id}", tag = "staff",
    params(("staff_id" = String, Path)),
    responses((status = 200, body = Staff)), security(("session" = []), ("bearer" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    who: Principal,
    Path(staff_id): Path<String>,
) -> Result<axum::Json<Staff>, ApiError> {
    who.require_admin()?;
    path_id(Kind::Staff, &staff_id)?;
    if who.staff().is_some_and(|s| s.id == staff_id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "you cannot remove yourself; another admin must",
        ));
    }
    let removed = state.store.remove_staff(&staff_id).await?;
    state.session_cache.forget(&staff_id);
    Ok(axum::Json(view(removed)))
}
