//! Staff single sign-on with OpenID Connect, against any issuer (Cognito, Entra ID, Okta, Google
//! Workspace): the authorization code flow with PKCE, a `nonce` in the ID token and a `state`
//! bound to the browser that started the round trip. The protocol is the `openidconnect`
//! library's; this module keeps each round trip in the store (taken once), and maps the verified
//! person to a staff member, whose role is BillPay's data.
//!
//! `GET /v1/auth/oidc/start` sends the browser to the issuer; the issuer sends it back to
//! `GET /v1/auth/oidc/callback`, which opens a staff session and returns the browser to the app.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::BodyExt;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::url;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use billpay_store::{CeremonyKind, SessionOwner, hash_secret};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::routes::auth::{Opening, audit, signed_in, too_many_requests};
use crate::session::{self, ClientAddr};

/// How long a person has at the issuer before the round trip expires.
const ROUND_TRIP: time::Duration = time::Duration::minutes(10);
/// The cookie that binds a round trip to the browser that started it (login CSRF).
const BINDING_COOKIE: &str = "billpay_sso";
/// The longest an issuer may take to answer, and the largest answer read.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_BODY: usize = 1 << 20;

/// The staff's identity provider, as configured.
#[derive(Clone)]
pub struct Provider {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect: RedirectUrl,
    http: billpay_worker::HttpClient,
}

impl Provider {
    /// `issuer` is the issuer URL (its discovery document is read at each sign-in, so rotated
    /// keys are picked up); `redirect` is this API's public `/v1/auth/oidc/callback` URL. Plain
    /// HTTP is accepted for loopback issuers only.
    pub fn new(issuer: &str, client_id: &str, client_secret: Option<&str>, redirect: &str) -> Result<Self, String> {
        let issuer_url = IssuerUrl::new(issuer.to_owned()).map_err(|e| format!("OIDC issuer {issuer:?}: {e}"))?;
        if !secure_or_loopback(issuer_url.url()) {
            return Err(format!(
                "OIDC issuer {issuer:?} must be https (plain http only on loopback)"
            ));
        }
        let redirect = RedirectUrl::new(redirect.to_owned()).map_err(|e| format!("OIDC redirect {redirect:?}: {e}"))?;
        if !redirect.url().path().ends_with("/v1/auth/oidc/callback") {
            return Err(format!(
                "OIDC redirect {:?} must be this API's /v1/auth/oidc/callback URL",
                redirect.as_str()
            ));
        }
        Ok(Provider {
            issuer: issuer_url,
            client_id: ClientId::new(client_id.to_owned()),
            client_secret: client_secret
                .filter(|s| !s.is_empty())
                .map(|s| ClientSecret::new(s.to_owned())),
            redirect,
            http: billpay_worker::http_client(),
        })
    }

    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    async fn client(
        &self,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        ApiError,
    > {
        let http = self.http_fn();
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &http)
            .await
            .map_err(|e| issuer_down(&format!("its discovery document: {e}")))?;
        Ok(
            CoreClient::from_provider_metadata(metadata, self.client_id.clone(), self.client_secret.clone())
                .set_redirect_uri(self.redirect.clone()),
        )
    }

