//! The service's HTTP contract, in process and over a real socket.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use {{ cookiecutter.crate_name }}::{AppState, app, serve};

async fn get(state: &AppState, path: &str) -> (StatusCode, String) {
    let response = app(state.clone())
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
}

#[tokio::test]
async fn health_and_readiness() {
    let state = AppState::new();
    assert_eq!(get(&state, "/healthz").await.0, StatusCode::OK);
    let (status, body) = get(&state, "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("ready"), "{body}");
    state.drain();
    let (status, body) = get(&state, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("draining"), "{body}");
    assert_eq!(
        get(&state, "/healthz").await.0,
        StatusCode::OK,
        "a draining process is still alive"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let state = AppState::new();
    assert_eq!(get(&state, "/v1/info").await.0, StatusCode::OK);
    let (status, body) = get(&state, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.lines().any(|l| l.starts_with("http_requests_total{")
            && l.contains("route=\"/v1/info\"")
            && l.contains("status=\"200\"")),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_routes_get_a_json_404_naming_the_path() {
    let (status, body) = get(&AppState::new(), "/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("GET /nope"), "{body}");
}

#[tokio::test]
async fn info_names_the_service() {
    let (status, body) = get(&AppState::new(), "/v1/info").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["service"], "{{ cookiecutter.slug }}");
}

#[tokio::test]
async fn shutdown_drains_then_stops_serving() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = AppState::new();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        state.clone(),
        async move {
            let _ = rx.await;
        },
        Duration::from_secs(5),
    ));
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the server accepts connections");
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.expect("read");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    tx.send(()).expect("signal");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stops within the grace period")
        .expect("join")
        .expect("serve");
    assert!(!state.is_ready(), "shutdown turns readiness off");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
}
