//! Sessions for people. The browser holds a random token in an `HttpOnly` cookie that no script
//! can read; the server keeps only its SHA-256 with the session. A request made with the cookie
//! reaches the same authorization code as one made with an API key, as the customer the session
//! belongs to. Requests that change something must come from BillPay's own pages: their
//! `Origin` (or, without one, `Sec-Fetch-Site`) is checked, which stops cross-site request forgery.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use billpay_store::{ApiKeyRecord, Role, Scope, hash_secret};

use crate::auth::Principal;

use crate::AppState;
use crate::error::ApiError;

/// The cookie's name where it can be `Secure` (HTTPS, or any deployment): the `__Host-` prefix
/// makes the browser refuse it unless it is Secure, host-only and for the whole site.
pub const SECURE_COOKIE: &str = "__Host-billpay_session";
/// Its name on plain-HTTP loopback (`./dev run`), where a Secure cookie may not be set.
pub const LOCAL_COOKIE: &str = "billpay_session";

/// How long sessions and codes live, and which other origins may send requests with a session.
#[derive(Debug, Clone)]
pub struct Policy {
    /// A session unused this long is over.
    pub idle: Duration,
    /// A session is over this long after sign-in, however busy.
    pub absolute: Duration,
    /// The same two for staff, whose sessions can change far more: shorter.
    pub staff_idle: Duration,
    pub staff_absolute: Duration,
    /// How long an e-mailed code stays good.
    pub code_ttl: Duration,
    /// Origins, besides the server's own, whose pages may use a session (the frontends' origins
    /// when they are served from elsewhere).
    pub trusted_origins: Vec<String>,
    /// `serve --demo` only: anyone may sign in as a demo customer with one click.
    pub demo_sign_in: bool,
    /// How many proxies in front of BillPay append to `X-Forwarded-For` (an ALB: 1). The client's
    /// address is the entry that many places from the right; with 0 it is the connection's peer,
    /// and the header is ignored, since a client can write anything in it.
    pub trusted_proxy_hops: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 60 * 60),
            staff_idle: Duration::from_secs(15 * 60),
            staff_absolute: Duration::from_secs(8 * 60 * 60),
            code_ttl: Duration::from_secs(10 * 60),
            trusted_origins: Vec::new(),
            demo_sign_in: false,
            trusted_proxy_hops: 0,
        }
    }
}

/// The address a request comes from, as far as BillPay can trust it (see
/// [`Policy::trusted_proxy_hops`]); `None` when it cannot tell.
pub struct ClientAddr(pub Option<IpAddr>);

/// The client's address: the `hops`-th `X-Forwarded-For` entry from the right when proxies are
/// trusted, else the peer.
pub fn client_addr(headers: &HeaderMap, peer: Option<IpAddr>, hops: usize) -> Option<IpAddr> {
    if hops == 0 {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    forwarded
        .len()
        .checked_sub(hops)
        .and_then(|i| forwarded.get(i))
        .and_then(|a| a.parse().ok())
        .or(peer)
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(ClientAddr(client_addr(
            &parts.headers,
            peer,
            state.sessions.trusted_proxy_hops,
        )))
    }
}

/// At most `max` events per address in any `window`, counted in this process. Several servers
/// each count their own, so the limit across N servers behind a balancer is up to N times this.
pub struct AddrLimit {
    max: usize,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl AddrLimit {
    pub fn new(max: usize, window: Duration) -> Self {
        AddrLimit {
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event from `addr`; `Err(seconds)` to wait when it is over the limit (and then it
    /// does not count). An unknown address is not limited here: the per-account limits still hold.
    pub fn hit(&self, addr: Option<IpAddr>) -> Result<(), u64> {
        let (Some(addr), Ok(mut seen)) = (addr, self.seen.lock()) else {
            return Ok(());
        };
        let now = Instant::now();
        if seen.len() > 100_000 {
            seen.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        let q = seen.entry(addr).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            q.pop_front();
        }
        if q.len() >= self.max {
            let oldest = q.front().copied().unwrap_or(now);
            return Err((self.window.saturating_sub(now.duration_since(oldest)))
                .as_secs()
                .max(1));
        }
        q.push_back(now);
        Ok(())
    }
}

/// The per-address limits on signing in: code requests, and code attempts.
pub struct SignInLimits {
    pub codes: AddrLimit,
    pub attempts: AddrLimit,
}

impl Default for SignInLimits {
    /// 30 code requests and 60 attempts per address per quarter hour: room for a household or an
    /// office behind one address, not for guessing.
    fn default() -> Self {
        SignInLimits {
            codes: AddrLimit::new(30, Duration::from_secs(15 * 60)),
            attempts: AddrLimit::new(60, Duration::from_secs(15 * 60)),
        }
    }
}

/// How long a looked-up session is trusted without asking the database again: also the longest
/// a session ended on another server keeps working here (on this one, ending it is immediate).
/// Idle time is measured from the last lookup, so it is this much coarser.
const CACHE_TTL: Duration = Duration::from_secs(5);
const CACHE_MAX: usize = 50_000;

/// Sessions looked up recently, by token hash, so that a busy session costs one query per few
/// seconds per server rather than one per request.
#[derive(Default)]
pub struct SessionCache(Mutex<HashMap<String, (Principal, Instant)>>);

impl SessionCache {
    fn get(&self, hash: &str, now: &str) -> Option<Principal> {
        let map = self.0.lock().ok()?;
        map.get(hash)
            .filter(|(p, at)| at.elapsed() < CACHE_TTL && p.0.expires_at.as_deref().is_some_and(|e| e > now))
            .map(|(p, _)| p.clone())
    }

    fn put(&self, hash: String, p: Principal) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= CACHE_MAX {
                map.retain(|_, (_, at)| at.elapsed() < CACHE_TTL);
            }
            map.insert(hash, (p, Instant::now()));
        }
    }

    /// Drops the sessions of `id`: a session's id, or its customer's or staff member's, so that
    /// ending them takes effect here at once.
    pub fn forget(&self, id: &str) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|_, (p, _)| {
                p.key_id() != id && p.customer() != Some(id) && p.staff().is_none_or(|s| s.id != id)
            });
        }
    }
}

