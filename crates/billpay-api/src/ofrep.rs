//! OFREP, the OpenFeature Remote Evaluation Protocol: `POST /ofrep/v1/evaluate/flags/{key}` and
//! `POST /ofrep/v1/evaluate/flags`, for any OpenFeature OFREP provider.
//!
//! Callers authenticate with a read-only client key (`Authorization: Bearer bpf_…` or
//! `X-API-Key`), which names the one flag set it reads. Compiled flag sets are cached per process:
//! a change made through this process is seen at once, a change made through another within
//! [`RECHECK`]. The bulk answer carries an ETag built from the set's version and a hash of the
//! context, and `If-None-Match` with it gets 304.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use billpay_flags::{ErrorCode, Evaluation, FlagSet};
use billpay_store::{Store, StoreError, hash_secret};

use crate::AppState;

/// How long a cached flag set is trusted before its version is checked again.
pub const RECHECK: Duration = Duration::from_secs(1);
const KEY_TTL: Duration = Duration::from_secs(60);
/// The largest evaluation context accepted.
const MAX_CONTEXT: usize = 32 * 1024;

pub struct CompiledSet {
    pub version: i64,
    pub flags: FlagSet,
}

struct Entry {
    set: Arc<CompiledSet>,
    checked: Instant,
}

/// Compiled flag sets and verified client keys.
#[derive(Default)]
pub struct FlagCache {
    sets: Mutex<HashMap<String, Entry>>,
    keys: Mutex<HashMap<String, (String, Instant)>>,
}

impl FlagCache {
    /// The compiled set, from cache while fresh.
    pub async fn get(&self, store: &Store, set_id: &str) -> Result<Arc<CompiledSet>, StoreError> {
        let cached = self.sets.lock().ok().and_then(|m| {
            m.get(set_id)
                .map(|e| (Arc::clone(&e.set), e.checked.elapsed() < RECHECK))
        });
        if let Some((set, true)) = &cached {
            return Ok(Arc::clone(set));
        }
        if let Some((set, false)) = cached {
            let version = store.flag_set_version_number(set_id).await?;
            if version == set.version {
                if let Ok(mut m) = self.sets.lock()
                    && let Some(e) = m.get_mut(set_id)
                {
                    e.checked = Instant::now();
                }
                return Ok(set);
            }
        }
        let record = store.flag_set(set_id).await?;
        let flags = FlagSet::compile(&record.definition).map_err(StoreError::Fault)?;
        let set = Arc::new(CompiledSet {
            version: record.version,
            flags,
        });
        if let Ok(mut m) = self.sets.lock() {
            m.insert(
                set_id.to_owned(),
                Entry {
                    set: Arc::clone(&set),
                    checked: Instant::now(),
                },
            );
        }
        Ok(set)
    }

    /// Forgets a set after this process changed it.
    pub fn invalidate(&self, set_id: &str) {
        if let Ok(mut m) = self.sets.lock() {
            m.remove(set_id);
        }
    }

    async fn client_key(&self, store: &Store, secret: &str) -> Result<Option<String>, StoreError> {
        let hash = hash_secret(secret);
        if let Some(set) = self.keys.lock().ok().and_then(|m| {
            m.get(&hash)
                .filter(|(_, at)| at.elapsed() < KEY_TTL)
                .map(|(s, _)| s.clone())
        }) {
            return Ok(Some(set));
        }
        let found = store.flag_client_key_by_hash(&hash).await?;
        if let (Some((_, set)), Ok(mut m)) = (&found, self.keys.lock()) {
            if m.len() > 10_000 {
                m.retain(|_, (_, at)| at.elapsed() < KEY_TTL);
            }
            m.insert(hash, (set.clone(), Instant::now()));
        }
        Ok(found.map(|(_, set)| set))
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ofrep/v1/evaluate/flags/{key}", post(evaluate_one))
        .route("/ofrep/v1/evaluate/flags", post(evaluate_all))
}

fn reply(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body.to_string(),
    )
        .into_response()
}

/// The flag set the caller's client key reads, or the OFREP error response.
async fn authorize(state: &AppState, headers: &HeaderMap) -> Result<Arc<CompiledSet>, Response> {
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 200);
    let Some(secret) = secret else {
        return Err(reply(
            StatusCode::UNAUTHORIZED,
            &json!({"errorDetails": "send a flag client key as `Authorization: Bearer <key>` or `X-API-Key`"}),
        ));
    };
    let set_id = match state.flags.client_key(&state.store, secret).await {
        Ok(Some(set)) => set,
        Ok(None) => {
            return Err(reply(
                StatusCode::UNAUTHORIZED,
                &json!({"errorDetails": "the key is not a flag client key"}),
            ));
        }
        Err(e) => return Err(server_error(&e)),
    };
    state
        .flags
        .get(&state.store, &set_id)
        .await
        .map_err(|e| server_error(&e))
}

