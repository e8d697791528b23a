//! Passkeys: a signed-in customer registers one, and later signs in with it and nothing else.
//! WebAuthn itself is the `webauthn-rs` library's; this module keeps its ceremonies in the store
//! (each taken once), the credentials with their customers, and answers in problem+json.
//!
//! Sign-in uses discoverable credentials: the browser offers the passkeys it holds for this site,
//! so nobody types an address and the server never says which addresses have passkeys.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use billpay_core::id::Kind;
use billpay_store::{CeremonyKind, PasskeyRecord, SessionOwner, hash_secret};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiJson, path_id};
use crate::routes::auth::{Opening, audit, signed_in, too_many_requests};
use crate::session::{self, ClientAddr};

/// How long a browser has to complete a passkey ceremony.
const CEREMONY_TTL: time::Duration = time::Duration::minutes(5);

/// The relying party: the site passkeys are bound to. Its id is the host of the first origin
/// (`https://billpay.example.com`); the apps may be served from it or any of its subdomains
/// (`a.` and `b.`), as browsers themselves allow, so one passkey works in both apps.
#[derive(Clone)]
pub struct RelyingParty(pub Arc<Webauthn>);

impl RelyingParty {
    /// `origins[0]` names the relying party (its host is the RP id); the rest are also accepted.
    /// On `localhost` any port is accepted, for development.
    pub fn new(origins: &[String]) -> Result<Self, String> {
        let first = origins.first().ok_or("no origin for passkeys")?;
        let url = Url::parse(first).map_err(|e| format!("passkey origin {first:?}: {e}"))?;
        let rp_id = url
            .host_str()
            .ok_or_else(|| format!("passkey origin {first:?} has no host"))?
            .to_owned();
        if rp_id.parse::<std::net::IpAddr>().is_ok() {
            return Err(format!(
                "passkey origin {first:?}: browsers refuse passkeys on an IP address; use a host name (http://localhost:PORT locally)"
            ));
        }
        let mut builder = WebauthnBuilder::new(&rp_id, &url)
            .map_err(|e| format!("passkey origin {first:?}: {e}"))?
            .rp_name("BillPay")
            .allow_subdomains(true)
            .allow_any_port(rp_id == "localhost");
        for o in &origins[1..] {
            let u = Url::parse(o).map_err(|e| format!("passkey origin {o:?}: {e}"))?;
            builder = builder.append_allowed_origin(&u);
        }
        let webauthn = builder.build().map_err(|e| format!("passkeys: {e}"))?;
        Ok(RelyingParty(Arc::new(webauthn)))
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/passkeys", post(register).get(list))
        .route("/v1/auth/passkeys/{passkey_id}", delete(remove))
        .route("/v1/auth/passkey-registrations", post(start_registration))
        .route("/v1/auth/passkey-challenges", post(start_sign_in))
        .route("/v1/auth/passkey-sessions", post(sign_in))
}

fn relying_party(state: &AppState) -> Result<&Webauthn, ApiError> {
    state.passkeys.as_ref().map(|rp| rp.0.as_ref()).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "passkeys_not_configured",
            "this server has no passkey origin (--passkey-origin); sign in with an e-mail code",
        )
    })
}

fn refused(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "passkey_refused",
        format!("the passkey {what} was refused: {e}"),
    )
}

fn ceremony_gone() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "ceremony_expired",
        "this passkey ceremony is unknown, was already used, or has expired; start again",
    )
}

/// Only a person signed in with a session registers or removes passkeys, never an API key.
fn signed_in_customer(who: &Principal) -> Result<&str, ApiError> {
    let customer = who
        .customer()
        .ok_or_else(|| ApiError::forbidden("only a signed-in customer has passkeys"))?;
    if path_id(Kind::Session, who.key_id()).is_err() {
        return Err(ApiError::forbidden(
            "passkeys are registered by the customer in person, signed in with a session, not with an API key",
        ));
    }
    Ok(customer)
}

