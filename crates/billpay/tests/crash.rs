//! Crash safety and graceful shutdown of the real `billpay` binary, under load.
//!
//! `kill -9` in the middle of a load run, restart, and then: `billpay ledger verify` passes, and
//! every request is retried with its key: each one acknowledged with a 201 replays the same
//! payment, and each one whose answer was lost completes exactly once.

#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use billpay_store::Backend;
use billpay_store::testing::TestDb;
use sqlx::Row;

const ADMIN: &str = "bpk_demo_admin_do_not_use_in_production";

struct Server {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

async fn start(db_url: &str, data_dir: &std::path::Path, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_billpay"))
        .args([
            "serve",
            "--demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            db_url,
            // Load far past a client's rate; the limits have their own tests (protection.rs).
            "--no-rate-limits",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .env("BILLPAY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start billpay");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let t = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "billpay did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base }
}

fn plan(clients: usize, run_id: &str) -> billpay_loadgen::Plan {
    billpay_loadgen::Plan {
        clients,
        duration: Duration::from_secs(20),
        max_requests: 50_000,
        run_id: run_id.to_owned(),
        ..billpay_loadgen::Plan::default()
    }
}

/// How many payments the database holds for `biller_id`.
async fn payments_to(db: &TestDb, biller_id: &str) -> usize {
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM payments WHERE biller_id = $1")
        .bind(biller_id)
        .fetch_one(db.store.pool())
        .await
        .expect("count")
        .try_get("n")
        .expect("n");
    usize::try_from(n).expect("a count")
}

fn verify(db_url: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_billpay"))
        .args(["ledger", "verify", "--database-url", db_url])
        .output()
        .expect("run ledger verify");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

async fn crash_and_recover(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = std::env::temp_dir().join(format!("billpay-crash-{}", std::process::id()));
    let port = free_port();
    let mut server = start(&db.url, &dir, port).await;
    let fixture = billpay_loadgen::setup(&server.base, ADMIN, 200, 8)
        .await
        .expect("fixture");

    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (base, fixture, stop) = (server.base.clone(), fixture.clone(), stop.clone());
        tokio::spawn(async move { billpay_loadgen::pay_load(&base, ADMIN, &fixture, &plan(8, "crash"), stop).await })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.kill().expect("kill -9");
    let _ = server.child.wait();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    let (attempts, _) = load.await.expect("load");
    let acknowledged = attempts.iter().filter(|a| a.status == 201).count();
    let lost = attempts.iter().filter(|a| a.status == 0).count();
    assert!(
        acknowledged > 20,
        "the load ran before the crash ({acknowledged} payments)"
    );
    assert!(lost > 0, "the crash cut requests off");
    assert!(
        attempts.iter().all(|a| a.status == 201 || a.status == 0),
        "only successes or cut-off requests"
    );

    let (ok, report) = verify(&db.url);
    assert!(ok, "ledger verify after the crash: {report}");

    let mut server = start(&db.url, &dir, port).await;
    let ids = billpay_loadgen::recheck(&server.base, ADMIN, &attempts)
        .await
        .expect("every request completes exactly once");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), attempts.len(), "one payment per request");
    let stored = payments_to(&db, &fixture.biller_id).await;
    assert_eq!(stored, attempts.len(), "no payment exists twice or without its request");
    let (ok, report) = verify(&db.url);
    assert!(ok, "ledger verify after recovery: {report}");
    let _ = server.child.kill();
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_nothing_on_postgres() {
    crash_and_recover(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_nothing_on_sqlite() {
    crash_and_recover(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests() {
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = std::env::temp_dir().join(format!("billpay-term-{}", std::process::id()));
    let mut server = start(&db.url, &dir, free_port()).await;
    let fixture = billpay_loadgen::setup(&server.base, ADMIN, 50, 4)
        .await
        .expect("fixture");
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (base, fixture, stop) = (server.base.clone(), fixture.clone(), stop.clone());
        tokio::spawn(async move { billpay_loadgen::pay_load(&base, ADMIN, &fixture, &plan(4, "term"), stop).await })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status = server.child.wait().expect("wait");
    stop.store(true, Ordering::Relaxed);
    assert!(status.success(), "billpay exits 0 on SIGTERM, got {status}");
    let (attempts, _) = load.await.expect("load");
    // Every request the server answered is a payment that exists; nothing answered was lost.
    let acknowledged: Vec<_> = attempts.iter().filter(|a| a.status == 201).collect();
    assert!(!acknowledged.is_empty());
    let stored = payments_to(&db, &fixture.biller_id).await;
    assert_eq!(stored, acknowledged.len());
    let (ok, report) = verify(&db.url);
    assert!(ok, "{report}");
    let _ = std::fs::remove_dir_all(&dir);
}