fn server_error(e: &StoreError) -> Response {
    tracing::error!(error = %e, "flag evaluation failed");
    reply(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({"errorDetails": "the flags could not be read; try again"}),
    )
}

/// The `context` of an OFREP request body. An empty body is an empty context.
fn context(body: &[u8]) -> Result<Map<String, Value>, (ErrorCode, String)> {
    if body.len() > MAX_CONTEXT {
        return Err((
            ErrorCode::InvalidContext,
            format!("the request body exceeds {MAX_CONTEXT} bytes"),
        ));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| (ErrorCode::ParseError, format!("the body is not JSON: {e}")))?;
    match doc {
        Value::Object(mut m) => match m.remove("context") {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(ctx)) => {
                if let Some(k) = ctx.get("targetingKey")
                    && !k.is_string()
                {
                    return Err((
                        ErrorCode::InvalidContext,
                        "`context.targetingKey` must be a string".into(),
                    ));
                }
                Ok(ctx)
            }
            Some(_) => Err((ErrorCode::InvalidContext, "`context` must be a JSON object".into())),
        },
        _ => Err((ErrorCode::ParseError, "the body must be a JSON object".into())),
    }
}

fn success(e: &Evaluation<'_>) -> Value {
    let mut out = Map::new();
    out.insert("key".into(), json!(e.key));
    out.insert("reason".into(), json!(e.reason.as_str()));
    if let Some(v) = e.value {
        out.insert("value".into(), v.clone());
    }
    // Always present: OpenFeature's Python OFREP provider reads `variant` unconditionally. With
    // no value (a disabled flag, no default variant) it is empty, as flagd sends it.
    out.insert("variant".into(), json!(e.variant.unwrap_or("")));
    out.insert("metadata".into(), Value::Object(e.metadata.clone()));
    Value::Object(out)
}

fn failure(e: &Evaluation<'_>, code: ErrorCode, detail: &str) -> Value {
    json!({"key": e.key, "errorCode": code.as_str(), "errorDetails": detail, "metadata": e.metadata})
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn count(e: &Evaluation<'_>) {
    metrics::counter!("billpay_flag_evaluations_total", "reason" => e.reason.as_str()).increment(1);
}

async fn evaluate_one(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let set = match authorize(&state, &headers).await {
        Ok(set) => set,
        Err(r) => return r,
    };
    let ctx = match context(&body) {
        Ok(ctx) => ctx,
        Err((code, detail)) => {
            return reply(
                StatusCode::BAD_REQUEST,
                &json!({"key": key, "errorCode": code.as_str(), "errorDetails": detail}),
            );
        }
    };
    let e = set.flags.evaluate(&key, &ctx, now());
    count(&e);
    match &e.error {
        None => reply(StatusCode::OK, &success(&e)),
        Some((ErrorCode::FlagNotFound, detail)) => {
            reply(StatusCode::NOT_FOUND, &failure(&e, ErrorCode::FlagNotFound, detail))
        }
        Some((code, detail)) => reply(StatusCode::BAD_REQUEST, &failure(&e, *code, detail)),
    }
}

/// The ETag of a bulk answer: the set's version and a digest of the context.
fn etag(set: &CompiledSet, body_context: &Map<String, Value>) -> String {
    let digest = Sha256::digest(Value::Object(body_context.clone()).to_string().as_bytes());
    format!("\"v{}-{}\"", set.version, hex::encode(&digest[..8]))
}

async fn evaluate_all(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let set = match authorize(&state, &headers).await {
        Ok(set) => set,
        Err(r) => return r,
    };
    let ctx = match context(&body) {
        Ok(ctx) => ctx,
        Err((code, detail)) => {
            return reply(
                StatusCode::BAD_REQUEST,
                &json!({"errorCode": code.as_str(), "errorDetails": detail}),
            );
        }
    };
    let tag = etag(&set, &ctx);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let tag_header = HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"\""));
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag_header)]).into_response();
    }
    let now = now();
    let mut data = Value::Object(ctx);
    let flags: Vec<Value> = set
        .flags
        .keys()
        .map(|key| {
            let e = set.flags.evaluate_in(key, &mut data, now);
            count(&e);
            match &e.error {
                None => success(&e),
                Some((code, detail)) => failure(&e, *code, detail),
            }
        })
        .collect();
    let mut response = reply(StatusCode::OK, &json!({ "flags": flags }));
    response.headers_mut().insert(header::ETAG, tag_header);
    response
}
