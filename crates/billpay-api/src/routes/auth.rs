//! `/v1/auth`: people sign in. A customer asks for a one-time code by e-mail, sends it back, and
//! gets a session cookie; the first sign-in with an address opens the account. Sessions can be
//! listed and ended one by one or all at once. Every sign-in, failure and sign-out is audited.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use billpay_core::id::Kind;
use billpay_store::{
    CODE_WINDOW_MINUTES, NewSession, OutgoingEmail, SessionOwner, SessionRecord, StoreError, hash_secret,
};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiJson, path_id};
use crate::session::{self, ClientAddr};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/email-codes", post(send_code))
        .route(
            "/v1/auth/sessions",
            post(sign_in).get(list_sessions).delete(sign_out_everywhere),
        )
        .route("/v1/auth/sessions/current", delete(sign_out))
        .route("/v1/auth/sessions/{session_id}", delete(end_session))
        .route("/v1/auth/demo-sessions", post(demo_sign_in))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSignIn {
    /// A demo customer (`cus_demo_…`), or
    pub customer_id: Option<String>,
    /// the demo admin's address, for the flags admin.
    pub staff_email: Option<String>,
}

/// `serve --demo` only: a session for one of the demo customers, with no code, so the tour's
/// "sign in as Ana" is one click. Without `--demo` the route does not exist (404); with it, it
/// refuses every customer but the demo ones. Not in the OpenAPI document.
pub async fn demo_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    body: ApiJson<DemoSignIn>,
) -> Result<Response, ApiError> {
    if !state.sessions.demo_sign_in {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "no such endpoint; see /openapi.json",
        ));
    }
    let b = body.value()?;
    if headers.contains_key(header::ORIGIN) {
        session::check_origin(&axum::http::Method::POST, &headers, &state.sessions.trusted_origins)?;
    }
    let (owner_id, absolute) = match (&b.customer_id, &b.staff_email) {
        (Some(c), None) if c.starts_with("cus_demo_") => {
            state.store.get_customer(c).await?;
            (c.clone(), state.sessions.absolute)
        }
        (None, Some(e)) if crate::demo::DEMO_STAFF.contains(&e.as_str()) => {
            let member = state
                .store
                .list_staff()
                .await?
                .into_iter()
                .find(|m| &m.email == e)
                .ok_or_else(|| ApiError::not_found("staff member"))?;
            (member.id, state.sessions.staff_absolute)
        }
        _ => {
            return Err(ApiError::forbidden(
                "demo sign-in is only for the demo customers (customer_id) or the demo staff (staff_email)",
            ));
        }
    };
    let owner = if owner_id.starts_with("cus_") {
        SessionOwner::Customer(&owner_id)
    } else {
        SessionOwner::Staff(&owner_id)
    };
    let opening = Opening::new(&headers, addr, absolute);
    let record = state
        .store
        .open_session(owner, &hash_secret(&opening.token), &opening.session())
        .await?;
    tracing::warn!(who = %owner_id, "DEMO sign-in without a code (serve --demo)");
    Ok(signed_in(&state, &headers, record, &opening.token, "demo", false).await)
}

/// What a new session is opened with: its token (for the cookie only), where it comes from, and
/// when it ends at the latest.
pub(crate) struct Opening {
    pub(crate) token: String,
    user_agent: String,
    ip: String,
    expires_at: String,
}

impl Opening {
    /// A session from this request's client that lasts at most `absolute`.
    pub(crate) fn new(headers: &HeaderMap, addr: Option<std::net::IpAddr>, absolute: std::time::Duration) -> Self {
        Opening {
            token: session::new_token(),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            ip: addr.map(|a| a.to_string()).unwrap_or_default(),
            expires_at: billpay_core::time::from_now(
                time::Duration::try_from(absolute).unwrap_or(time::Duration::HOUR),
            ),
        }
    }

    pub(crate) fn session(&self) -> NewSession<'_> {
        NewSession {
            user_agent: &self.user_agent,
            ip: &self.ip,
            expires_at: &self.expires_at,
        }
    }
}

