//! The HTTP server loop: accepts connections up to a cap, gives each client a deadline for its
//! request headers (also the keep-alive idle timeout: hyper starts it whenever a connection waits
//! for its next request), bounds the header size, and drains connections on shutdown.
//!
//! Past the connection cap, a few more connections are still served, but only for `/healthz`
//! and `/readyz` (everything else answers `503` with `Retry-After` and closes), so that probes
//! keep answering while the server is full; past those, a connection gets the `503` written
//! straight away and is closed.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// The connection-level limits.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Longest a client may take to send a request's headers, and longest a kept-alive
    /// connection may wait for its next request.
    pub header_read_timeout: Duration,
    /// Largest request head (request line and headers) in bytes; larger gets `431`.
    pub max_header_bytes: usize,
    /// How long shutdown waits for open connections to finish.
    pub drain: Duration,
}

/// Connections past the cap that are still served for health and readiness.
const PROBE_CONNECTIONS: usize = 64;

const OVERLOADED: &str = "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,\"code\":\"overloaded\",\"detail\":\"the server has its limit of connections open; retry after the time in Retry-After\"}";

/// Serves `router` on `listener` until `shutdown` resolves, then drains open connections.
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes)
        .keep_alive(true);
    let http = Arc::new(http);
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let probes = Arc::new(Semaphore::new(PROBE_CONNECTIONS));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (permit, probes_only) = match connections.clone().try_acquire_owned() {
            Ok(p) => (p, false),
            Err(_) => match probes.clone().try_acquire_owned() {
                Ok(p) => {
                    metrics::counter!("billpay_shed_total", "reason" => "connections").increment(1);
                    (p, true)
                }
                Err(_) => {
                    metrics::counter!("billpay_shed_total", "reason" => "connections").increment(1);
                    tokio::spawn(refuse(stream));
                    continue;
                }
            },
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                if probes_only && !matches!(req.uri().path(), "/healthz" | "/readyz") {
                    return Ok::<_, Infallible>(overloaded());
                }
                router.oneshot(req.map(Body::new)).await
            }
        });
        let mut builder = (*http).clone();
        if probes_only {
            builder.keep_alive(false);
        }
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown()).await.is_err() {
        tracing::warn!(drain = ?limits.drain, "connections still open after the drain time; closing them");
    }
    Ok(())
}

fn overloaded() -> axum::response::Response {
    axum::response::Response::builder()
        .status(503)
        .header("content-type", "application/problem+json")
        .header("retry-after", "1")
        .header("connection", "close")
        .body(Body::from(OVERLOADED))
        .unwrap_or_default()
}

/// Writes the `503` to a connection past every cap and closes it, giving up after a second.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{OVERLOADED}",
        OVERLOADED.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(reply.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
