//! Serving the built web apps (`web/dist/<app>/`) and their runtime configuration, and CORS for
//! frontends served from another origin.
//!
//! The apps are static files, the same ones that go to S3 behind CloudFront. What differs
//! between deployments (the API's address, the flag set and its read-only client key, demo sign-in
//! shortcuts) is read at start-up from the app's `config.json`, which `billpay serve` answers here
//! and a deployment uploads with each app.

use std::convert::Infallible;
use std::path::PathBuf;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower::Service;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;

use crate::AppState;

/// The web apps as `billpay serve` serves them: each app's build (`web/dist/<app>/`) under a path
/// of its own, with its own `config.json` beside its page. In AWS each app is a site of its own;
/// the same bytes work in both places because their asset paths are relative.
pub const APPS: [(&str, &str); 4] = [
    ("a", "billpay-frontend-a"),
    ("b", "billpay-frontend-b"),
    ("flags", "billpay-feature-flags"),
    ("portal", "billpay-biller-portal"),
];

#[derive(Debug, Clone)]
pub struct Web {
    /// The folder holding one build per app (`billpay-frontend-a/`, …).
    pub dir: PathBuf,
    /// What every app's `config.json` holds; each adds its `appId` and the apps' URLs.
    pub config: serde_json::Value,
}

impl Web {
    /// Whether any app has been built in `dir`.
    pub fn built(dir: &std::path::Path) -> bool {
        APPS.iter().any(|(_, app)| dir.join(app).join("index.html").is_file())
    }

    /// The `config.json` of the app served at `/<path>/`.
    pub fn config_for(&self, app: &str) -> serde_json::Value {
        let mut config = self.config.clone();
        config["appId"] = app.into();
        config["variants"] = serde_json::json!({"a": "/a/", "b": "/b/"});
        config
    }
}

/// Adds each app under its path (`/a/`, `/b/`, `/flags/`, `/portal/`) with its `config.json`, and `/`, which
/// sends a customer to app A (the app then sends them on to the one the A/B test assigned).
/// Paths that are neither an API route nor a file get `not_found` (a problem document).
pub fn mount<S>(mut router: Router<AppState>, web: Web, not_found: S) -> Router<AppState>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
{
    for (path, app) in APPS {
        let config = web.config_for(app).to_string();
        let files = ServeDir::new(web.dir.join(app))
            .append_index_html_on_directories(true)
            .precompressed_gzip()
            .not_found_service(not_found.clone());
        let home = format!("/{path}/");
        router = router
            .route(
                &format!("/{path}/config.json"),
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
            .route(
                &format!("/{path}"),
                get(move || async move { Redirect::permanent(&home) }),
            )
            .nest_service(&format!("/{path}/"), files);
    }
    router
        .route("/", get(|| async { Redirect::to("/a/") }))
        .fallback_service(not_found)
}

/// CORS for the given origins: the API and OFREP, with the headers the apps and OpenFeature's
/// OFREP web provider send and read, and credentials: the apps call the API with the person's
/// session cookie (`credentials: 'include'`), which a browser only sends, and only lets the page
/// read the answer, when the API allows credentials for exactly that origin.
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
        .allow_credentials(true)
        .max_age(std::time::Duration::from_secs(600))
}
