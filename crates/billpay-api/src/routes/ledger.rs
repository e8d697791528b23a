//! `/v1/ledger`: the admin's read-only view of accounts, balances, journals and entries.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::Deserialize;
use utoipa::IntoParams;

use billpay_core::id::{self, Kind};
use billpay_store::{Account, Journal};

use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{ApiQuery, decode_cursor, page_limit, path_id};
use crate::routes::List;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/ledger/accounts", get(list_accounts))
        .route("/v1/ledger/accounts/{account_id}", get(get_account))
        .route("/v1/ledger/journals", get(list_journals))
        .route("/v1/ledger/journals/{journal_id}", get(get_journal))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// customer_wallet, biller_payable, platform_revenue or funding_source.
    pub kind: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JournalQuery {
    /// Only journals with an entry on this account.
    pub account_id: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Accounts with their balances, ordered by id.
#[utoipa::path(get, path = "/v1/ledger/accounts", tag = "ledger", params(AccountQuery),
    responses((status = 200, body = List<Account>)), security(("bearer" = [])))]
pub async fn list_accounts(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> Result<axum::Json<List<Account>>, ApiError> {
    who.require_admin()?;
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::Account)?;
    Ok(axum::Json(
        state
            .store
            .list_accounts(q.kind.as_deref(), after.as_deref(), limit)
            .await?
            .into(),
    ))
}

/// One account and its balance.
#[utoipa::path(get, path = "/v1/ledger/accounts/{account_id}", tag = "ledger", params(("account_id" = String, Path)),
    responses((status = 200, body = Account)), security(("bearer" = [])))]
pub async fn get_account(
    State(state): State<AppState>,
    who: Principal,
    Path(account_id): Path<String>,
) -> Result<axum::Json<Account>, ApiError> {
    who.require_admin()?;
    path_id(Kind::Account, &account_id)?;
    Ok(axum::Json(state.store.get_account(&account_id).await?))
}

/// Journals with their entries, newest first.
#[utoipa::path(get, path = "/v1/ledger/journals", tag = "ledger", params(JournalQuery),
    responses((status = 200, body = List<Journal>)), security(("bearer" = [])))]
pub async fn list_journals(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<JournalQuery>,
) -> Result<axum::Json<List<Journal>>, ApiError> {
    who.require_admin()?;
    let limit = page_limit(q.limit)?;
    let after = decode_cursor(q.cursor.as_deref(), Kind::Journal)?;
    if let Some(a) = &q.account_id
        && !id::is_valid(Kind::Account, a)
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("account_id {a:?} is not an account id"),
        ));
    }
    Ok(axum::Json(
        state
            .store
            .list_journals(q.account_id.as_deref(), after.as_deref(), limit)
            .await?
            .into(),
    ))
}

/// One journal with its entries.
#[utoipa::path(get, path = "/v1/ledger/journals/{journal_id}", tag = "ledger", params(("journal_id" = String, Path)),
    responses((status = 200, body = Journal)), security(("bearer" = [])))]
pub async fn get_journal(
    State(state): State<AppState>,
    who: Principal,
    Path(journal_id): Path<String>,
) -> Result<axum::Json<Journal>, ApiError> {
    who.require_admin()?;
    path_id(Kind::Journal, &journal_id)?;
    Ok(axum::Json(state.store.get_journal(&journal_id).await?))
}