fn credential_id(pk: &Passkey) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(pk.cred_id().as_ref() as &[u8])
}

fn stored(json: &str) -> Result<Passkey, ApiError> {
    serde_json::from_str(json).map_err(|e| ApiError::internal(format!("a stored passkey does not parse: {e}")))
}

/// A ceremony the browser must finish: its id, and the options for `navigator.credentials`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CeremonyStarted {
    pub ceremony_id: String,
    /// WebAuthn options, to pass (decoded from base64url) to `navigator.credentials.create` or `.get`.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// A passkey as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Passkeys {
    pub data: Vec<PasskeyView>,
}

fn view(p: PasskeyRecord) -> PasskeyView {
    PasskeyView {
        id: p.id,
        name: p.name,
        created_at: p.created_at,
        last_used_at: p.last_used_at,
    }
}

async fn start(
    state: &AppState,
    kind: CeremonyKind,
    customer: Option<&str>,
    state_json: String,
    options: serde_json::Value,
) -> Result<Response, ApiError> {
    let id = session::new_token();
    state
        .store
        .begin_ceremony(
            &hash_secret(&id),
            kind,
            customer,
            "",
            &state_json,
            &billpay_core::time::from_now(CEREMONY_TTL),
        )
        .await?;
    let mut resp = (
        StatusCode::CREATED,
        axum::Json(CeremonyStarted {
            ceremony_id: id,
            options,
        }),
    )
        .into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// Start registering a passkey for the signed-in customer.
#[utoipa::path(post, path = "/v1/auth/passkey-registrations", tag = "sign-in",
    responses((status = 201, description = "pass `options` to `navigator.credentials.create`", body = CeremonyStarted)),
    security(("session" = [])))]
pub async fn start_registration(State(state): State<AppState>, who: Principal) -> Result<Response, ApiError> {
    let rp = relying_party(&state)?;
    let customer_id = signed_in_customer(&who)?;
    let customer = state.store.get_customer(customer_id).await?;
    let existing = state.store.customer_passkeys(customer_id).await?;
    let handle = match existing.first() {
        Some((p, _)) => Uuid::parse_str(&p.user_handle)
            .map_err(|e| ApiError::internal(format!("stored passkey user handle: {e}")))?,
        None => Uuid::new_v4(),
    };
    let exclude = existing
        .iter()
        .map(|(_, json)| stored(json).map(|p| p.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let user_name = customer.email.clone().unwrap_or_else(|| customer.id.clone());
    let (ccr, registration) = rp
        .start_passkey_registration(handle, &user_name, &customer.name, Some(exclude))
        .map_err(|e| ApiError::internal(format!("cannot start a passkey registration: {e}")))?;
    let mut options = serde_json::to_value(&ccr).map_err(|e| ApiError::internal(e.to_string()))?;
    // A passkey that the browser can offer by itself (discoverable), so that signing in needs no
    // address typed first.
    if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection") {
        sel["residentKey"] = json!("required");
        sel["requireResidentKey"] = json!(true);
    }
    let state_json =
        serde_json::to_string(&(handle.to_string(), registration)).map_err(|e| ApiError::internal(e.to_string()))?;
    start(
        &state,
        CeremonyKind::PasskeyRegister,
        Some(customer_id),
        state_json,
        options,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishRegistration {
    pub ceremony_id: String,
    /// What the customer calls this passkey ("Teléfono de Ana").
    pub name: Option<String>,
    /// The `PublicKeyCredential` from `navigator.credentials.create`, its buffers base64url.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// Finish registering a passkey: the browser's answer to the registration's options.
#[utoipa::path(post, path = "/v1/auth/passkeys", tag = "sign-in", request_body = FinishRegistration,
    responses((status = 201, description = "the passkey is registered", body = PasskeyView)),
    security(("session" = [])))]
pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    who: Principal,
    body: ApiJson<FinishRegistration>,
) -> Result<Response, ApiError> {
    let rp = relying_party(&state)?;
    let customer_id = signed_in_customer(&who)?;
    let b = body.value()?;
    let name = b
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Passkey");
    if name.chars().count() > 100 {
        return Err(ApiError::invalid("name is longer than 100 characters"));
    }
    let credential: RegisterPublicKeyCredential = serde_json::from_value(b.credential.clone())
        .map_err(|e| ApiError::invalid(format!("credential is not a WebAuthn registration: {e}")))?;
    let ceremony = state
        .store
        .take_ceremony(&hash_secret(&b.ceremony_id), CeremonyKind::PasskeyRegister)
        .await?
        .filter(|c| c.customer_id.as_deref() == Some(customer_id))
        .ok_or_else(ceremony_gone)?;
    let (handle, registration): (String, PasskeyRegistration) = serde_json::from_str(&ceremony.state)
        .map_err(|e| ApiError::internal(format!("a stored ceremony does not parse: {e}")))?;
    let passkey = match rp.finish_passkey_registration(&credential, &registration) {
        Ok(p) => p,
        Err(e) => {
            audit(
                &state,
                who.key_id(),
                "passkey refused",
                customer_id,
                json!({"error": e.to_string()}),
                &headers,
            )
            .await;
            return Err(refused("registration", e));
        }
    };
    let json = serde_json::to_string(&passkey).map_err(|e| ApiError::internal(e.to_string()))?;
    let record = state
        .store
        .add_passkey(customer_id, &credential_id(&passkey), &handle, name, &json)
        .await?;
    audit(
        &state,
        who.key_id(),
        "passkey added",
        customer_id,
        json!({"passkey_id": record.id}),
        &headers,
    )
    .await;
    Ok((StatusCode::CREATED, axum::Json(view(record))).into_response())
}

/// The signed-in customer's passkeys.
#[utoipa::path(operation_id = "list_passkeys", get, path = "/v1/auth/passkeys", tag = "sign-in",
    responses((status = 200, body = Passkeys)), security(("session" = [])))]
