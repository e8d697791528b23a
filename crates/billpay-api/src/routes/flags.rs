//! `/v1/flag-sets`: the flags admin API (admin keys only), plus exposures (customer keys).
//!
//! A flag set is a flagd document. Every change is validated against flagd's schema and rules
//! before it is saved, makes a new version with its author and diff, and is written to the audit
//! trail. Writes take an optional `If-Match: "<version>"`; when the set has moved on, the answer
//! is 409 and nothing is saved.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use billpay_core::id::Kind;
use billpay_store::{AuditEvent, FlagChange, FlagSetRecord, FlagSetVersion};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ItemError};
use crate::extract::{ApiJson, ApiQuery, page_limit};
use crate::routes::List;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/flag-sets", get(list_flag_sets).post(create_flag_set))
        .route("/v1/flag-sets/{set_id}", get(get_flag_set).put(replace_flag_set))
        .route("/v1/flag-sets/{set_id}/validate", post(validate_flag_set))
        .route(
            "/v1/flag-sets/{set_id}/flags/{flag_key}",
            put(put_flag).delete(delete_flag),
        )
        .route("/v1/flag-sets/{set_id}/flags/{flag_key}/state", post(set_flag_state))
        .route("/v1/flag-sets/{set_id}/versions", get(list_versions))
        .route("/v1/flag-sets/{set_id}/versions/{version}", get(get_version))
        .route("/v1/flag-sets/{set_id}/rollback", post(rollback))
        .route("/v1/flag-sets/{set_id}/client-keys", post(create_client_key))
        .route("/v1/flag-sets/{set_id}/exposures", post(record_exposure))
        .route("/v1/audit-events", get(list_audit_events))
}

/// Flag-set names: lower-case letters, digits and dashes.
fn check_set_id(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_found("flag set"))
    }
}

/// Flag keys: letters, digits, `-`, `_` and `.`, at most 100.
fn check_flag_key(key: &str) -> Result<(), ApiError> {
    let ok =
        !key.is_empty() && key.len() <= 100 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "flag key {key:?} must be 1 to 100 letters, digits, `-`, `_` or `.`"
        )))
    }
}

/// Checks a definition; a bad one is a 422 that lists every problem with its JSON path.
fn validated(definition: &Value) -> Result<(), ApiError> {
    billpay_flags::validate(definition).map_err(|problems| {
        let first = problems.first().map(ToString::to_string).unwrap_or_default();
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_flag_set",
            format!("the flag set breaks {} rule(s); first: {first}", problems.len()),
        );
        e.errors = Some(
            problems
                .into_iter()
                .map(|p| ItemError {
                    location: if p.path.is_empty() { "/".into() } else { p.path },
                    code: "invalid".into(),
                    detail: p.message,
                })
                .collect(),
        );
        e
    })
}

/// `If-Match: "7"` (or `7`): the version a change was made against.
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|v| *v >= 1)
        .map(Some)
        .ok_or_else(|| ApiError::bad_request("invalid_if_match", "If-Match must be a flag-set version, like \"7\""))
}

fn with_etag(record: FlagSetRecord, status: StatusCode) -> Response {
    let tag = HeaderValue::from_str(&format!("\"{}\"", record.version)).unwrap_or(HeaderValue::from_static("\"\""));
    (status, [(header::ETAG, tag)], axum::Json(record)).into_response()
}