    /// The HTTP client the library calls the issuer with: rustls, a timeout, a size limit, and
    /// no plain HTTP beyond loopback.
    fn http_fn(
        &self,
    ) -> impl Fn(
        openidconnect::HttpRequest,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<openidconnect::HttpResponse, std::io::Error>> + Send>,
    > + use<> {
        let client = self.http.clone();
        move |req: openidconnect::HttpRequest| {
            let client = client.clone();
            Box::pin(async move {
                let io = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
                let (parts, body) = req.into_parts();
                let uri_ok = parts.uri.scheme_str() == Some("https")
                    || parts
                        .uri
                        .host()
                        .is_some_and(|h| matches!(h, "localhost" | "127.0.0.1" | "[::1]"));
                if !uri_ok {
                    return Err(io(&format!("refusing plain HTTP to {}", parts.uri)));
                }
                let req = http::Request::from_parts(parts, http_body_util::Full::new(bytes::Bytes::from(body)));
                let resp = tokio::time::timeout(HTTP_TIMEOUT, client.request(req))
                    .await
                    .map_err(|_| io(&"the issuer did not answer in time"))?
                    .map_err(|e| io(&e))?;
                let (parts, body) = resp.into_parts();
                let limited = http_body_util::Limited::new(body, MAX_BODY);
                let bytes = tokio::time::timeout(HTTP_TIMEOUT, limited.collect())
                    .await
                    .map_err(|_| io(&"the issuer did not answer in time"))?
                    .map_err(|e| io(&e))?
                    .to_bytes();
                Ok(http::Response::from_parts(parts, bytes.to_vec()))
            })
        }
    }
}

fn secure_or_loopback(url: &url::Url) -> bool {
    url.scheme() == "https" || matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

fn issuer_down(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "issuer_unavailable",
        format!("the sign-in provider could not be reached or answered wrongly ({what}); try again"),
    )
}

fn not_configured() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "sso_not_configured",
        "this server has no single sign-on issuer (--oidc-issuer)",
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/oidc/start", get(start))
        .route("/v1/auth/oidc/callback", get(callback))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartQuery {
    /// Where to send the browser once signed in: a path on this site, or a page of a trusted
    /// origin. Defaults to the flags admin.
    pub return_to: Option<String>,
}

/// What the round trip keeps server-side until the issuer sends the browser back.
#[derive(Serialize, Deserialize)]
struct RoundTrip {
    nonce: String,
    pkce_verifier: String,
    return_to: String,
}

/// A `return_to` that is this site's own path or a trusted origin's page, so the sign-in can
/// never send a browser elsewhere (no open redirect).
fn safe_return(raw: Option<&str>, trusted: &[String]) -> Result<String, ApiError> {
    let r = raw.unwrap_or("/flags/");
    let own_path = r.starts_with('/') && !r.starts_with("//") && !r.contains('\\');
    let trusted_page = url::Url::parse(r).ok().is_some_and(|u| {
        let origin = u.origin().ascii_serialization();
        trusted.iter().any(|t| t.trim_end_matches('/') == origin)
    });
    if own_path || trusted_page {
        Ok(r.to_owned())
    } else {
        Err(ApiError::invalid(format!(
            "return_to {r:?} is neither a path on this site nor a page of a trusted origin"
        )))
    }
}

/// Start staff sign-in: redirects to the issuer.
#[utoipa::path(get, path = "/v1/auth/oidc/start", tag = "sign-in",
    params(("return_to" = Option<String>, Query, description = "where to return once signed in")),
    responses((status = 303, description = "to the issuer's sign-in page"),
        (status = 404, description = "no issuer configured (`sso_not_configured`)", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    ApiQuery(q): ApiQuery<StartQuery>,
) -> Result<Response, ApiError> {
    let provider = state.oidc.as_ref().ok_or_else(not_configured)?;
    state.sign_in_limits.codes.hit(addr).map_err(too_many_requests)?;
    let return_to = safe_return(q.return_to.as_deref(), &state.sessions.trusted_origins)?;
    let client = provider.client().await?;
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .set_pkce_challenge(pkce_challenge)
        .url();
    let binding = session::new_token();
    let trip = RoundTrip {
        nonce: nonce.secret().clone(),
        pkce_verifier: pkce_verifier.secret().clone(),
        return_to,
    };
    state
        .store
        .begin_ceremony(
            &hash_secret(csrf.secret()),
            CeremonyKind::Oidc,
            None,
            &hash_secret(&binding),
            &serde_json::to_string(&trip).map_err(ApiError::internal)?,
            &billpay_core::time::from_now(ROUND_TRIP),
        )
        .await?;
    let mut resp = StatusCode::SEE_OTHER.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(url.as_str()).map_err(ApiError::internal)?,
    );
    h.insert(header::SET_COOKIE, binding_cookie(&headers, &binding, ROUND_TRIP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The cookie that binds the round trip to this browser: HttpOnly, sent back only to the
/// callback, and (outside plain-HTTP loopback) Secure.
fn binding_cookie(headers: &HeaderMap, value: &str, ttl: time::Duration) -> HeaderValue {
    let secure = if session::plain_local(headers) { "" } else { " Secure;" };
    let v = format!(
        "{BINDING_COOKIE}={value}; Path=/v1/auth/oidc;{secure} HttpOnly; SameSite=Lax; Max-Age={}",
        ttl.whole_seconds()
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn binding_of(headers: &HeaderMap) -> Option<String> {
    session::cookie(headers, &[BINDING_COOKIE])
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The issuer that answers (RFC 9207), when it says: it must be ours (mix-up attacks).
    pub iss: Option<String>,
}

fn state_invalid() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "sign_in_state_invalid",
        "this sign-in was not started from this browser, was already used, or has expired; start again",
    )
}

fn token_invalid(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "id_token_invalid",
        format!("the sign-in provider's ID token was refused: {why}"),
    )
}

/// The issuer sends the browser back here. Checks the state and its browser binding, exchanges
/// the code with the PKCE verifier, verifies the ID token (signature against the issuer's keys,
/// issuer, audience, expiry, nonce), then opens a session for the staff member it names.
#[utoipa::path(get, path = "/v1/auth/oidc/callback", tag = "sign-in",
    params(("code" = Option<String>, Query), ("state" = Option<String>, Query)),
    responses((status = 303, description = "signed in; the session cookie is set and the browser returns to the app"),
        (status = 400, description = "a forged, used or expired state (`sign_in_state_invalid`), or the issuer refused (`sign_in_refused`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "the ID token failed verification (`id_token_invalid`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "the person is not staff (`not_staff`)", body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(addr): ClientAddr,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> Result<Response, ApiError> {
    let provider = state.oidc.as_ref().ok_or_else(not_configured)?;
    state.sign_in_limits.attempts.hit(addr).map_err(too_many_requests)?;
    let result = finish(&state, provider, &headers, addr, &q).await;
    if let Err(e) = &result {
        audit(
            &state,
            provider.issuer(),
            "sign-in failed",
            "",
            json!({"code": e.code, "method": "sso", "detail": e.detail}),
            &headers,
        )
        .await;
    }
    let mut resp = result?;
    // The binding cookie has done its work.
    resp.headers_mut()
        .append(header::SET_COOKIE, binding_cookie(&headers, "", time::Duration::ZERO));
    Ok(resp)
}

async fn finish(
    state: &AppState,
    provider: &Provider,
    headers: &HeaderMap,
    addr: Option<std::net::IpAddr>,
    q: &CallbackQuery,
) -> Result<Response, ApiError> {
    let csrf = q.state.as_deref().ok_or_else(state_invalid)?;
    let trip = state
        .store
        .take_ceremony(&hash_secret(csrf), CeremonyKind::Oidc)
        .await?
        .ok_or_else(state_invalid)?;
    let bound = binding_of(headers).is_some_and(|b| hash_secret(&b) == trip.binding);
    if !bound {
        return Err(state_invalid());
    }
    let trip: RoundTrip = serde_json::from_str(&trip.state).map_err(ApiError::internal)?;
    if q.iss.as_deref().is_some_and(|iss| iss != provider.issuer()) {
        return Err(ApiError::bad_request(
            "sign_in_refused",
            "the answer came from another issuer than the one this sign-in started with",
        ));
    }
    if let Some(err) = &q.error {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "sign_in_refused",
            format!(
                "the sign-in provider refused: {err}{}",
                q.error_description
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            ),
        ));
    }
    let code = q
        .code
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("sign_in_refused", "the sign-in provider sent no code"))?;
    let client = provider.client().await?;
    let http = provider.http_fn();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .map_err(|e| issuer_down(&format!("no token endpoint: {e}")))?
        .set_pkce_verifier(PkceCodeVerifier::new(trip.pkce_verifier))
        .request_async(&http)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "sign_in_refused",
                format!("the sign-in provider refused the code: {e}"),
            )
        })?;
    let id_token = tokens.id_token().ok_or_else(|| token_invalid("there is none"))?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(trip.nonce))
        .map_err(token_invalid)?;
    let subject = claims.subject().as_str();
    let email = claims
        .email()
        .filter(|_| claims.email_verified() == Some(true))
        .map(|e| e.as_str().to_ascii_lowercase());
    let Some(member) = state
        .store
        .staff_for_sign_in(provider.issuer(), subject, email.as_deref())
        .await?
    else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_staff",
            format!(
                "{} is not a BillPay staff member; an admin must add them first",
                email.as_deref().unwrap_or(subject)
            ),
        ));
    };
    let opening = Opening::new(headers, addr, state.sessions.staff_absolute);
    let record = state
        .store
        .open_session(
            SessionOwner::Staff(&member.id),
            &hash_secret(&opening.token),
            &opening.session(),
        )
        .await?;
    let mut resp = signed_in(state, headers, record, &opening.token, "sso", false).await;
    *resp.status_mut() = StatusCode::SEE_OTHER;
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&trip.return_to).map_err(ApiError::internal)?,
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_returns_only_to_this_site_or_a_trusted_origin() {
        let trusted = vec!["https://admin.example.com".to_owned()];
        assert_eq!(safe_return(None, &trusted).ok().as_deref(), Some("/flags/"));
        assert!(safe_return(Some("/flags/#x"), &trusted).is_ok());
        assert!(safe_return(Some("https://admin.example.com/flags/"), &trusted).is_ok());
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
        ] {
            assert!(safe_return(Some(bad), &trusted).is_err(), "{bad}");
        }
    }
}