pub async fn list(State(state): State<AppState>, who: Principal) -> Result<axum::Json<Passkeys>, ApiError> {
    let customer_id = signed_in_customer(&who)?;
    let data = state
        .store
        .customer_passkeys(customer_id)
        .await?
        .into_iter()
        .map(|(p, _)| view(p))
        .collect();
    Ok(axum::Json(Passkeys { data }))
}

/// Remove one of the signed-in customer's passkeys; it can no longer sign in.
#[utoipa::path(operation_id = "remove_passkey", delete, path = "/v1/auth/passkeys/{passkey_id}", tag = "sign-in",
    params(("passkey_id" = String, Path)),
    responses((status = 204, description = "removed")), security(("session" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    who: Principal,
    Path(passkey_id): Path<String>,
) -> Result<Response, ApiError> {
    let customer_id = signed_in_customer(&who)?;
    path_id(Kind::Passkey, &passkey_id)?;
    state.store.remove_passkey(customer_id, &passkey_id).await?;
    audit(
        &state,
        who.key_id(),
        "passkey removed",
        customer_id,
        json!({"passkey_id": passkey_id}),
        &headers,
    )
    .await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Start signing in with a passkey: a challenge any of this site's passkeys can answer.
#[utoipa::path(post, path = "/v1/auth/passkey-challenges", tag = "sign-in",
    responses((status = 201, description = "pass `options` to `navigator.credentials.get`", body = CeremonyStarted)))]