/// The answer to a sign-in, audited: the session, and the cookie that carries its token.
pub(crate) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    record: SessionRecord,
    token: &str,
    method: &str,
    created: bool,
) -> Response {
    let owner = record
        .customer_id
        .as_deref()
        .or(record.staff_id.as_deref())
        .unwrap_or_default();
    audit(
        state,
        &record.id,
        "signed in",
        owner,
        json!({"method": method, "new_customer": created}),
        headers,
    )
    .await;
    let absolute = if record.staff_id.is_some() {
        state.sessions.staff_absolute
    } else {
        state.sessions.absolute
    };
    let mut resp = (
        StatusCode::CREATED,
        axum::Json(SignedIn {
            session: view(record.clone(), Some(&record.id)),
            new_customer: created,
        }),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session::set_cookie(headers, token, absolute));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    resp
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendCode {
    #[schema(example = "ana@example.com")]
    pub email: String,
    /// The language of the e-mail: `es-CO` (the default) or `en`.
    #[schema(example = "es-CO")]
    pub locale: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    /// Seconds the code stays good.
    pub expires_in: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    #[schema(example = "ana@example.com")]
    pub email: String,
    /// The six digits from the e-mail.
    #[schema(example = "042917")]
    pub code: String,
    /// The customer's name, used when this sign-in opens the account.
    pub name: Option<String>,
}

/// A session as its owner sees it. The token never appears: it is only in the cookie.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    pub id: String,
    /// The customer whose session it is, or
    pub customer_id: Option<String>,
    /// the staff member whose session it is.
    pub staff_id: Option<String>,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub user_agent: String,
    pub ip: String,
    /// Whether this is the session the request came with.
    pub current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedIn {
    pub session: Session,
    /// True when this sign-in opened the account.
    pub new_customer: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Sessions {
    pub data: Vec<Session>,
}

fn view(s: SessionRecord, current: Option<&str>) -> Session {
    Session {
        current: current == Some(s.id.as_str()),
        id: s.id,
        customer_id: s.customer_id,
        staff_id: s.staff_id,
        created_at: s.created_at,
        last_seen_at: s.last_seen_at,
        expires_at: s.expires_at,
        user_agent: s.user_agent,
        ip: s.ip,
    }
}

/// An e-mail address as BillPay keeps it: trimmed and lower-case, or a named refusal.
pub(crate) fn address(raw: &str) -> Result<String, ApiError> {
    let e = raw.trim().to_ascii_lowercase();
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && e.matches('@').count() == 1;
    if ok {
        Ok(e)
    } else {
        Err(ApiError::invalid(format!("email {raw:?} is not an e-mail address")))
    }
}

/// The e-mail that carries a code, in Colombian Spanish or English, as text and HTML.
pub fn code_email(to: &str, code: &str, minutes: u64, locale: &str) -> OutgoingEmail {
    let (subject, lead, expiry, ignore) = if locale == "en" {
        (
            format!("Your BillPay code: {code}"),
            "Use this code to sign in to BillPay:",
            format!("It works once, for {minutes} minutes."),
            "If you did not ask for it, you can ignore this message: nobody can sign in without the code.",
        )
    } else {
        (
            format!("Tu código de BillPay: {code}"),
            "Usa este código para entrar a BillPay:",
            format!("Sirve una sola vez, durante {minutes} minutos."),
            "Si no lo pediste, puedes ignorar este mensaje: nadie puede entrar sin el código.",
        )
    };
    let lang = if locale == "en" { "en" } else { "es-CO" };
    OutgoingEmail {
        to: to.to_owned(),
        text: format!("{lead}\n\n    {code}\n\n{expiry}\n\n{ignore}\n\n-- BillPay\n"),
        html: format!(
            "<!doctype html><html lang=\"{lang}\"><body style=\"font-family:sans-serif\">\
             <p>{lead}</p><p style=\"font-size:2em;letter-spacing:0.2em\"><strong>{code}</strong></p>\
             <p>{expiry}</p><p style=\"color:#555\">{ignore}</p><p>BillPay</p></body></html>"
        ),
        subject,
    }
}

/// `429 too_many_requests`: this address asked too often; `Retry-After` says when to come back.
pub(crate) fn too_many_requests(wait: u64) -> ApiError {
    ApiError {
        retry_after: Some(wait),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!("too many sign-in requests from this address; try again in {wait} seconds"),
        )
    }
}

pub(crate) async fn audit(
    state: &AppState,
    actor: &str,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
    headers: &HeaderMap,
) {
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok());
    if let Err(e) = state
        .store
        .record_audit(actor, action, subject, &detail, request_id)
        .await
    {
        tracing::error!(error = %e, %action, "cannot write a sign-in audit event");
    }
}

