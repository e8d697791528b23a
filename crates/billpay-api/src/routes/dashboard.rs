//! `/v1/dashboard`: business figures for the flags admin app.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Deserialize;
use utoipa::IntoParams;

use billpay_store::Dashboard;

use crate::AppState;
use crate::auth::Principal;
use crate::demo::FLAG_SET;
use crate::error::ApiError;
use crate::extract::ApiQuery;

/// The flag whose variants the dashboard compares.
pub const EXPERIMENT_FLAG: &str = "frontend-variant";

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/dashboard", get(dashboard))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// How many days back, today included (1 to 366, default 14).
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<i64>,
    /// The flag set of the experiment (default `billpay-web`).
    pub flag_set: Option<String>,
}

/// Payments and volume per day, success rate, top billers, and the A/B experiment's conversion
/// from exposure to payment.
#[utoipa::path(get, path = "/v1/dashboard", tag = "flags", params(DashboardQuery),
    responses((status = 200, body = Dashboard)), security(("bearer" = [])))]
pub async fn dashboard(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<DashboardQuery>,
) -> Result<axum::Json<Dashboard>, ApiError> {
    who.require_admin()?;
    let days = q.days.unwrap_or(14);
    if !(1..=366).contains(&days) {
        return Err(ApiError::bad_request("invalid_query", "days must be between 1 and 366"));
    }
    let since = billpay_core::time::format_date(billpay_core::time::today() - time::Duration::days(days - 1));
    let set = q.flag_set.as_deref().unwrap_or(FLAG_SET);
    Ok(axum::Json(state.store.dashboard(&since, set, EXPERIMENT_FLAG).await?))
}
