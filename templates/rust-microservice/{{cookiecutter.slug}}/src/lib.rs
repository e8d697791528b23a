//! {{ cookiecutter.title }}: {{ cookiecutter.description }}
//!
//! The HTTP surface every BillPay service has: `/healthz` (the process is alive), `/readyz`
//! (send it traffic; 503 while it drains on shutdown), `/metrics` (Prometheus) and the
//! service's own routes under `/v1`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::json;

/// The service's settings, from flags or the environment.
#[derive(Debug, Clone, clap::Parser)]
#[command(version, about)]
pub struct Config {
    /// The address to listen on.
    #[arg(long, env = "LISTEN", default_value = "0.0.0.0:{{ cookiecutter.port }}")]
    pub listen: SocketAddr,
    /// Log lines as JSON (for the cluster) or as text (for a terminal).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// Seconds in-flight requests may take to finish after SIGTERM.
    #[arg(long, env = "SHUTDOWN_GRACE_SECONDS", default_value_t = 20)]
    pub shutdown_grace_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

/// Structured logs to stdout; `RUST_LOG` filters them (default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    ready: Arc<AtomicBool>,
    metrics: PrometheusHandle,
}

impl AppState {
    pub fn new() -> Self {
        Self {
            ready: Arc::new(AtomicBool::new(true)),
            metrics: metrics_handle(),
        }
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// Stop taking new traffic: `/readyz` answers 503 from now on.
    pub fn drain(&self) {
        self.ready.store(false, Ordering::SeqCst);
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}

/// The process-wide Prometheus recorder, installed on first use.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics shows only this one's");
            }
            handle
        })
        .clone()
}

/// The service's routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(prometheus))
        .route("/v1/info", get(info))
        .fallback(not_found)
        .layer(middleware::from_fn(observe))
        .with_state(state)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.is_ready() {
        Json(json!({"status": "ready"})).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "draining"}))).into_response()
    }
}

async fn prometheus(State(state): State<AppState>) -> Response {
    ([("content-type", "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

async fn info() -> Json<serde_json::Value> {
    Json(json!({
        "service": "{{ cookiecutter.slug }}",
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

async fn not_found(req: Request) -> Response {
    let message = format!("no route for {} {}", req.method(), req.uri().path());
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "not_found", "message": message})),
    )
        .into_response()
}

/// Counts and times every request by method, route and status, and logs it.
async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let elapsed = start.elapsed();
    let labels = [
        ("method", method.clone()),
        ("route", route.clone()),
        ("status", status.clone()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    tracing::info!(%method, %route, %status, elapsed_ms = elapsed.as_millis() as u64, "request");
    response
}

/// Serves on `listener` until `shutdown` completes, then drains: `/readyz` turns 503 and
/// in-flight requests get `grace` to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let draining = state.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight requests");
        draining.drain();
        let _ = stop_tx.send(true);
    };
    let server = axum::serve(listener, app(state)).with_graceful_shutdown(signal);
    let mut stop = stop_rx;
    tokio::select! {
        result = server => result,
        () = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_seconds = grace.as_secs(), "requests still running after the grace period; exiting");
            Ok(())
        }
    }
}

/// Completes on SIGTERM (what Kubernetes sends) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
