//! RFC 9457 problem documents. Every error BillPay returns has a stable `code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use billpay_core::Rejection;
use billpay_store::{SignInRefusal, StoreError};

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:billpay:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, for a person.
    pub detail: String,
    /// Stable, machine-readable code, such as `insufficient_funds`.
    pub code: String,
    /// Per-item errors, for example the bad rows of a bulk upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ItemError>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ItemError {
    /// Where the problem is: a JSON pointer, or `row N` of a CSV file (1 is the first data row).
    pub location: String,
    pub code: String,
    pub detail: String,
}

/// What an error means for the request, and so for its Idempotency-Key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// The request was decided and refused (a rule, a missing thing, bad input): the same
    /// request always gets the same answer, so it is kept as the key's answer, as Stripe does.
    Refused,
    /// The request could not be decided now (contention, a request in flight, the database
    /// away): nothing happened, nothing is kept, and a retry with the same key may succeed.
    /// Answered with `Retry-After`.
    Transient,
    /// BillPay broke its own invariant: a 500, logged, and never kept.
    Fault,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub detail: String,
    pub errors: Option<Vec<ItemError>>,
    pub meaning: Meaning,
    /// Seconds for `Retry-After`; transient answers without one say 1.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// A refusal (4xx) or a fault (5xx).
    pub fn new(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            detail: detail.into(),
            errors: None,
            retry_after: None,
            meaning: if status.is_server_error() {
                Meaning::Fault
            } else {
                Meaning::Refused
            },
        }
    }
    /// A request that could not be decided now; retrying it, with the same key, may succeed.
    pub fn transient(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        ApiError {
            meaning: Meaning::Transient,
            ..Self::new(status, code, detail)
        }
    }
    pub fn bad_request(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", detail)
    }
    pub fn not_found(noun: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("{}_not_found", noun.replace(' ', "_").to_ascii_lowercase()),
            format!("{noun} not found"),
        )
    }
    /// A fault of BillPay's own. The detail stays in the log, with the request's id; the client
    /// gets none of it.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(invariant = %detail, "internal invariant broken");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred; nothing was changed",
        )
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:billpay:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.clone(),
            errors: self.errors.clone(),
        }
    }

    /// Whether the operation ran and decided (a business rule refused it, or the thing it named
    /// does not exist), so that the answer belongs in the idempotency record.
    pub fn is_decision(&self) -> bool {
        self.meaning == Meaning::Refused
    }

    pub fn body(&self) -> String {
        serde_json::to_string(&self.problem()).unwrap_or_default()
    }
}

pub fn problem_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() && self.meaning == Meaning::Fault {
            tracing::error!(code = %self.code, detail = %self.detail, "request failed");
        }
        let mut resp = problem_response(self.status, self.body());
        match self.retry_after {
            Some(secs) => {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            None if self.meaning == Meaning::Transient => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            None => {}
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"billpay\""),
            );
        }
        resp
    }
}

impl From<Rejection> for ApiError {
    fn from(r: Rejection) -> Self {
        let status = if r.is_conflict() {
            StatusCode::CONFLICT
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        ApiError::new(status, r.code(), r.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(kind) => ApiError::not_found(kind.noun()),
            StoreError::Rejected(r) => r.into(),
            StoreError::Invalid(msg) => ApiError::invalid(msg),
            StoreError::Fault(msg) => ApiError::internal(msg),
            StoreError::Conflict(msg) => ApiError::new(StatusCode::CONFLICT, "conflict", msg),
            StoreError::SignIn(r) => {
                let detail = r.to_string();
                match r {
                    SignInRefusal::CodeInvalid => ApiError::new(StatusCode::UNAUTHORIZED, "code_invalid", detail),
                    SignInRefusal::CodeExpired => ApiError::new(StatusCode::UNAUTHORIZED, "code_expired", detail),
                    SignInRefusal::TooManyAttempts => {
                        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", detail)
                    }
                    SignInRefusal::TooManyCodes { retry_after } => ApiError {
                        retry_after: Some(retry_after),
                        ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_codes", detail)
                    },
                }
            }
            StoreError::Contention => ApiError::transient(
                StatusCode::CONFLICT,
                "bill_busy",
                "other payments to this bill kept changing it; nothing was charged: retry with the same Idempotency-Key",
            ),
            StoreError::RowsRejected(rows) => crate::routes::bills::rows_error(
                rows.into_iter()
                    .map(|(i, r)| ItemError {
                        location: format!("row {}", i + 1),
                        code: r.code().into(),
                        detail: r.to_string(),
                    })
                    .collect(),
            ),
            StoreError::IdempotencyRace => ApiError::transient(
                StatusCode::CONFLICT,
                "idempotency_request_in_flight",
                "another request with this Idempotency-Key is in flight; retry later",
            ),
            StoreError::Db(e) => match e {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => database_unavailable(&e),
                // Connection exceptions (08…) and the server shutting down or starting up
                // (57P01–57P03): a failover in progress.
                sqlx::Error::Database(ref d)
                    if d.code()
                        .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")) =>
                {
                    database_unavailable(&e)
                }
                e => {
                    tracing::error!(error = %e, "database error");
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal_error",
                        "an internal error occurred",
                    )
                }
            },
        }
    }
}

/// The database cannot be reached (or every connection stayed busy past the acquire timeout):
/// `503` with `Retry-After`, never kept as an idempotent answer.
fn database_unavailable(e: &sqlx::Error) -> ApiError {
    tracing::warn!(error = %e, "database unavailable");
    ApiError::transient(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "the database is unavailable or saturated; nothing was done: retry shortly",
    )
}