fn flags_of(definition: &Value) -> Map<String, Value> {
    definition
        .get("flags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// Validates and saves a new definition, and drops this process's cached copy.
async fn save(
    state: &AppState,
    who: &Principal,
    set_id: &str,
    definition: &Value,
    action: &str,
    summary: String,
    base_version: Option<i64>,
) -> Result<Response, ApiError> {
    validated(definition)?;
    let record = state
        .store
        .save_flag_set(
            set_id,
            definition,
            FlagChange {
                author: who.key_id(),
                action,
                summary,
                base_version,
            },
        )
        .await?;
    state.flags.invalidate(set_id);
    Ok(with_etag(record, StatusCode::OK))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagSetList {
    pub data: Vec<FlagSetRecord>,
}

/// List flag sets.
#[utoipa::path(get, path = "/v1/flag-sets", tag = "flags",
    responses((status = 200, body = FlagSetList)), security(("bearer" = [])))]
pub async fn list_flag_sets(
    State(state): State<AppState>,
    who: Principal,
) -> Result<axum::Json<FlagSetList>, ApiError> {
    who.require_admin()?;
    Ok(axum::Json(FlagSetList {
        data: state.store.flag_sets().await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFlagSet {
    /// Lower-case letters, digits and dashes.
    #[schema(example = "billpay-web")]
    pub id: String,
    #[serde(default)]
    pub description: String,
    /// The flag set in flagd's format.
    #[schema(value_type = Object)]
    pub definition: Value,
}

/// Create a flag set.
#[utoipa::path(post, path = "/v1/flag-sets", tag = "flags", request_body = CreateFlagSet,
    responses((status = 201, body = FlagSetRecord)), security(("bearer" = [])))]
pub async fn create_flag_set(
    State(state): State<AppState>,
    who: Principal,
    body: ApiJson<CreateFlagSet>,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    let req = body.value()?;
    if check_set_id(&req.id).is_err() {
        return Err(ApiError::invalid(format!(
            "flag-set id {:?} must be 1 to 64 lower-case letters, digits or dashes",
            req.id
        )));
    }
    crate::routes::billers::check_text_len("description", &req.description, 500)?;
    validated(&req.definition)?;
    let record = state
        .store
        .create_flag_set(&req.id, req.description.trim(), &req.definition, who.key_id())
        .await?;
    Ok(with_etag(record, StatusCode::CREATED))
}

/// A flag set with its current definition; the ETag is its version.
#[utoipa::path(get, path = "/v1/flag-sets/{set_id}", tag = "flags", params(("set_id" = String, Path)),
    responses((status = 200, body = FlagSetRecord)), security(("bearer" = [])))]
pub async fn get_flag_set(
    State(state): State<AppState>,
    who: Principal,
    Path(set_id): Path<String>,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    check_set_id(&set_id)?;
    Ok(with_etag(state.store.flag_set(&set_id).await?, StatusCode::OK))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceFlagSet {
    #[schema(value_type = Object)]
    pub definition: Value,
    /// What changed, for the history.
    pub summary: Option<String>,
}

/// Replace the whole definition.
#[utoipa::path(put, path = "/v1/flag-sets/{set_id}", tag = "flags", request_body = ReplaceFlagSet,
    params(("set_id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = FlagSetRecord)), security(("bearer" = [])))]
pub async fn replace_flag_set(
    State(state): State<AppState>,
    who: Principal,
    Path(set_id): Path<String>,
    headers: HeaderMap,
    body: ApiJson<ReplaceFlagSet>,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    check_set_id(&set_id)?;
    let base = if_match(&headers)?;
    let req = body.value()?;
    let summary = req.summary.clone().unwrap_or_else(|| "replaced the flag set".into());
    crate::routes::billers::check_text_len("summary", &summary, 500)?;
    save(
        &state,
        &who,
        &set_id,
        &req.definition,
        "flag_set.updated",
        summary,
        base,
    )
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationResult {
    pub valid: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateFlagSet {
    #[schema(value_type = Object)]
    pub definition: Value,
}

/// Check a definition without saving it (the admin app's live validation).
#[utoipa::path(post, path = "/v1/flag-sets/{set_id}/validate", tag = "flags", request_body = ValidateFlagSet,
    params(("set_id" = String, Path)),
    responses((status = 200, body = ValidationResult)), security(("bearer" = [])))]
pub async fn validate_flag_set(
    State(state): State<AppState>,
    who: Principal,
    Path(set_id): Path<String>,
    body: ApiJson<ValidateFlagSet>,
) -> Result<axum::Json<ValidationResult>, ApiError> {
    who.require_admin()?;
    check_set_id(&set_id)?;
    state.store.flag_set(&set_id).await?;
    validated(&body.value()?.definition)?;
    Ok(axum::Json(ValidationResult { valid: true }))
}

/// Create or replace one flag (flagd's flag object: `state`, `variants`, `defaultVariant`,
/// `targeting`, `metadata`).
#[utoipa::path(put, path = "/v1/flag-sets/{set_id}/flags/{flag_key}", tag = "flags", request_body = Object,
    params(("set_id" = String, Path), ("flag_key" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = FlagSetRecord)), security(("bearer" = [])))]
pub async fn put_flag(
    State(state): State<AppState>,
    who: Principal,
    Path((set_id, flag_key)): Path<(String, String)>,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    check_set_id(&set_id)?;
    check_flag_key(&flag_key)?;
    let base = if_match(&headers)?;
    let flag = body.value()?.clone();
    let current = state.store.flag_set(&set_id).await?;
    let mut definition = current.definition;
    let existed = flags_of(&definition).contains_key(&flag_key);
    let mut flags = flags_of(&definition);
    flags.insert(flag_key.clone(), flag);
    definition["flags"] = Value::Object(flags);
    let (action, summary) = if existed {
        ("flag.updated", format!("edited flag {flag_key}"))
    } else {
        ("flag.created", format!("created flag {flag_key}"))
    };
    save(
        &state,
        &who,
        &set_id,
        &definition,
        action,
        summary,
        base.or(Some(current.version)),
    )
    .await
}

/// Delete a flag.
#[utoipa::path(delete, path = "/v1/flag-sets/{set_id}/flags/{flag_key}", tag = "flags",
    params(("set_id" = String, Path), ("flag_key" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = FlagSetRecord)), security(("bearer" = [])))]
