//! The real `billpay serve` under hostile load, on loopback: connections that never finish their
//! headers, a client over its rate, requests past the in-flight cap, a body that never arrives.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;

const ADMIN: &str = "bpk_demo_admin_do_not_use_in_production";

/// `billpay serve --demo` on the embedded database with `args`, each in a folder of its own.
struct Server(common::DemoServer);

impl Server {
    fn start(args: &[&str]) -> Server {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        Server(common::DemoServer::start(&format!("protection-{n}"), args))
    }

    fn port(&self) -> u16 {
        self.0.port
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0.base())
    }

    /// The server's resident memory, in kB.
    fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// `GET /v1/billers` as `key`.
    async fn billers(&self, http: &reqwest::Client, key: &str) -> reqwest::Response {
        http.get(self.url("/v1/billers")).bearer_auth(key).send().await.unwrap()
    }
}

/// A `503 overloaded` with `Retry-After: 1`; returns its problem document.
async fn assert_overloaded(r: reqwest::Response) -> serde_json::Value {
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "overloaded");
    problem
}

/// Whether the server closed `stream` (end of file or reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_are_closed_in_time_health_answers_and_memory_comes_back() {
    let server = Server::start(&["--header-read-timeout-secs", "2", "--no-rate-limits"]);
    let http = reqwest::Client::new();
    // Warm up: the allocator and the database have done some work before the baseline.
    for _ in 0..50 {
        let r = server.billers(&http, ADMIN).await;
        assert_eq!(r.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_kb();

    // 2,000 clients send a request line and one header, then nothing.
    let mut held = Vec::new();
    for _ in 0..2000 {
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).await.unwrap();
        s.write_all(b"GET /v1/billers HTTP/1.1\r\nHost: billpay\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    let opened = Instant::now();
    let during = server.rss_kb();
    // Health answers while they are held.
    let t = Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(1), http.get(server.url("/healthz")).send())
        .await
        .expect("/healthz answered within 1 s during the flood")
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() < Duration::from_secs(1));

    // Every one is closed by the server within the 2 s timeout (counted from when the last was
    // opened, plus a second of slack for a busy machine).
    let deadline = Duration::from_secs(2) + Duration::from_secs(1);
    let mut open_after = 0;
    for s in &mut held {
        let left = deadline.saturating_sub(opened.elapsed()).max(Duration::from_millis(10));
        if !closed_within(s, left).await {
            open_after += 1;
        }
    }
    assert_eq!(
        open_after, 0,
        "{open_after} of 2000 half-open connections were still open"
    );
    drop(held);

    // The memory they took comes back, while the server goes on with light traffic (an
    // allocator gives memory back as it works; within 15 s).
    let closed = Instant::now();
    let mut after = server.rss_kb();
    while after as f64 > before as f64 * 1.2 && closed.elapsed() < Duration::from_secs(15) {
        let _ = http.get(server.url("/readyz")).send().await;
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = server.rss_kb();
    }
    println!(
        "RSS before {before} kB, with 2000 held {during} kB, after {after} kB ({:.1} s after they closed)",
        closed.elapsed().as_secs_f64()
    );
    assert!(
        after as f64 <= before as f64 * 1.2,
        "RSS went from {before} kB to {after} kB after the connections closed (with them held: {during} kB)"
    );
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_the_headers_and_another_client_is_not_slowed() {
    let server = Server::start(&["--rate-limit-admin", "60/min,burst=5"]);
    let http = reqwest::Client::new();
    // A second admin key: another client of the same role.
    let other: serde_json::Value = http
        .post(server.url("/v1/api-keys"))
        .bearer_auth(ADMIN)
        .json(&serde_json::json!({"role": "admin", "label": "second client"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other = other["secret"].as_str().expect("a new key").to_owned();

    // The creation used one of the first key's five; four more pass, each saying what is left.
    for left in (0..4).rev() {
        let r = server.billers(&http, ADMIN).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["ratelimit-policy"], "\"admin\";q=5;w=5");
        let state = r.headers()["ratelimit"].to_str().unwrap().to_owned();
        assert!(state.starts_with(&format!("\"admin\";r={left};t=")), "{state}");
    }
    let r = server.billers(&http, ADMIN).await;
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert_eq!(r.headers()["ratelimit"], format!("\"admin\";r=0;t={retry}").as_str());
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    assert!(problem["detail"].as_str().unwrap().contains("60/min"), "{problem}");

    // The other key is not affected.
    let r = server.billers(&http, &other).await;
    assert_eq!(r.status(), 200);
    // Nor is a client with no key, counted by its address.
    let r = http.get(server.url("/v1/billers")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["ratelimit-policy"]
            .to_str()
            .unwrap()
            .starts_with("\"anonymous\"")
    );
    // Health is outside the limits.
    assert_eq!(http.get(server.url("/healthz")).send().await.unwrap().status(), 200);

    // After Retry-After, the first key passes again.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let r = server.billers(&http, ADMIN).await;
    assert_eq!(r.status(), 200);
}

/// A payment whose body is promised but never sent: it holds a request slot.
async fn stalled_payment(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(
        format!(
            "POST /v1/payments HTTP/1.1\r\nHost: billpay\r\nAuthorization: Bearer {ADMIN}\r\n\
             Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{{\"amount\": 1"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    s
}

async fn payment_count(http: &reqwest::Client, server: &Server) -> usize {
    let list: serde_json::Value = http
        .get(server.url("/v1/payments?limit=100"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn past_the_in_flight_cap_requests_get_503_probes_still_answer_and_nothing_is_half_written() {
    let server = Server::start(&["--max-in-flight", "2", "--body-timeout-secs", "3", "--no-rate-limits"]);
    let http = reqwest::Client::new();
    let payments = payment_count(&http, &server).await;

    let mut a = stalled_payment(server.port()).await;
    let mut b = stalled_payment(server.port()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = server.billers(&http, ADMIN).await;
    let problem = assert_overloaded(r).await;
    assert!(problem["detail"].as_str().unwrap().contains("2 requests"), "{problem}");
    assert_eq!(http.get(server.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(server.url("/readyz")).send().await.unwrap().status(), 200);

    // The stalled bodies run out of time: 408, and the slots come back.
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(6), a.read_to_string(&mut answer))
        .await
        .expect("the stalled request was answered")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"body_timeout\""), "{answer}");
    drop(a);
    drop(b.shutdown().await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = server.billers(&http, ADMIN).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        payment_count(&http, &server).await,
        payments,
        "no payment was half-made"
    );
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_get_503_but_probes_answer() {
    let server = Server::start(&["--max-connections", "4", "--no-rate-limits"]);
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: billpay\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(s); // kept alive: each holds one of the four
    }
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let r = server.billers(&http, ADMIN).await;
    assert_overloaded(r).await;
    assert_eq!(http.get(server.url("/healthz")).send().await.unwrap().status(), 200);
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = server.billers(&http, ADMIN).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_request_past_its_time_gets_503_request_timeout_and_makes_nothing() {
    let server = Server::start(&[
        "--request-timeout-secs",
        "1",
        "--body-timeout-secs",
        "30",
        "--no-rate-limits",
    ]);
    let http = reqwest::Client::new();
    let payments = payment_count(&http, &server).await;
    // A body that keeps arriving, a byte at a time, for longer than the request may take.
    let mut s = stalled_payment(server.port()).await;
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while started.elapsed() < Duration::from_secs(5) {
        if s.write_all(b" ").await.is_err() {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                    break;
                }
            }
            Err(_) => {}
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(payment_count(&http, &server).await, payments, "nothing was made");
}