pub async fn start_sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
) -> Result<Response, ApiError> {
    let rp = relying_party(&state)?;
    if headers.contains_key(header::ORIGIN) {
        session::check_origin(&axum::http::Method::POST, &headers, &state.sessions.trusted_origins)?;
    }
    state.sign_in_limits.codes.hit(addr).map_err(too_many_requests)?;
    let (rcr, auth) = rp
        .start_discoverable_authentication()
        .map_err(|e| ApiError::internal(format!("cannot start a passkey sign-in: {e}")))?;
    let options = serde_json::to_value(&rcr).map_err(|e| ApiError::internal(e.to_string()))?;
    let state_json = serde_json::to_string(&auth).map_err(|e| ApiError::internal(e.to_string()))?;
    start(&state, CeremonyKind::PasskeySignIn, None, state_json, options).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignIn {
    pub ceremony_id: String,
    /// The `PublicKeyCredential` from `navigator.credentials.get`, its buffers base64url.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// Sign in with a passkey: the browser's answer to the challenge. Sets the session cookie.
#[utoipa::path(operation_id = "sign_in_with_passkey", post, path = "/v1/auth/passkey-sessions", tag = "sign-in", request_body = PasskeySignIn,
    responses((status = 201, description = "signed in; the session cookie is set", body = crate::routes::auth::SignedIn),
        (status = 401, description = "the passkey is not registered here, or its signature is wrong (`passkey_refused`)",
            body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    body: ApiJson<PasskeySignIn>,
) -> Result<Response, ApiError> {
    let rp = relying_party(&state)?;
    state.sign_in_limits.attempts.hit(addr).map_err(too_many_requests)?;
    if headers.contains_key(header::ORIGIN) {
        session::check_origin(&axum::http::Method::POST, &headers, &state.sessions.trusted_origins)?;
    }
    let b = body.value()?;
    let credential: PublicKeyCredential = serde_json::from_value(b.credential.clone())
        .map_err(|e| ApiError::invalid(format!("credential is not a WebAuthn assertion: {e}")))?;
    let ceremony = state
        .store
        .take_ceremony(&hash_secret(&b.ceremony_id), CeremonyKind::PasskeySignIn)
        .await?
        .ok_or_else(ceremony_gone)?;
    let auth: DiscoverableAuthentication = serde_json::from_str(&ceremony.state)
        .map_err(|e| ApiError::internal(format!("a stored ceremony does not parse: {e}")))?;
    let unknown = |why: &str| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "passkey_refused",
            format!("this passkey cannot sign in here: {why}"),
        )
    };
    let (handle, cred_id) = rp
        .identify_discoverable_authentication(&credential)
        .map_err(|e| unknown(&e.to_string()))?;
    let cred_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(cred_id);
    let Some((record, json)) = state.store.passkey_by_credential(&cred_id).await? else {
        audit(
            &state,
            &cred_id,
            "sign-in failed",
            "",
            json!({"code": "passkey_refused", "method": "passkey"}),
            &headers,
        )
        .await;
        return Err(unknown("it is not registered (it may have been removed)"));
    };
    if record.user_handle != handle.to_string() {
        return Err(unknown("it belongs to someone else"));
    }
    let mut passkey = stored(&json)?;
    let result = match rp.finish_discoverable_authentication(&credential, auth, &[DiscoverableKey::from(&passkey)]) {
        Ok(r) => r,
        Err(e) => {
            audit(
                &state,
                &record.id,
                "sign-in failed",
                &record.customer_id,
                json!({"code": "passkey_refused", "method": "passkey", "error": e.to_string()}),
                &headers,
            )
            .await;
            return Err(unknown(&e.to_string()));
        }
    };
    passkey.update_credential(&result);
    let json = serde_json::to_string(&passkey).map_err(|e| ApiError::internal(e.to_string()))?;
    state.store.passkey_used(&record.id, &json).await?;
    let opening = Opening::new(&headers, addr, state.sessions.absolute);
    let session = state
        .store
        .open_session(
            SessionOwner::Customer(&record.customer_id),
            &hash_secret(&opening.token),
            &opening.session(),
        )
        .await?;
    Ok(signed_in(&state, &headers, session, &opening.token, "passkey", false).await)
}
