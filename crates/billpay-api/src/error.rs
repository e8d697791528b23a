//! RFC 9457 problem documents. Every error BillPay returns has a stable `code`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use billpay_core::Rejection;
use billpay_store::StoreError;

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

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub detail: String,
    pub errors: Option<Vec<ItemError>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            detail: detail.into(),
            errors: None,
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
        self.status.is_client_error()
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
        if self.status.is_server_error() {
            tracing::error!(code = %self.code, detail = %self.detail, "request failed");
        }
        let mut resp = problem_response(self.status, self.body());
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
            StoreError::Conflict(msg) => ApiError::new(StatusCode::CONFLICT, "conflict", msg),
            StoreError::Contention => ApiError::new(
                StatusCode::CONFLICT,
                "bill_busy",
                "other payments to this bill kept changing it; retry with the same Idempotency-Key",
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
            StoreError::IdempotencyRace => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_request_in_flight",
                "another request with this Idempotency-Key is in flight; retry later",
            ),
            StoreError::Db(e) => match e {
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                    tracing::warn!(error = %e, "database unavailable");
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "database_unavailable",
                        "the database is unavailable; retry shortly",
                    )
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
