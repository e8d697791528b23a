//! The `billpay worker` binary against PostgreSQL: two workers run 1,000 due scheduled payments
//! exactly once, and webhooks survive a receiver outage and a `kill -9` of the worker mid-delivery,
//! received by the Python receiver printed in docs/webhooks.md.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use billpay_core::biller::AmountRule;
use billpay_core::fee::FeePayer;
use billpay_store::testing::TestDb;
use billpay_store::{Backend, NewBill, NewBiller, NewEndpoint, NewScheduledPayment, PayTarget, Store};
use sqlx::Row;

fn worker(db_url: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_billpay"));
    c.args(["worker", "--database-url", db_url])
        .args(extra)
        .env("BILLPAY_LOG", "warn")
        .stderr(Stdio::inherit());
    c
}

/// A biller taking exact payments with no fee, `n` bills of `amount` each, and a customer with
/// enough to pay them all.
async fn setup(store: &Store, n: usize, amount: i64) -> (String, Vec<String>, String) {
    let biller = store
        .create_biller(
            NewBiller {
                name: "Aguas del Valle".into(),
                category: "water".into(),
                currency: "COP".into(),
                reference_pattern: "[0-9]{6}".into(),
                reference_hint: "six digits".into(),
                gln: None,
                amount_rule: AmountRule::Exact,
                fee_fixed: 0,
                fee_bps: 0,
                fee_payer: FeePayer::Customer,
            },
            None,
        )
        .await
        .unwrap();
    let customer = store.create_customer("Marta Ruiz", None, None).await.unwrap();
    store
        .top_up(&customer.id, "COP", amount * n as i64, None)
        .await
        .unwrap();
    let bills: Vec<NewBill> = (0..n)
        .map(|i| NewBill {
            reference: format!("{:06}", 100_000 + i),
            customer_name: "Marta Ruiz".into(),
            customer_id: Some(customer.id.clone()),
            amount_due: amount,
            due_date: "2030-01-31".into(),
        })
        .collect();
    let ids = store.create_bills(&biller.id, &bills, |ids| ids, None).await.unwrap();
    (biller.id, ids, customer.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_run_a_thousand_scheduled_payments_exactly_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = &db.store;
    let (_, bills, customer) = setup(store, 1_000, 12_345).await;
    let today = billpay_core::time::format_date(billpay_core::time::business_date(time::OffsetDateTime::now_utc()));
    for bill in &bills {
        store
            .schedule_payment(
                NewScheduledPayment {
                    customer_id: customer.clone(),
                    target: PayTarget::Bill(bill.clone()),
                    amount: 12_345,
                    currency: "COP".into(),
                    execute_on: today.clone(),
                },
                &today,
                None,
            )
            .await
            .unwrap();
    }

    let spawn = || {
        worker(&db.url, &["--until-idle", "--db-max-connections", "4"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let ran = |c: Child| {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "worker failed: {out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["scheduled_payments_failed"], 0, "{v}");
        v["scheduled_payments_succeeded"].as_u64().unwrap()
    };
    let (ran_a, ran_b) = (ran(a), ran(b));
    assert_eq!(ran_a + ran_b, 1_000, "each payment ran once: {ran_a} + {ran_b}");
    assert!(ran_a > 0 && ran_b > 0, "both workers took part: {ran_a} and {ran_b}");

    let q = |sql: &'static str| async move {
        sqlx::query(sql)
            .fetch_one(store.pool())
            .await
            .unwrap()
            .try_get::<i64, _>("n")
            .unwrap()
    };
    assert_eq!(
        q("SELECT COUNT(*) AS n FROM scheduled_payments WHERE status = 'succeeded' AND payment_id IS NOT NULL").await,
        1_000
    );
    assert_eq!(q("SELECT COUNT(*) AS n FROM payments").await, 1_000);
    assert_eq!(q("SELECT COUNT(DISTINCT bill_id) AS n FROM payments").await, 1_000);
    assert_eq!(q("SELECT COUNT(*) AS n FROM bills WHERE status = 'paid'").await, 1_000);
    assert_eq!(
        q("SELECT COUNT(*) AS n FROM scheduled_payments s JOIN payments p ON p.id = s.payment_id WHERE p.bill_id = s.bill_id").await,
        1_000
    );
    assert_eq!(
        q("SELECT CAST(SUM(balance) AS BIGINT) AS n FROM wallets").await,
        0,
        "the wallet paid each bill once"
    );
    let violations = billpay_store::verify_ledger(store).await.unwrap();
    assert!(violations.is_empty(), "{violations:?}");
}

struct Receiver {
    child: Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

fn start_receiver(dir: &std::path::Path, port: u16, secret: &str) -> Receiver {
    let python = std::env::var("BILLPAY_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = dir.join("receiver.py");
    std::fs::write(&script, common::documented_code("webhooks.md", "receiver.py")).unwrap();
    let mut child = Command::new(python)
        .arg(&script)
        .env("BILLPAY_WEBHOOK_SECRETS", secret)
        .env("PORT", port.to_string())
        .env("RECEIVER_DB", dir.join("receiver.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = child.stdout.take().unwrap();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(serde_json::from_str(&line).unwrap());
        }
    });
    Receiver { child, lines }
}

fn signal(child: &Child, sig: &str) {
    // The shell's own `kill`, so the test needs no procps.
    let ok = Command::new("sh")
        .args(["-c", &format!("kill {sig} {}", child.id())])
        .status()
        .unwrap();
    assert!(ok.success(), "kill {sig}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn count(store: &Store, status: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = $1")
        .bind(status)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl AsyncFnMut() -> bool) {
    let t = Instant::now();
    while !done().await {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_survive_a_receiver_outage_and_a_killed_worker() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = &db.store;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let endpoint = store
        .create_endpoint(NewEndpoint {
            biller_id: None,
            url: format!("http://127.0.0.1:{port}/billpay"),
            description: "docs receiver".into(),
            event_types: vec!["*".into()],
        })
        .await
        .unwrap();
    let secret = endpoint.secret.clone().unwrap();

    // 150 payments, each paying its bill off: 300 events while the receiver is down.
    let (_, bills, customer) = setup(store, 150, 50_000).await;
    for bill in &bills {
        store
            .pay(&customer, &PayTarget::Bill(bill.clone()), 50_000, "COP", None)
            .await
            .unwrap();
    }
    let fast = [
        "--webhook-retry-base-secs",
        "0.2",
        "--webhook-retry-max-secs",
        "1",
        "--webhook-lease-secs",
        "3",
        "--webhook-concurrency",
        "16",
        "--poll-secs",
        "0.05",
    ];
    let mut first = worker(&db.url, &fast).stdout(Stdio::null()).spawn().unwrap();
    wait_for(
        "failed attempts while the receiver is down",
        Duration::from_secs(30),
        async || {
            sqlx::query("SELECT COUNT(*) AS n FROM webhook_attempts WHERE error LIKE 'could not connect%'")
                .fetch_one(store.pool())
                .await
                .unwrap()
                .try_get::<i64, _>("n")
                .unwrap()
                >= 32
        },
    )
    .await;
    assert_eq!(count(store, "delivered").await, 0);

    // The receiver comes back; once it has taken some, the worker is killed in the middle.
    let mut receiver = start_receiver(dir.path(), port, &secret);
    wait_for("the first deliveries", Duration::from_secs(60), async || {
        count(store, "delivered").await >= 60
    })
    .await;
    // Freeze the receiver so the worker's next requests are sent and waiting for an answer, then
    // kill the worker: those deliveries die mid-flight. Thawed, the receiver still reads and
    // processes the requests already in its socket buffers.
    signal(&receiver.child, "-STOP");
    tokio::time::sleep(Duration::from_millis(400)).await;
    first.kill().unwrap();
    first.wait().unwrap();
    signal(&receiver.child, "-CONT");
    let delivered_at_kill = count(store, "delivered").await;
    assert!(delivered_at_kill < 300, "the kill came after everything was delivered");

    // A new worker finishes the job, including what the dead one held.
    let mut second = worker(&db.url, &fast).stdout(Stdio::null()).spawn().unwrap();
    wait_for("every delivery", Duration::from_secs(90), async || {
        count(store, "delivered").await == 300
    })
    .await;
    second.kill().unwrap();
    second.wait().unwrap();
    receiver.child.kill().unwrap();
    receiver.child.wait().unwrap();

    // Every event reached the receiver and verified (a bad signature is answered 400 and never
    // counts as delivered); any duplicate carried an id the receiver already had.
    let events: BTreeSet<String> = sqlx::query("SELECT id FROM events")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>("id").unwrap())
        .collect();
    assert_eq!(events.len(), 300);
    let lines = receiver.lines.lock().unwrap().clone();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for l in &lines {
        *seen.entry(l["event_id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(
        seen.keys().cloned().collect::<BTreeSet<_>>(),
        events,
        "each event arrived, under its own id"
    );
    let duplicates: usize = lines.iter().filter(|l| l["duplicate"] == true).count();
    assert_eq!(
        duplicates,
        lines.len() - events.len(),
        "the receiver flagged exactly the repeats"
    );
    assert!(
        duplicates >= 1,
        "the deliveries cut off by the kill were sent again, with their ids"
    );
    let processed = receiver_count(&dir.path().join("receiver.db"));
    assert_eq!(processed, 300, "the receiver processed each event once");
    eprintln!(
        "webhook durability: 300 events, {delivered_at_kill} delivered before the kill, {} requests received, {duplicates} duplicates",
        lines.len()
    );
}

/// Counts the receiver's processed events with Python's sqlite3, as the receiver wrote them.
fn receiver_count(path: &std::path::Path) -> i64 {
    let python = std::env::var("BILLPAY_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(python)
        .args([
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM processed_events').fetchone()[0])",
        ])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}
