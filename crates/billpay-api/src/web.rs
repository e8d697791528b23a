//! Serving the built web apps (`web/dist`) and their runtime configuration, and CORS for
//! frontends served from another origin.
//!
//! The apps are static files, the same ones that go to S3 behind CloudFront. What differs
//! between deployments (the API's address, the flag set and its read-only client key, demo sign-in
//! shortcuts) is read at start-up from `/config.json`, which `billpay serve` answers here and a
//! deployment uploads next to the apps.

use std::convert::Infallible;
use std::path::PathBuf;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::Service;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

use crate::AppState;

#[derive(Debug, Clone)]
pub struct Web {
    /// The folder Vite built: `index.html`, `a/`, `b/`, `flags/`, `assets/`.
    pub dir: PathBuf,
    /// The body of `/config.json`.
    pub config: serde_json::Value,
}

/// Adds `/config.json` and the static files; paths that are neither an API route nor a file get
/// `not_found` (a problem document).
pub fn mount<S>(router: Router<AppState>, web: Web, not_found: S) -> Router<AppState>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
{
    let config = web.config.to_string();
    let files = ServeDir::new(&web.dir)
        .append_index_html_on_directories(true)
        .precompressed_gzip()
        .not_found_service(not_found);
    router
        .route(
            "/config.json",
            get(move || {
                let config = config.clone();
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, "application/json"),
                            (header::CACHE_CONTROL, "no-cache"),
                        ],
                        config,
                    )
                        .into_response()
                }
            }),
        )
        .fallback_service(files)
}

/// CORS for the given origins: the API and OFREP, with the headers the apps and OpenFeature's
/// OFREP web provider send and read.
pub fn cors(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-api-key"),
        ])
        .expose_headers([
            header::ETAG,
            HeaderName::from_static("idempotent-replayed"),
            HeaderName::from_static("x-request-id"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}