/// A new session token: 32 random bytes, hex.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn is_loopback(host: &str) -> bool {
    let name = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    matches!(name, "localhost" | "127.0.0.1" | "[::1]")
}

/// Whether the request came over plain HTTP to this machine's loopback, where the cookie cannot
/// be `Secure`. Behind a proxy, `X-Forwarded-Proto: https` says otherwise.
pub(crate) fn plain_local(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    is_loopback(host) && !https
}

/// The `Set-Cookie` value that gives the browser `token` for `max_age`.
pub fn set_cookie(headers: &HeaderMap, token: &str, max_age: Duration) -> HeaderValue {
    let (name, secure) = if plain_local(headers) {
        (LOCAL_COOKIE, "")
    } else {
        (SECURE_COOKIE, " Secure;")
    };
    let v = format!(
        "{name}={token}; Path=/;{secure} HttpOnly; SameSite=Lax; Max-Age={}",
        max_age.as_secs()
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(headers: &HeaderMap) -> HeaderValue {
    set_cookie(headers, "", Duration::ZERO)
}

/// The value of the first cookie the request carries under one of `names`.
pub(crate) fn cookie(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| names.contains(name))
        .map(|(_, v)| v.trim().to_owned())
}

/// The session token the request's cookies carry, if any.
pub fn token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, &[SECURE_COOKIE, LOCAL_COOKIE])
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Refuses a request that would change something with a session unless it comes from BillPay's
/// own pages: its `Origin` is this server's or a trusted one; without an `Origin`, the browser's
/// `Sec-Fetch-Site` says same-origin. A client that sends neither is not a browser and should
/// use an API key.
pub fn check_origin(method: &Method, headers: &HeaderMap, trusted: &[String]) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let refuse = |why: &str| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_refused",
            format!("a request that changes something with a session must come from BillPay's own pages: {why}"),
        )
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    match headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or_default()) {
        Some(origin) => {
            let authority = origin.split_once("://").map_or("", |(_, a)| a);
            if (!host.is_empty() && authority == host) || trusted.iter().any(|t| t == origin) {
                Ok(())
            } else {
                Err(refuse(&format!("Origin {origin:?} is not this site")))
            }
        }
        None => match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some("same-origin") => Ok(()),
            Some(site) => Err(refuse(&format!("Sec-Fetch-Site is {site:?}"))),
            None => Err(refuse("the request has no Origin")),
        },
    }
}

