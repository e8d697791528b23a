//! How the server protects itself from hostile or excessive load, in the request path: a cap on
//! requests in flight (past it, `503` with `Retry-After`, never a queue), an overall request
//! timeout, a read timeout for request bodies, and rate limits per API key or session and per
//! client address, answered with `429`, `Retry-After` and the `RateLimit-Policy` / `RateLimit`
//! fields of the IETF draft (draft-ietf-httpapi-ratelimit-headers).
//!
//! The connection-level limits (how many connections, how long a client may take to send its
//! headers) are the server loop's, in the `billpay` binary.
//!
//! Health, readiness and metrics are outside every limit here: they must answer while the server
//! sheds load, or the orchestrator would restart a server that is only busy.
//!
//! Limits are counted in each process. Several processes behind a balancer that spreads requests
//! evenly each see about 1/N of a client's requests, so each is given 1/N of the limit (the
//! Kubernetes config does that from `platform.toml`), and the limit holds approximately.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use tokio::sync::Semaphore;

use crate::AppState;
use crate::auth::Principal;

/// What the protective middleware reads: the application (to tell who a caller is) and the
/// limits' state.
#[derive(Clone)]
pub struct Shield {
    pub app: AppState,
    pub guard: Arc<Guard>,
}
use crate::error::ApiError;
use billpay_store::Role;

/// A rate: `per_minute` requests a minute on average, and up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    pub const fn new(per_minute: u32, burst: u32) -> Self {
        Self { per_minute, burst }
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// `600/min` or `600/min,burst=100` (burst defaults to a tenth of the rate, at least 1).
    fn from_str(s: &str) -> Result<Self, String> {
        let (rate, burst) = match s.split_once(',') {
            Some((rate, burst)) => (rate.trim(), Some(burst.trim())),
            None => (s.trim(), None),
        };
        let per_minute: u32 = rate
            .strip_suffix("/min")
            .and_then(|n| n.trim().parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{s:?}: a rate is N/min with N > 0, e.g. 600/min or 600/min,burst=100"))?;
        let burst = match burst {
            None => (per_minute / 10).max(1),
            Some(b) => b
                .strip_prefix("burst=")
                .and_then(|n| n.trim().parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{s:?}: the burst is burst=N with N > 0"))?,
        };
        Ok(Self { per_minute, burst })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/min,burst={}", self.per_minute, self.burst)
    }
}

/// The rate limits, per kind of caller. A request is counted once, against the first that
/// applies: the bulk endpoints' own limit, else its caller's role (per API key or session), else
/// its client address (no credentials, or credentials that do not sign in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rates {
    pub customer: Rate,
    pub biller: Rate,
    pub admin: Rate,
    pub anonymous: Rate,
    pub bulk: Rate,
}

impl Default for Rates {
    fn default() -> Self {
        Self {
            customer: Rate::new(600, 60),
            biller: Rate::new(3000, 300),
            admin: Rate::new(3000, 300),
            anonymous: Rate::new(300, 60),
            bulk: Rate::new(60, 10),
        }
    }
}

/// Everything the request path limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest a request may run, from its headers to its answer.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request's body.
    pub body_timeout: Duration,
    /// Requests handled at once; past it, `503` with `Retry-After`.
    pub max_in_flight: usize,
    /// `None`: no rate limits.
    pub rates: Option<Rates>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
            max_in_flight: 512,
            rates: Some(Rates::default()),
        }
    }
}

/// Paths no limit here applies to.
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Endpoints that take many items in one request, with their own limit.
fn bulk(path: &str) -> bool {
    path.ends_with("/bulk") || path.starts_with("/v1/reconciliations")
}

type Limiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

struct Policy {
    name: &'static str,
    rate: Rate,
    limiter: Limiter,
}

