//! Stripe's idempotency semantics on top of the store's same-transaction records:
//! - the same key and body replays the first status and body, byte for byte;
//! - the same key with another body is `422 idempotency_key_reused`;
//! - the same key while the first request is still running is `409 idempotency_request_in_flight`.

use std::collections::HashSet;
use std::sync::Mutex;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use billpay_store::{IdemKey, Replay, StoreError, StoredResponse};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, problem_response};

/// Keys whose first request is still running in this process.
#[derive(Default)]
pub struct InFlight(Mutex<HashSet<(String, String)>>);

struct InFlightGuard<'a> {
    set: &'a InFlight,
    entry: (String, String),
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.set.0.lock() {
            s.remove(&self.entry);
        }
    }
}

fn replay_response(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = if status.is_success() {
        let mut r = (status, stored.body).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    } else {
        problem_response(status, stored.body)
    };
    resp.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}

fn json_response(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this Idempotency-Key was already used with a different request; use a new key for a new request",
    )
}

type Render<T> = Box<dyn Fn(&T) -> (u16, String) + Send + Sync>;

/// A request cleared to run. Holds the in-flight mark until it is finished or dropped.
pub struct Ctx<'a, T> {
    state: &'a AppState,
    idem: Option<IdemKey>,
    status: StatusCode,
    render: Render<T>,
    _guard: Option<InFlightGuard<'a>>,
}

/// Marks a request's idempotency key as in flight before it runs.
pub async fn begin<'a, T: Serialize + 'static>(
    state: &'a AppState,
    who: &Principal,
    key: Option<String>,
    fingerprint: (&str, &[u8]),
    status: StatusCode,
) -> Result<Ctx<'a, T>, ApiError> {
    let render: Render<T> = Box::new(move |t: &T| (status.as_u16(), serde_json::to_string(t).unwrap_or_default()));
    let Some(key) = key else {
        return Ok(Ctx {
            state,
            idem: None,
            status,
            render,
            _guard: None,
        });
    };
    let entry = (who.key_id().to_owned(), key.clone());
    let inserted = state
        .inflight
        .0
        .lock()
        .map(|mut s| s.insert(entry.clone()))
        .unwrap_or(false);
    if !inserted {
        return Err(ApiError::transient(
            StatusCode::CONFLICT,
            "idempotency_request_in_flight",
            "a request with this Idempotency-Key is still in flight; retry after it finishes",
        ));
    }
    let guard = InFlightGuard {
        set: &state.inflight,
        entry,
    };

    let mut h = Sha256::new();
    h.update(fingerprint.0.as_bytes());
    h.update(b"\n");
    h.update(fingerprint.1);
    let idem = IdemKey {
        api_key_id: who.key_id().to_owned(),
        key,
        request_hash: hex::encode(h.finalize()),
    };

    // No look-up here: the effect's transaction inserts the key's record, so a used key shows up
    // as a unique violation (or as a refusal) and is looked up only then. A new key, the common
    // case, costs no extra round trip.
    Ok(Ctx {
        state,
        idem: Some(idem),
        status,
        render,
        _guard: Some(guard),
    })
}

impl<T> Ctx<'_, T> {
    /// What the store needs to write the idempotency record in the effect's transaction.
    pub fn replay(&self) -> Replay<'_, T> {
        self.idem
            .as_ref()
            .map(|k| (k, &*self.render as &(dyn Fn(&T) -> (u16, String) + Sync)))
    }

    /// Turns the operation's result into the response, recording refusals for replay.
    pub async fn finish(self, result: Result<T, StoreError>) -> Result<Response, ApiError> {
        let Some(idem) = &self.idem else {
            let value = result?;
            return Ok(json_response(self.status, (self.render)(&value).1));
        };
        match result {
            Ok(value) => Ok(json_response(self.status, (self.render)(&value).1)),
            Err(StoreError::IdempotencyRace) => {
                match self.state.store.idempotency_get(&idem.api_key_id, &idem.key).await? {
                    Some(stored) if stored.request_hash == idem.request_hash => Ok(replay_response(stored)),
                    Some(_) => Err(reused()),
                    None => Err(StoreError::IdempotencyRace.into()),
                }
            }
            Err(e) => {
                let err = ApiError::from(e);
                if !err.is_decision() {
                    return Err(err);
                }
                // Refused: either the key was used before (answer as then), or this refusal is
                // the key's first answer and is kept for its retries.
                match self.state.store.idempotency_get(&idem.api_key_id, &idem.key).await? {
                    Some(stored) if stored.request_hash == idem.request_hash => Ok(replay_response(stored)),
                    Some(_) => Err(reused()),
                    None => {
                        self.state
                            .store
                            .idempotency_put(idem, err.status.as_u16(), &err.body())
                            .await?;
                        Err(err)
                    }
                }
            }
        }
    }
}

/// Runs `$call` at most once per (API key, idempotency key); `$r` is the replay handle to pass
/// to the store so that the record is written in the effect's transaction.
#[macro_export]
macro_rules! idempotent {
    ($state:expr, $who:expr, $key:expr, $fingerprint:expr, $status:expr, |$r:ident| $call:expr) => {{
        let ctx = $crate::idem::begin(&$state, &$who, $key, $fingerprint, $status).await?;
        let $r = ctx.replay();
        let result = $call;
        ctx.finish(result).await
    }};
}