/// Send a one-time sign-in code to an e-mail address. The answer is the same whether or not the
/// address has an account, so it tells nobody who is a customer.
#[utoipa::path(post, path = "/v1/auth/email-codes", tag = "sign-in", request_body = SendCode,
    responses((status = 202, description = "the code is on its way", body = CodeSent),
        (status = 429, description = "too many codes for this e-mail address (`too_many_codes`) or requests from this client (`too_many_requests`), with `Retry-After`",
            body = Problem, content_type = "application/problem+json")))]
pub async fn send_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    body: ApiJson<SendCode>,
) -> Result<Response, ApiError> {
    let b = body.value()?;
    let email = address(&b.email)?;
    if let Err(wait) = state.sign_in_limits.codes.hit(addr) {
        audit(
            &state,
            &email,
            "sign-in code refused",
            &email,
            json!({"reason": "too many requests from this address", "addr": addr.map(|a| a.to_string())}),
            &headers,
        )
        .await;
        return Err(too_many_requests(wait));
    }
    let locale = match b.locale.as_deref() {
        None | Some("es-CO" | "es") => "es-CO",
        Some("en") => "en",
        Some(other) => return Err(ApiError::invalid(format!("locale {other:?} is not es-CO or en"))),
    };
    if headers.contains_key(header::ORIGIN) {
        session::check_origin(&axum::http::Method::POST, &headers, &state.sessions.trusted_origins)?;
    }
    let code = format!("{:06}", rand::random_range(0..1_000_000u32));
    let ttl = state.sessions.code_ttl;
    let expires_at = billpay_core::time::from_now(time::Duration::try_from(ttl).unwrap_or(time::Duration::MINUTE));
    let window_start = billpay_core::time::from_now(-time::Duration::minutes(CODE_WINDOW_MINUTES));
    let mail = code_email(&email, &code, ttl.as_secs() / 60, locale);
    let issued = state
        .store
        .issue_sign_in_code(&email, &code, &expires_at, &window_start, &mail)
        .await;
    if let Err(StoreError::SignIn(r)) = &issued {
        audit(
            &state,
            &email,
            "sign-in code refused",
            &email,
            json!({"reason": r.to_string()}),
            &headers,
        )
        .await;
    }
    issued?;
    audit(
        &state,
        &email,
        "sign-in code sent",
        &email,
        json!({"locale": locale}),
        &headers,
    )
    .await;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(CodeSent {
            expires_in: ttl.as_secs(),
        }),
    )
        .into_response())
}

/// Sign in with the code from the e-mail. The first sign-in with an address opens the customer's
/// account. The session's token is set as an `HttpOnly` cookie and never appears in a body.
#[utoipa::path(post, path = "/v1/auth/sessions", tag = "sign-in", request_body = SignIn,
    responses((status = 201, description = "signed in; the session cookie is set", body = SignedIn),
        (status = 429, description = "too many wrong codes (`too_many_attempts`; ask for a new code) or attempts from this client (`too_many_requests`, with `Retry-After`)",
            body = Problem, content_type = "application/problem+json")))]
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    body: ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let b = body.value()?;
    let email = address(&b.email)?;
    if let Err(wait) = state.sign_in_limits.attempts.hit(addr) {
        audit(
            &state,
            &email,
            "sign-in failed",
            &email,
            json!({"code": "too_many_requests", "addr": addr.map(|a| a.to_string())}),
            &headers,
        )
        .await;
        return Err(too_many_requests(wait));
    }
    let code = b.code.trim();
    if code.len() != 6 || !code.bytes().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid("code must be the six digits from the e-mail"));
    }
    if headers.contains_key(header::ORIGIN) {
        session::check_origin(&axum::http::Method::POST, &headers, &state.sessions.trusted_origins)?;
    }
    let name = b
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map_or_else(|| email.split('@').next().unwrap_or_default().to_owned(), str::to_owned);
    if name.chars().count() > 200 {
        return Err(ApiError::invalid("name is longer than 200 characters"));
    }
    let opening = Opening::new(&headers, addr, state.sessions.absolute);
    let result = state
        .store
        .redeem_sign_in_code(&email, code, &name, &hash_secret(&opening.token), &opening.session())
        .await;
    let (record, created) = match result {
        Ok(r) => r,
        Err(e) => {
            let err = ApiError::from(e);
            audit(
                &state,
                &email,
                "sign-in failed",
                &email,
                json!({"code": err.code}),
                &headers,
            )
            .await;
            return Err(err);
        }
    };
    Ok(signed_in(&state, &headers, record, &opening.token, "email_code", created).await)
}