pub async fn delete_flag(
    State(state): State<AppState>,
    who: Principal,
    Path((set_id, flag_key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    check_set_id(&set_id)?;
    check_flag_key(&flag_key)?;
    let base = if_match(&headers)?;
    let current = state.store.flag_set(&set_id).await?;
    let mut definition = current.definition;
    let mut flags = flags_of(&definition);
    if flags.remove(&flag_key).is_none() {
        return Err(ApiError::not_found("flag"));
    }
    definition["flags"] = Value::Object(flags);
    let summary = format!("deleted flag {flag_key}");
    save(
        &state,
        &who,
        &set_id,
        &definition,
        "flag.deleted",
        summary,
        base.or(Some(current.version)),
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagState {
    /// `ENABLED`, or `DISABLED` to switch the flag off everywhere (the kill switch).
    #[schema(example = "DISABLED")]
    pub state: String,
}

/// Switch a flag on or off.
#[utoipa::path(post, path = "/v1/flag-sets/{set_id}/flags/{flag_key}/state", tag = "flags", request_body = FlagState,
    params(("set_id" = String, Path), ("flag_key" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = FlagSetRecord)), security(("bearer" = [])))]
pub async fn set_flag_state(
    State(state): State<AppState>,
    who: Principal,
    Path((set_id, flag_key)): Path<(String, String)>,
    headers: HeaderMap,
    body: ApiJson<FlagState>,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    check_set_id(&set_id)?;
    check_flag_key(&flag_key)?;
    let base = if_match(&headers)?;
    let wanted = body.value()?.state.clone();
    if wanted != "ENABLED" && wanted != "DISABLED" {
        return Err(ApiError::invalid(format!(
            "state {wanted:?} must be ENABLED or DISABLED"
        )));
    }
    let current = state.store.flag_set(&set_id).await?;
    let mut definition = current.definition;
    let Some(flag) = definition.get_mut("flags").and_then(|f| f.get_mut(&flag_key)) else {
        return Err(ApiError::not_found("flag"));
    };
    flag["state"] = Value::String(wanted.clone());
    let verb = if wanted == "ENABLED" { "enabled" } else { "disabled" };
    let summary = format!("{verb} flag {flag_key}");
    save(
        &state,
        &who,
        &set_id,
        &definition,
        "flag.state_changed",
        summary,
        base.or(Some(current.version)),
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Only versions older than this one.
    #[param(minimum = 1)]
    pub before: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    pub data: Vec<FlagSetVersion>,
}

/// The history of a flag set, newest first, each version with its author and diff.
#[utoipa::path(get, path = "/v1/flag-sets/{set_id}/versions", tag = "flags",
    params(("set_id" = String, Path), VersionQuery),
    responses((status = 200, body = VersionList)), security(("bearer" = [])))]
pub async fn list_versions(
    State(state): State<AppState>,
    who: Principal,
    Path(set_id): Path<String>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> Result<axum::Json<VersionList>, ApiError> {
    who.require_admin()?;
    check_set_id(&set_id)?;
    let limit = page_limit(q.limit)?;
    if q.before.is_some_and(|b| b < 1) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "before must be a version, 1 or more",
        ));
    }
    Ok(axum::Json(VersionList {
        data: state.store.flag_set_history(&set_id, q.before, limit).await?,
    }))
}

