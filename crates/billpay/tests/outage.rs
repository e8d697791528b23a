//! The database goes away under payment load and comes back: the real `billpay serve` on a
//! PostgreSQL cluster of the test's own (this machine's PostgreSQL binaries, on a free port),
//! stopped in the middle of the load and started again, with no restart of the server.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const ADMIN: &str = "bpk_demo_admin_do_not_use_in_production";

/// A throw-away PostgreSQL cluster. As root, it runs as the `postgres` system user.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
}

impl Cluster {
    fn new() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries in /usr/lib/postgresql (apt-get install postgresql)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").is_file())
            .max()
            .expect("initdb under /usr/lib/postgresql/*/bin");
        let data = std::env::temp_dir().join(format!("billpay-outage-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).unwrap();
        if Self::as_root() {
            let out = Command::new("id").args(["-u", "postgres"]).output().unwrap();
            let uid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
            std::os::unix::fs::chown(&data, Some(uid), None).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let c = Cluster { bin, data, port };
        let ok = c
            .run("initdb", &["-D", &c.data_arg(), "-U", "postgres", "--auth=trust"])
            .status
            .success();
        assert!(ok, "initdb failed");
        c
    }

    fn as_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0\n"))
            .unwrap_or(false)
    }

    fn data_arg(&self) -> String {
        self.data.display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) -> std::process::Output {
        let exe = self.bin.join(tool);
        let mut cmd = if Self::as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args).stdin(Stdio::null()).output().unwrap()
    }

    fn start(&self) {
        let opts = format!("-p {} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off", self.port);
        let log = self.data.join("server.log").display().to_string();
        let out = self.run(
            "pg_ctl",
            &["-D", &self.data_arg(), "-l", &log, "-w", "-o", &opts, "start"],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop(&self) {
        let out = self.run("pg_ctl", &["-D", &self.data_arg(), "-m", "fast", "-w", "stop"]);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-D", &self.data_arg(), "-m", "immediate", "stop"]);
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One payment with a fresh key, as the fixture's first customer; its status.
async fn one_payment(http: &reqwest::Client, base: &str, fixture: &billpay_loadgen::Fixture, n: u32) -> u16 {
    http.post(format!("{base}/v1/payments"))
        .bearer_auth(ADMIN)
        .header("idempotency-key", format!("probe-{n}"))
        .json(&serde_json::json!({
            "bill_id": fixture.bills[0], "customer_id": fixture.customers[0], "amount": 100, "currency": "COP"
        }))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_under_load_answers_503_loses_nothing_and_recovers_without_a_restart() {
    let pg = Cluster::new();
    pg.start();
    let url = pg.url();
    let data_dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    // With the worker in the process: it must back off while the database is away and resume.
    let log_path = data_dir.path().join("server.log");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_billpay"))
            .args(["serve", "--demo", "--worker", "--no-rate-limits"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", &url])
            .arg("--data-dir")
            .arg(data_dir.path())
            .env("BILLPAY_LOG", "off,billpay_worker=info")
            .env("BILLPAY_LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let t = Instant::now();
    while !http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(t.elapsed() < Duration::from_secs(30), "billpay did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fixture = billpay_loadgen::setup(&base, ADMIN, 200, 8).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (base, fixture, stop) = (base.clone(), fixture.clone(), stop.clone());
        let plan = billpay_loadgen::Plan {
            clients: 8,
            duration: Duration::from_secs(60),
            max_requests: 50_000,
            run_id: "outage".into(),
            ..billpay_loadgen::Plan::default()
        };
        tokio::spawn(async move { billpay_loadgen::pay_load(&base, ADMIN, &fixture, &plan, stop).await })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    pg.stop();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // While it is away: readiness says so, quickly.
    let t = Instant::now();
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(
        t.elapsed() < Duration::from_millis(2500),
        "/readyz took {:?}",
        t.elapsed()
    );
    pg.start();
    let restarted = Instant::now();
    let mut n = 0;
    while one_payment(&http, &base, &fixture, n).await != 201 {
        n += 1;
        assert!(
            restarted.elapsed() < Duration::from_secs(5),
            "no payment succeeded within 5 s of the database's restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered = restarted.elapsed();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    let (attempts, _) = load.await.unwrap();

    let acknowledged = attempts.iter().filter(|a| a.status == 201).count();
    let refused: Vec<_> = attempts.iter().filter(|a| a.status != 201).collect();
    let slowest = refused.iter().map(|a| a.micros).max().unwrap_or(0);
    println!(
        "{} payments attempted, {acknowledged} acknowledged, {} refused during the outage (the slowest in {:.2} s); payments again {:.2} s after the restart",
        attempts.len(),
        refused.len(),
        slowest as f64 / 1e6,
        recovered.as_secs_f64()
    );
    assert!(acknowledged > 20, "the load ran ({acknowledged} payments)");
    assert!(!refused.is_empty(), "the outage was felt");
    assert!(
        refused.iter().all(|a| a.status == 503),
        "every answer during the outage was a 503: {:?}",
        refused
            .iter()
            .map(|a| a.status)
            .collect::<std::collections::BTreeSet<_>>()
    );
    assert!(slowest < 2_000_000, "a 503 took {slowest} µs: requests must not hang");

    // Every request, retried with its key, completes exactly once, and the ledger holds.
    let ids = billpay_loadgen::recheck(&base, ADMIN, &attempts).await.unwrap();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), attempts.len(), "one payment per request");
    for a in attempts.iter().filter(|a| a.status == 201) {
        assert!(
            ids.contains(a.payment_id.as_ref().unwrap()),
            "an acknowledged payment is there"
        );
    }
    // The worker backed off while the database was away, and works again without a restart.
    let t = Instant::now();
    loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("worker passes work again") {
            assert!(log.contains("backing off"), "the worker backed off first:\n{log}");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(35),
            "the worker did not resume:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_billpay"))
        .args(["ledger", "verify", "--database-url", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}
