//! The audit log of admin and biller actions: every request that could change something
//! (POST, PUT, PATCH, DELETE) made with an admin or a biller key is recorded before it runs and
//! completed once it has been answered: who (the API key), what (the method and route), on what
//! (the created resource's id, or the path), when, the status, and the request id. A request
//! whose event cannot be written is refused (503) without running. Customers' own payments are in the
//! ledger, not here. Flag-set changes record richer events of their own, in their transaction.

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use billpay_store::Role;

use crate::AppState;
use crate::auth::{Principal, Refused};
use crate::error::ApiError;

/// The largest response whose body is read for the created resource's id.
const MAX_READ: usize = 1 << 20;

pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let changes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let path = req.uri().path().to_owned();
    if !changes || !path.starts_with("/v1/") || path.starts_with("/v1/flag-sets") {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    // The handler takes the outcome from here instead of authenticating the request again.
    let who = match Principal::from_request_parts(&mut parts, &state).await {
        Ok(p) => {
            parts.extensions.insert(p.clone());
            Some(p)
        }
        Err(e) => {
            parts.extensions.insert(Refused(e));
            None
        }
    };
    let Some(who) = who.filter(|w| matches!(w.role(), Role::Admin | Role::Biller)) else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_owned());
    let action = format!("{} {route}", parts.method);
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Written before the action runs, so an action that commits is never missing from the log:
    // if the server dies before the answer, the event stays with `status: null`.
    let started = json!({"status": null, "role": who.role().as_str()});
    let audit_id = match state
        .store
        .record_audit(who.actor(), &action, &path, &started, request_id.as_deref())
        .await
    {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, %action, "cannot write the audit log; refusing the action");
            return ApiError::transient(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "the audit log cannot be written right now, so nothing was done; retry shortly",
            )
            .into_response();
        }
    };
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.headers().contains_key("idempotent-replayed") {
        // A replay changes nothing: the first answer was recorded.
        if let Err(e) = state.store.withdraw_audit(&audit_id).await {
            tracing::warn!(error = %e, %audit_id, "cannot withdraw the audit event of a replay");
        }
        return response;
    }
    let status = response.status();
    let (response, subject) = if status.as_u16() == 201 {
        created_id(response).await
    } else {
        (response, None)
    };
    let subject = subject.unwrap_or(path);
    let detail = json!({"status": status.as_u16(), "role": who.role().as_str()});
    let complete = async move {
        if let Err(e) = state.store.complete_audit(&audit_id, &subject, &detail).await {
            tracing::error!(error = %e, %action, %subject, "cannot complete the audit event");
        }
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // Nothing was done, and the database is likely away: the answer does not wait another
        // acquire timeout for the event, which is completed in the background. If that fails
        // too, the event keeps `status: null`, as for a server that died before answering.
        tokio::spawn(complete);
    } else {
        complete.await;
    }
    response
}

/// The `id` of a created resource, read from the response body (which is put back).
async fn created_id(response: Response) -> (Response, Option<String>) {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_READ).await {
        Ok(bytes) => {
            let id = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned));
            (Response::from_parts(parts, Body::from(bytes)), id)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot read a created resource's answer for the audit log");
            (Response::from_parts(parts, Body::empty()), None)
        }
    }
}
