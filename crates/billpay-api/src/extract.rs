//! Request extractors that turn every kind of bad input into a problem document that names it.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;

use billpay_core::id::{self, Kind};

use crate::error::ApiError;

/// The largest JSON body any endpoint takes.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// A JSON body, with the raw bytes it came from (for idempotency hashing). The body is parsed
/// when it arrives but its errors are reported by `value()`, so that a handler answers 401 and
/// 403 before it complains about the body of a request it would refuse anyway.
pub struct ApiJson<T> {
    parsed: Result<T, ApiError>,
    pub raw: Bytes,
}

impl<T> ApiJson<T> {
    pub fn value(&self) -> Result<&T, ApiError> {
        self.parsed.as_ref().map_err(Clone::clone)
    }
}

fn media_type(req_headers: &axum::http::HeaderMap) -> Option<String> {
    req_headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// Reads a body, mapping the size limit to 413.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S, max: usize) -> Result<Bytes, ApiError> {
    let bytes = Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(max)
        } else if let Some(late) = timed_out(&e) {
            ApiError::new(StatusCode::REQUEST_TIMEOUT, "body_timeout", late.to_string())
        } else {
            ApiError::bad_request("unreadable_body", e.body_text())
        }
    })?;
    if bytes.len() > max {
        return Err(too_large(max));
    }
    Ok(bytes)
}

/// The body deadline's error, wherever it sits in the chain of causes.
fn timed_out<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a crate::protect::BodyTimedOut> {
    let mut cause: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(t) = c.downcast_ref::<crate::protect::BodyTimedOut>() {
            return Some(t);
        }
        cause = c.source();
    }
    None
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body exceeds {max} bytes"),
    )
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match media_type(req.headers()) {
            Some(m) if m == "application/json" || m.ends_with("+json") => {}
            other => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!(
                        "send the body as application/json (got {})",
                        other.as_deref().unwrap_or("no Content-Type")
                    ),
                ));
            }
        }
        let raw = read_body(req, state, MAX_JSON_BODY).await?;
        // Every body BillPay takes is a JSON object; serde would also read a struct from an array.
        let parsed = match raw.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | None => parse_json(&raw),
            Some(_) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "the body must be a JSON object",
            )),
        };
        Ok(ApiJson { parsed, raw })
    }
}

/// Parses JSON, naming the path of the first bad field.
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(raw);
    let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => {
                ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {inner}"))
            }
            serde_json::error::Category::Data => {
                let at = if path == "." {
                    String::new()
                } else {
                    format!(" at {path}")
                };
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    format!("invalid field{at}: {inner}"),
                )
            }
        }
    })?;
    Ok(value)
}

/// Query parameters, with unknown or malformed ones answered by 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))
    }
}

/// The `Idempotency-Key` header, when sent.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = v.to_str().map_err(|_| bad_key())?;
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad_key());
        }
        Ok(IdempotencyKey(Some(key.to_owned())))
    }
}

fn bad_key() -> ApiError {
    ApiError::bad_request(
        "invalid_idempotency_key",
        "Idempotency-Key must be 1 to 255 visible ASCII characters",
    )
}

/// Pagination: `limit` (1 to 100, default 20) and an opaque `cursor` from a previous page.
pub fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(20),
        Some(l) if (1..=100).contains(&l) => Ok(l),
        Some(l) => Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and 100, got {l}"),
        )),
    }
}

pub fn encode_cursor(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_id)
}

/// Decodes a cursor, refusing anything this server did not hand out for this kind of list.
pub fn decode_cursor(cursor: Option<&str>, kind: Kind) -> Result<Option<String>, ApiError> {
    let Some(c) = cursor else { return Ok(None) };
    let bad = || {
        ApiError::bad_request(
            "invalid_cursor",
            format!("cursor {c:?} is not one this list handed out"),
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    if id::is_valid(kind, &s) {
        Ok(Some(s))
    } else {
        Err(bad())
    }
}

/// A path id of the right kind; anything else names nothing, so it is a 404.
pub fn path_id(kind: Kind, s: &str) -> Result<(), ApiError> {
    if id::is_valid(kind, s) {
        Ok(())
    } else {
        Err(ApiError::not_found(kind.noun()))
    }
}