impl Policy {
    fn new(name: &'static str, rate: Rate) -> Self {
        let per_minute = NonZeroU32::new(rate.per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self {
            name,
            rate,
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
        }
    }

    /// Seconds one request's worth of quota takes to come back.
    fn interval(&self) -> f64 {
        60.0 / f64::from(self.rate.per_minute.max(1))
    }

    /// `"customer";q=60;w=6`: `q` requests in `w` seconds is the burst and how long it takes to
    /// come back in full.
    fn policy_header(&self) -> String {
        let window = (f64::from(self.rate.burst) * self.interval()).ceil().max(1.0);
        format!("\"{}\";q={};w={}", self.name, self.rate.burst, window as u64)
    }
}

/// The state the limits keep: the in-flight permits and one limiter per kind of caller.
pub struct Guard {
    limits: Limits,
    in_flight: Arc<Semaphore>,
    policies: Option<[Policy; 5]>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Guard {
    pub fn new(limits: Limits) -> Self {
        let policies = limits.rates.as_ref().map(|r| {
            [
                Policy::new("bulk", r.bulk),
                Policy::new("customer", r.customer),
                Policy::new("biller", r.biller),
                Policy::new("admin", r.admin),
                Policy::new("anonymous", r.anonymous),
            ]
        });
        Self {
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            limits,
            policies,
            clock: DefaultClock::default(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Forgets callers whose quota has come back in full, so the limiters' memory follows the
    /// callers of the last minutes, not every caller ever seen.
    pub fn forget_idle(&self) {
        for p in self.policies.iter().flatten() {
            p.limiter.retain_recent();
            p.limiter.shrink_to_fit();
        }
    }
}

fn problem(status: StatusCode, code: &str, detail: String, retry_after: u64) -> Response {
    let mut resp = ApiError::new(status, code, detail).into_response();
    if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// The in-flight cap and the request timeout (outermost, so that a request waiting on a rate
/// limit decision is already counted).
pub async fn shed_and_time(State(shield): State<Shield>, req: Request, next: Next) -> Response {
    if exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let guard = &shield.guard;
    let Ok(_permit) = guard.in_flight.clone().try_acquire_owned() else {
        metrics::counter!("billpay_shed_total", "reason" => "in_flight").increment(1);
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!(
                "the server is handling its limit of {} requests at once; retry after the time in Retry-After",
                guard.limits.max_in_flight
            ),
            1,
        );
    };
    let limit = guard.limits.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => {
            metrics::counter!("billpay_shed_total", "reason" => "timeout").increment(1);
            // Dropping the handler rolls back any transaction it had open; a statement that
            // already committed did so whole, with its idempotency record.
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                format!(
                    "the request did not finish within {} s and was stopped; nothing of it is half-written. \
                     Retry with the same Idempotency-Key: it answers with the result if it had completed",
                    limit.as_secs_f64()
                ),
                1,
            )
        }
    }
}

/// Rate limits: per API key or session (by the caller's role, or the bulk endpoints' own), and
/// per client address for requests that do not sign in.
pub async fn rate_limit(State(shield): State<Shield>, req: Request, next: Next) -> Response {
    let state = &shield.app;
    let Some(policies) = shield.guard.policies.as_ref() else {
        return next.run(req).await;
    };
    // The API and OFREP only: the web apps' static files (served here locally, by CloudFront in
    // production) cost nothing worth limiting, and a page load is several of them.
    let path = req.uri().path();
    if exempt(path) || !(path.starts_with("/v1/") || path.starts_with("/ofrep/")) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    // OFREP is read with the flag set's public client key, not a person's or a machine's
    // credentials: it counts per address, with no lookup.
    let ofrep = parts.uri.path().starts_with("/ofrep/");
    let has_credentials = !ofrep
        && (parts.headers.contains_key(header::AUTHORIZATION) || crate::session::token(&parts.headers).is_some());
    let principal = if has_credentials {
        Principal::from_request_parts(&mut parts, state).await.ok()
    } else {
        None
    };
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let addr: Option<IpAddr> = crate::session::client_addr(&parts.headers, peer, state.sessions.trusted_proxy_hops);
    let [bulk_p, customer, biller, admin, anonymous] = policies;
    let (policy, key) = match &principal {
        Some(p) if bulk(parts.uri.path()) => (bulk_p, p.0.id.clone()),
        Some(p) => (
            match p.role() {
                Role::Customer => customer,
                Role::Biller => biller,
                Role::Admin => admin,
            },
            p.0.id.clone(),
        ),
        None => (anonymous, addr.map_or_else(|| "unknown".to_owned(), |a| a.to_string())),
    };
    let req = Request::from_parts(parts, body);
    match policy.limiter.check_key(&key) {
        Ok(snapshot) => {
            let remaining = snapshot.remaining_burst_capacity();
            let mut resp = next.run(req).await;
            let used = policy.rate.burst.saturating_sub(remaining);
            let reset = (f64::from(used) * policy.interval()).ceil() as u64;
            set_rate_headers(&mut resp, policy, remaining, reset);
            resp
        }
        Err(not_until) => {
            let wait = not_until.wait_time_from(shield.guard.clock.now());
            let retry = wait.as_secs_f64().ceil().max(1.0) as u64;
            metrics::counter!("billpay_rate_limited_total", "policy" => policy.name).increment(1);
            tracing::warn!(policy = policy.name, caller = %key, retry_after = retry, "rate limited");
            let mut resp = problem(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many requests: the {} limit is {}/min with bursts of {}; retry in {retry} s",
                    policy.name, policy.rate.per_minute, policy.rate.burst
                ),
                retry,
            );
            set_rate_headers(&mut resp, policy, 0, retry);
            resp
        }
    }
}

fn set_rate_headers(resp: &mut Response, policy: &Policy, remaining: u32, reset: u64) {
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&policy.policy_header()) {
        headers.insert("ratelimit-policy", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\";r={remaining};t={reset}", policy.name)) {
        headers.insert("ratelimit", v);
    }
}

/// A request body that must arrive within a time: past it, reading the body fails with
/// [`BodyTimedOut`], which the body extractors answer with `408`.
pub async fn body_deadline(State(shield): State<Shield>, req: Request, next: Next) -> Response {
    let limit = shield.guard.limits.body_timeout;
    let req = req.map(|body| axum::body::Body::new(DeadlineBody::new(body, limit)));
    next.run(req).await
}

/// Reading the request body took longer than the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimedOut(pub Duration);

pin_project_lite::pin_project! {
    struct DeadlineBody {
        #[pin]
        inner: axum::body::Body,
        #[pin]
        sleep: tokio::time::Sleep,
        limit: Duration,
    }
}

impl DeadlineBody {
    fn new(inner: axum::body::Body, limit: Duration) -> Self {
        Self {
            inner,
            sleep: tokio::time::sleep(limit),
            limit,
        }
    }
}

impl http_body::Body for DeadlineBody {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.sleep.poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(*this.limit)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Every minute, forgets the callers whose quota has come back (while `guard` is in use).
pub fn forget_idle_callers(guard: &Arc<Guard>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let guard = Arc::downgrade(guard);
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(guard) = guard.upgrade() else { return };
            guard.forget_idle();
        }
    });
}
