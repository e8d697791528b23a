//! The v1 resources.

pub mod apikeys;
pub mod auth;
pub mod billers;
pub mod bills;
pub mod complaints;
pub mod customers;
pub mod dashboard;
pub mod fetch;
pub mod flags;
pub mod ledger;
pub mod passkeys;
pub mod payments;
pub mod scheduled;
pub mod settlement;
pub mod staff;
pub mod webhooks;

use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;

use billpay_store::Page;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::encode_cursor;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(apikeys::router())
        .merge(auth::router())
        .merge(billers::router())
        .merge(fetch::router())
        .merge(passkeys::router())
        .merge(crate::oidc::router())
        .merge(staff::router())
        .merge(bills::router())
        .merge(customers::router())
        .merge(payments::router())
        .merge(ledger::router())
        .merge(flags::router())
        .merge(dashboard::router())
        .merge(scheduled::router())
        .merge(webhooks::router())
        .merge(settlement::router())
        .merge(complaints::router())
}

/// A page of results, newest first. Pass `next_cursor` as `cursor` to get the next page.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    pub data: Vec<T>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> From<Page<T>> for List<T> {
    fn from(p: Page<T>) -> Self {
        List {
            has_more: p.next_after.is_some(),
            next_cursor: p.next_after.as_deref().map(encode_cursor),
            data: p.items,
        }
    }
}

/// Refuses a `status` filter that is not one of `allowed`, naming them.
pub(crate) fn check_status(status: Option<&str>, allowed: &[&str]) -> Result<(), ApiError> {
    match status {
        Some(s) if !allowed.contains(&s) => Err(ApiError::bad_request(
            "invalid_query",
            format!("status {s:?} is not one of {}", allowed.join(", ")),
        )),
        _ => Ok(()),
    }
}