/// One version of a flag set, with the whole definition it had.
#[utoipa::path(get, path = "/v1/flag-sets/{set_id}/versions/{version}", tag = "flags",
    params(("set_id" = String, Path), ("version" = i64, Path, minimum = 1)),
    responses((status = 200, body = FlagSetVersion)), security(("bearer" = [])))]
pub async fn get_version(
    State(state): State<AppState>,
    who: Principal,
    Path((set_id, version)): Path<(String, String)>,
) -> Result<axum::Json<FlagSetVersion>, ApiError> {
    who.require_admin()?;
    check_set_id(&set_id)?;
    let version = version
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| ApiError::not_found(Kind::FlagSetVersion.noun()))?;
    Ok(axum::Json(state.store.flag_set_version(&set_id, version).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollback {
    /// The version whose definition becomes current again (as a new version).
    #[schema(minimum = 1)]
    pub version: i64,
}

/// Roll back: make an earlier version's definition current, as a new version.
#[utoipa::path(post, path = "/v1/flag-sets/{set_id}/rollback", tag = "flags", request_body = Rollback,
    params(("set_id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = FlagSetRecord)), security(("bearer" = [])))]
pub async fn rollback(
    State(state): State<AppState>,
    who: Principal,
    Path(set_id): Path<String>,
    headers: HeaderMap,
    body: ApiJson<Rollback>,
) -> Result<Response, ApiError> {
    who.require_admin()?;
    check_set_id(&set_id)?;
    let base = if_match(&headers)?;
    let target = body.value()?.version;
    if target < 1 {
        return Err(ApiError::invalid("version must be 1 or more"));
    }
    let old = state.store.flag_set_version(&set_id, target).await?;
    let definition = old.definition.unwrap_or_default();
    let summary = format!("rolled back to version {target}");
    save(
        &state,
        &who,
        &set_id,
        &definition,
        "flag_set.rolled_back",
        summary,
        base,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientKey {
    #[schema(example = "billpay-frontend-a")]
    pub label: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientKey {
    pub id: String,
    pub flag_set_id: String,
    /// Shown once. Safe to ship to browsers: it can only evaluate this flag set's flags.
    pub secret: String,
}

/// Create a read-only client key for OFREP, scoped to this flag set.
#[utoipa::path(post, path = "/v1/flag-sets/{set_id}/client-keys", tag = "flags", request_body = CreateClientKey,
    params(("set_id" = String, Path)),
    responses((status = 201, body = ClientKey)), security(("bearer" = [])))]
pub async fn create_client_key(
    State(state): State<AppState>,
    who: Principal,
    Path(set_id): Path<String>,
    body: ApiJson<CreateClientKey>,
) -> Result<(StatusCode, axum::Json<ClientKey>), ApiError> {
    who.require_admin()?;
    check_set_id(&set_id)?;
    let label = body.value()?.label.trim().to_owned();
    crate::routes::billers::check_text("label", &label, 200)?;
    let (id, secret) = state
        .store
        .create_flag_client_key(&set_id, &label, None, who.key_id())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ClientKey {
            id,
            flag_set_id: set_id,
            secret,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExposure {
    #[schema(example = "frontend-variant")]
    pub flag: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Exposure {
    pub flag: String,
    /// The variant this customer was first shown, which later visits keep; `null` when the flag
    /// is off (its kill switch), which assigns nobody.
    pub variant: Option<String>,
    /// Whether this call recorded the exposure (false: it was recorded before, or the flag is off).
    pub recorded: bool,
}

/// Record that the calling customer is shown the flag. The server evaluates the flag for the
/// customer itself (the customer's id is the targeting key): the client never names its variant,
/// so the experiment's data cannot be forged. The first exposure is the customer's assignment;
/// the answer names it, so later visits stay on it.
#[utoipa::path(post, path = "/v1/flag-sets/{set_id}/exposures", tag = "flags", request_body = NewExposure,
    params(("set_id" = String, Path)),
    responses((status = 200, body = Exposure)), security(("bearer" = [])))]
pub async fn record_exposure(
    State(state): State<AppState>,
    who: Principal,
    Path(set_id): Path<String>,
    body: ApiJson<NewExposure>,
) -> Result<axum::Json<Exposure>, ApiError> {
    let Some(customer) = who.customer().map(str::to_owned) else {
        return Err(ApiError::forbidden(
            "exposures are recorded with the customer's own key",
        ));
    };
    check_set_id(&set_id)?;
    let req = body.value()?;
    check_flag_key(&req.flag)?;
    let set = state.flags.get(&state.store, &set_id).await?;
    let known = set.flags.keys().any(|k| k == req.flag);
    if !known {
        return Err(ApiError::not_found("flag"));
    }
    let mut context = serde_json::Map::new();
    context.insert("targetingKey".into(), Value::String(customer.clone()));
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
    .unwrap_or(0);
    let evaluation = set.flags.evaluate(&req.flag, &context, now);
    let shown = match (evaluation.variant, evaluation.reason) {
        (Some(v), reason) if reason != billpay_flags::Reason::Disabled && evaluation.error.is_none() => v.to_owned(),
        _ => {
            return Ok(axum::Json(Exposure {
                flag: req.flag.clone(),
                variant: None,
                recorded: false,
            }));
        }
    };
    let (variant, recorded) = state
        .store
        .record_exposure(&set_id, &req.flag, &customer, &shown)
        .await?;
    Ok(axum::Json(Exposure {
        flag: req.flag.clone(),
        variant: Some(variant),
        recorded,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events about this subject: a resource id (`blr_…`), a path, or `flag_set:billpay-web`.
    pub subject: Option<String>,
    /// Only what this API key (its id, `key_…`) did.
    pub actor: Option<String>,
    /// Only this action, e.g. `POST /v1/billers`; a trailing `*` matches a prefix
    /// (`PATCH /v1/billers*`).
    pub action: Option<String>,
    /// From this date (`2026-12-01`) or time (RFC 3339), inclusive.
    pub from: Option<String>,
    /// Until this date or time, exclusive.
    pub until: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The audit log: every admin and biller action (who, what, on what, when, the request id),
/// newest first, filtered by actor, action, subject and time.
#[utoipa::path(get, path = "/v1/audit-events", tag = "flags", params(AuditQuery),
    responses((status = 200, body = List<AuditEvent>)), security(("bearer" = [])))]
pub async fn list_audit_events(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<axum::Json<List<AuditEvent>>, ApiError> {
    who.require_admin()?;
    let limit = page_limit(q.limit)?;
    let before = crate::extract::decode_cursor(q.cursor.as_deref(), Kind::Audit)?;
    let bound = |name: &str, v: Option<String>| -> Result<Option<String>, ApiError> {
        v.map(|v| {
            billpay_core::time::parse_date(&v)
                .map(|d| format!("{}T00:00:00.000000Z", billpay_core::time::format_date(d)))
                .or_else(|_| billpay_core::time::parse_timestamp(&v))
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid_query",
                        format!("{name} `{v}` must be a date (2026-12-01) or an RFC 3339 time"),
                    )
                })
        })
        .transpose()
    };
    let f = billpay_store::AuditFilter {
        subject: q.subject,
        actor: q.actor,
        action: q.action,
        from: bound("from", q.from)?,
        until: bound("until", q.until)?,
    };
    Ok(axum::Json(
        state.store.audit_events(&f, before.as_deref(), limit).await?.into(),
    ))
}
