//! BillPay's HTTP API: an axum router over `billpay-store`.
//!
//! - `routes/`: one module per resource; handlers check who may do what, then call the store.
//! - `idem`: Stripe-style idempotency around every POST that creates something or moves money.
//! - `error`: RFC 9457 problem documents with stable codes.
//! - `audit`: every admin and biller action recorded in the audit log.
//! - `openapi`: the OpenAPI 3.1 document, generated from the handlers' annotations.

mod audit;
pub mod auth;
pub mod demo;
pub mod error;
pub mod extract;
pub mod idem;
pub mod observe;
pub mod ofrep;
pub mod oidc;
pub mod openapi;
pub mod protect;
pub mod routes;
pub mod session;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::HandlerWithoutStateExt;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use billpay_store::Store;

use crate::error::ApiError;

/// The largest body any endpoint reads (a bulk CSV of 10,000 bills fits with room to spare).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub keys: auth::KeyCache,
    pub inflight: idem::InFlight,
    pub flags: ofrep::FlagCache,
    pub sessions: session::Policy,
    pub sign_in_limits: session::SignInLimits,
    pub session_cache: session::SessionCache,
    /// The relying party passkeys are bound to; `None` when no passkey origin is configured.
    pub passkeys: Option<routes::passkeys::RelyingParty>,
    /// The staff's single sign-on issuer; `None` when none is configured.
    pub oidc: Option<oidc::Provider>,
    /// Calls billers' fetch endpoints (rustls; plain HTTP only where the URL rule allows it).
    pub http: billpay_worker::HttpClient,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self::with_sessions(store, session::Policy::default())
    }

    pub fn with_sessions(store: Store, sessions: session::Policy) -> Self {
        Self::with_people(store, sessions, None, None)
    }

    /// With passkeys and staff single sign-on, when they are configured.
    pub fn with_people(
        store: Store,
        sessions: session::Policy,
        passkeys: Option<routes::passkeys::RelyingParty>,
        oidc: Option<oidc::Provider>,
    ) -> Self {
        AppState(Arc::new(Inner {
            passkeys,
            oidc,
            store,
            keys: auth::KeyCache::default(),
            inflight: idem::InFlight::default(),
            flags: ofrep::FlagCache::default(),
            sessions,
            sign_in_limits: session::SignInLimits::default(),
            session_cache: session::SessionCache::default(),
            http: billpay_worker::http_client(),
        }))
    }
}

/// The whole application: API, operations endpoints and the OpenAPI document.
pub fn app(state: AppState) -> Router {
    app_with(state, Options::default())
}

/// What `billpay serve` adds to the API.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The built web apps, served at `/` (entry), `/a/`, `/b/` and `/flags/`.
    pub web: Option<web::Web>,
    /// Origins allowed to call the API and OFREP from a browser (the frontends' origins when
    /// they are served from elsewhere, such as a CDN).
    pub cors_origins: Vec<String>,
    /// The in-flight cap, request and body timeouts and rate limits; `None`: none of them.
    pub limits: Option<protect::Limits>,
}

/// The application with the web apps and CORS as configured.
pub fn app_with(state: AppState, options: Options) -> Router {
    let metrics = observe::install_metrics();
    let mut router = Router::new()
        .merge(routes::router())
        .merge(ofrep::router())
        .merge(observe::ops_router(metrics));
    router = match options.web {
        Some(web) => web::mount(router, web, not_found.into_service()),
        None => router.fallback(not_found),
    };
    let mut router = router
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(state.clone(), audit::record));
    if let Some(limits) = options.limits {
        // Innermost first: the body deadline, then the rate limits, then the in-flight cap and
        // the request timeout around everything else.
        let shield = protect::Shield {
            app: state.clone(),
            guard: std::sync::Arc::new(protect::Guard::new(limits)),
        };
        protect::forget_idle_callers(&shield.guard);
        router = router
            .layer(axum::middleware::from_fn_with_state(
                shield.clone(),
                protect::body_deadline,
            ))
            .layer(axum::middleware::from_fn_with_state(
                shield.clone(),
                protect::rate_limit,
            ))
            .layer(axum::middleware::from_fn_with_state(shield, protect::shed_and_time));
    }
    let mut router = router
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(observe::track));
    if !options.cors_origins.is_empty() {
        router = router.layer(web::cors(&options.cors_origins));
    }
    router.layer(observe::request_id_layers())
}

async fn not_found() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "no such endpoint; see /openapi.json",
    )
    .into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see /openapi.json",
    )
    .into_response()
}