/// The customer or staff member whose sessions these are.
fn owner_of(who: &Principal) -> Result<&str, ApiError> {
    who.customer()
        .or(who.staff().map(|s| s.id.as_str()))
        .ok_or_else(|| ApiError::forbidden("only people have sessions; an API key has none"))
}

/// The signed-in person's open sessions, newest first.
#[utoipa::path(get, path = "/v1/auth/sessions", tag = "sign-in",
    responses((status = 200, body = Sessions)), security(("session" = []), ("bearer" = [])))]
pub async fn list_sessions(State(state): State<AppState>, who: Principal) -> Result<axum::Json<Sessions>, ApiError> {
    let customer = owner_of(&who)?;
    let data = state
        .store
        .sessions_of(customer, &billpay_core::time::now())
        .await?
        .into_iter()
        .map(|s| view(s, Some(who.key_id())))
        .collect();
    Ok(axum::Json(Sessions { data }))
}

fn signed_out(headers: &HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(headers));
    resp
}

/// Sign out: end the session the request came with and remove its cookie.
#[utoipa::path(delete, path = "/v1/auth/sessions/current", tag = "sign-in",
    responses((status = 204, description = "signed out")), security(("session" = [])))]
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap, who: Principal) -> Result<Response, ApiError> {
    let customer = owner_of(&who)?;
    if path_id(Kind::Session, who.key_id()).is_err() {
        return Err(ApiError::forbidden(
            "an API key has no session to end; revoke the key instead",
        ));
    }
    state.store.revoke_session(customer, who.key_id()).await?;
    state.session_cache.forget(who.key_id());
    audit(&state, who.key_id(), "signed out", customer, json!({}), &headers).await;
    Ok(signed_out(&headers))
}

/// End one of the signed-in person's sessions (a lost phone, say).
#[utoipa::path(delete, path = "/v1/auth/sessions/{session_id}", tag = "sign-in",
    params(("session_id" = String, Path)),
    responses((status = 204, description = "ended")), security(("session" = []), ("bearer" = [])))]
pub async fn end_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    who: Principal,
    Path(session_id): Path<String>,
) -> Result<Response, ApiError> {
    let customer = owner_of(&who)?;
    path_id(Kind::Session, &session_id)?;
    state.store.revoke_session(customer, &session_id).await?;
    state.session_cache.forget(&session_id);
    audit(
        &state,
        who.key_id(),
        "session ended",
        customer,
        json!({"session_id": session_id}),
        &headers,
    )
    .await;
    if session_id == who.key_id() {
        return Ok(signed_out(&headers));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Sign out everywhere: end every session of the signed-in person, this one included.
#[utoipa::path(delete, path = "/v1/auth/sessions", tag = "sign-in",
    responses((status = 204, description = "every session ended")), security(("session" = []), ("bearer" = [])))]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    who: Principal,
) -> Result<Response, ApiError> {
    let customer = owner_of(&who)?;
    let n = state.store.revoke_sessions_of(customer).await?;
    state.session_cache.forget(customer);
    audit(
        &state,
        who.key_id(),
        "signed out everywhere",
        customer,
        json!({"sessions": n}),
        &headers,
    )
    .await;
    Ok(signed_out(&headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_kept_lower_case_and_checked() {
        assert_eq!(
            address(" Ana@Example.COM ").map_err(|e| e.code),
            Ok("ana@example.com".to_owned())
        );
        for bad in [
            "ana",
            "@example.com",
            "ana@",
            "ana@localhost",
            "a b@example.com",
            "a@b@example.com",
            "ana@.com",
        ] {
            assert!(address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_code_email_speaks_both_languages() {
        let es = code_email("ana@example.com", "042917", 10, "es-CO");
        assert_eq!(es.subject, "Tu código de BillPay: 042917");
        assert!(es.text.contains("042917") && es.text.contains("10 minutos"));
        assert!(es.html.contains("lang=\"es-CO\"") && es.html.contains("<strong>042917</strong>"));
        let en = code_email("ana@example.com", "042917", 10, "en");
        assert!(en.subject.starts_with("Your BillPay code") && en.text.contains("10 minutes"));
    }
}