/// The principal of a request that carries a session cookie: the session's customer or staff
/// member, checked for expiry and idleness, and the request checked for its origin. A staff
/// member removed since signing in has no session any more.
pub async fn principal(parts: &Parts, state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let policy = &state.sessions;
    let now = billpay_core::time::now();
    let ago =
        |d: Duration| billpay_core::time::from_now(-time::Duration::try_from(d).unwrap_or(time::Duration::MINUTE));
    let ended = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "the session has ended (signed out, idle too long, or too old); sign in again",
        )
    };
    let hash = hash_secret(token);
    if let Some(p) = state.session_cache.get(&hash, &now) {
        check_origin(&parts.method, &parts.headers, &policy.trusted_origins)?;
        return Ok(p);
    }
    let session = state
        .store
        .live_session(
            &hash,
            &now,
            &ago(policy.idle),
            &ago(policy.staff_idle),
            &ago(Duration::from_secs(60)),
        )
        .await?
        .ok_or_else(ended)?;
    check_origin(&parts.method, &parts.headers, &policy.trusted_origins)?;
    let staff = match &session.staff_id {
        Some(id) => match state.store.staff_member(id).await {
            Ok(m) => Some(m),
            Err(billpay_store::StoreError::NotFound(_)) => return Err(ended()),
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let (role, biller_id) = match &staff {
        Some(m) => (m.role, m.biller_id.clone()),
        None => (Role::Customer, None),
    };
    let p = Principal(
        ApiKeyRecord {
            id: session.id,
            role,
            biller_id,
            customer_id: session.customer_id,
            scope: Scope::ReadWrite,
            expires_at: Some(session.expires_at),
        },
        staff,
    );
    state.session_cache.put(hash, p.clone());
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                *k,
                HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static("")),
            );
        }
        h
    }

    #[test]
    fn the_cookie_is_secure_except_on_plain_http_loopback() {
        let d = Duration::from_secs(60);
        let local = set_cookie(&headers(&[("host", "127.0.0.1:8080")]), "t", d);
        assert!(
            local
                .to_str()
                .unwrap_or_default()
                .starts_with("billpay_session=t; Path=/; HttpOnly")
        );
        let real = set_cookie(&headers(&[("host", "pay.example.com")]), "t", d);
        let real = real.to_str().unwrap_or_default();
        assert!(
            real.starts_with("__Host-billpay_session=t; Path=/; Secure; HttpOnly; SameSite=Lax"),
            "{real}"
        );
        let proxied = set_cookie(
            &headers(&[("host", "localhost:8080"), ("x-forwarded-proto", "https")]),
            "t",
            d,
        );
        assert!(proxied.to_str().unwrap_or_default().contains("Secure"));
    }

    #[test]
    fn only_same_site_pages_change_things_with_a_session() {
        let post = Method::POST;
        let own = headers(&[("host", "pay.example.com"), ("origin", "https://pay.example.com")]);
        assert!(check_origin(&post, &own, &[]).is_ok());
        let evil = headers(&[("host", "pay.example.com"), ("origin", "https://evil.example")]);
        assert_eq!(
            check_origin(&post, &evil, &[]).map_err(|e| e.code),
            Err("csrf_refused".to_owned())
        );
        assert!(check_origin(&post, &evil, &["https://evil.example".to_owned()]).is_ok());
        let fetch = headers(&[("host", "pay.example.com"), ("sec-fetch-site", "same-origin")]);
        assert!(check_origin(&post, &fetch, &[]).is_ok());
        let cross = headers(&[("host", "pay.example.com"), ("sec-fetch-site", "cross-site")]);
        assert!(check_origin(&post, &cross, &[]).is_err());
        assert!(check_origin(&post, &headers(&[("host", "pay.example.com")]), &[]).is_err());
        assert!(check_origin(&Method::GET, &evil, &[]).is_ok());
    }

    #[test]
    fn the_client_address_is_trusted_only_as_far_as_the_proxies() {
        let peer: Option<IpAddr> = "10.0.0.9".parse().ok();
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]);
        assert_eq!(
            client_addr(&h, peer, 0),
            peer,
            "the header is ignored without trusted proxies"
        );
        assert_eq!(
            client_addr(&h, peer, 1),
            "203.0.113.7".parse().ok(),
            "the entry the ALB appended"
        );
        assert_eq!(client_addr(&h, peer, 2), "6.6.6.6".parse().ok());
        assert_eq!(client_addr(&h, peer, 3), peer, "fewer entries than hops: the peer");
    }

    #[test]
    fn an_address_over_its_limit_waits_and_others_do_not() {
        let limit = AddrLimit::new(2, Duration::from_secs(60));
        let (a, b) = ("192.0.2.1".parse().ok(), "192.0.2.2".parse().ok());
        assert!(limit.hit(a).is_ok() && limit.hit(a).is_ok());
        let wait = limit.hit(a).expect_err("over the limit");
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(limit.hit(b).is_ok());
        assert!(limit.hit(None).is_ok());
    }

    #[test]
    fn only_well_formed_tokens_are_read() {
        let t = new_token();
        assert_eq!(
            token(&headers(&[("cookie", &format!("a=b; billpay_session={t}"))])),
            Some(t.clone())
        );
        assert_eq!(
            token(&headers(&[("cookie", &format!("__Host-billpay_session={t}"))])),
            Some(t)
        );
        assert_eq!(token(&headers(&[("cookie", "billpay_session=short")])), None);
    }
}
