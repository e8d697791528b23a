//! Bill fetch over HTTP, on SQLite and PostgreSQL: a biller's system answers for its bills when a
//! customer looks a reference up, and the worker fetches ahead for autopay and checks with the
//! biller before paying. The biller here is a small signed adapter the test steers.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use billpay_core::time::{TestClock, business_date, format_date};
use billpay_worker::{Settings, Worker, signature};
use common::{ADMIN, ANA, ENERGIA, LUIS, TestApp, step};
use serde_json::{Value, json};

/// How the adapter answers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Normal,
    /// Sleeps this long before answering.
    Slow(u64),
    /// 200 with a body that is not the protocol's.
    Malformed,
    /// Signs with another secret.
    WrongSecret,
    /// Bills in US dollars, which Energía does not bill in.
    WrongCurrency,
}

#[derive(Clone)]
struct Adapter {
    secret: Arc<Mutex<String>>,
    owed: Arc<Mutex<HashMap<String, Vec<Value>>>>,
    mode: Arc<Mutex<Mode>>,
    hits: Arc<AtomicUsize>,
    purposes: Arc<Mutex<Vec<String>>>,
}

impl Adapter {
    async fn start() -> (Adapter, String) {
        let a = Adapter {
            secret: Arc::default(),
            owed: Arc::default(),
            mode: Arc::new(Mutex::new(Mode::Normal)),
            hits: Arc::default(),
            purposes: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/fetch", axum::routing::post(answer))
            .with_state(a.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/fetch", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (a, url)
    }
    fn owe(&self, reference: &str, amount: i64, due: &str) {
        self.owed
            .lock()
            .unwrap()
            .entry(reference.into())
            .or_default()
            .push(json!({
                "reference": reference, "customer_name": "Ana Gómez", "amount_due": amount,
                "currency": "COP", "due_date": due
            }));
    }
    fn paid_elsewhere(&self, reference: &str) {
        self.owed.lock().unwrap().remove(reference);
    }
    fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn answer(
    axum::extract::State(a): axum::extract::State<Adapter>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, HeaderMap, String) {
    a.hits.fetch_add(1, Ordering::SeqCst);
    let secret = a.secret.lock().unwrap().clone();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sig = headers
        .get(signature::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if signature::verify(sig, body.as_bytes(), &secret, now, 300).is_err() {
        return (StatusCode::UNAUTHORIZED, HeaderMap::new(), "bad signature".into());
    }
    let req: Value = serde_json::from_str(&body).unwrap();
    a.purposes
        .lock()
        .unwrap()
        .push(req["purpose"].as_str().unwrap().to_owned());
    let mode = *a.mode.lock().unwrap();
    if let Mode::Slow(ms) = mode {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let reference = req["reference"].as_str().unwrap();
    let Some(mut bills) = a.owed.lock().unwrap().get(reference).cloned() else {
        return (StatusCode::NOT_FOUND, HeaderMap::new(), "{}".into());
    };
    if mode == Mode::WrongCurrency {
        for b in &mut bills {
            b["currency"] = json!("USD");
        }
    }
    let out = match mode {
        Mode::Malformed => json!({"request_id": req["request_id"], "invoices": bills}).to_string(),
        _ => json!({"request_id": req["request_id"], "bills": bills}).to_string(),
    };
    let key = if mode == Mode::WrongSecret {
        "bfsec_not_the_secret".to_owned()
    } else {
        secret
    };
    let mut h = HeaderMap::new();
    h.insert(
        signature::SIGNATURE_HEADER,
        signature::header(&[key], now, out.as_bytes()).parse().unwrap(),
    );
    h.insert("content-type", "application/json".parse().unwrap());
    (StatusCode::OK, h, out)
}

async fn put(app: &TestApp, path: &str, key: &str, body: Value) -> common::Resp {
    app.raw(
        reqwest::Method::PUT,
        path,
        Some(key),
        &[("content-type", "application/json")],
        Some(body.to_string().into_bytes()),
    )
    .await
}

const ENDPOINT: &str = "/v1/billers/blr_demo_energia/fetch-endpoint";

/// Points Energía at the adapter and hands the adapter its secret.
async fn connect(app: &TestApp, a: &Adapter, url: &str, timeout_ms: i64, attempts: i64) {
    let r = put(
        app,
        ENDPOINT,
        ENERGIA,
        json!({"url": url, "timeout_ms": timeout_ms, "attempts": attempts}),
    )
    .await
    .ok(200);
    if let Some(s) = r["secret"].as_str() {
        *a.secret.lock().unwrap() = s.to_owned();
    }
}

fn lookup(reference: &str) -> String {
    format!("/v1/bills/lookup?biller_id=blr_demo_energia&reference={reference}")
}

async fn bills_held(app: &TestApp, reference: &str) -> usize {
    let all = app
        .get("/v1/bills?biller_id=blr_demo_energia&limit=100", ADMIN)
        .await
        .ok(200);
    all["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["reference"] == reference)
        .count()
}

fn date_in(clock: &TestClock, days: i64) -> String {
    use billpay_core::time::Clock;
    format_date(business_date(clock.now()) + time::Duration::days(days))
}

both!(a_fetch_endpoint_is_the_billers_own, |app: TestApp| async move {
    step("Bad settings are refused by name.");
    let r = put(
        &app,
        ENDPOINT,
        ENERGIA,
        json!({"url": "http://bills.energia.example/fetch"}),
    )
    .await;
    assert!(
        r.problem(422, "invalid_request")["detail"]
            .as_str()
            .unwrap()
            .contains("https")
    );
    let r = put(
        &app,
        ENDPOINT,
        ENERGIA,
        json!({"url": "https://bills.energia.example/fetch", "timeout_ms": 50}),
    )
    .await;
    assert!(
        r.problem(422, "invalid_request")["detail"]
            .as_str()
            .unwrap()
            .contains("timeout_ms")
    );
    let r = put(
        &app,
        ENDPOINT,
        ENERGIA,
        json!({"url": "https://bills.energia.example/fetch", "attempts": 9}),
    )
    .await;
    assert!(
        r.problem(422, "invalid_request")["detail"]
            .as_str()
            .unwrap()
            .contains("attempts")
    );
    app.get(ENDPOINT, ENERGIA)
        .await
        .problem(404, "fetch_endpoint_not_found");

    step("Set once, the secret is shown; read back, it is not; rotated, it changes.");
    let first = put(
        &app,
        ENDPOINT,
        ENERGIA,
        json!({"url": "https://bills.energia.example/fetch"}),
    )
    .await
    .ok(200);
    let secret = first["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("bfsec_"));
    assert_eq!(first["timeout_ms"], 2000);
    assert_eq!(first["attempts"], 2);
    let read = app.get(ENDPOINT, ADMIN).await.ok(200);
    assert_eq!(read["secret"], Value::Null);
    assert_eq!(read["url"], "https://bills.energia.example/fetch");
    let again = put(
        &app,
        ENDPOINT,
        ENERGIA,
        json!({"url": "https://bills.energia.example/v2/fetch"}),
    )
    .await
    .ok(200);
    assert_eq!(again["secret"], Value::Null, "an unchanged secret is not shown again");
    let rotated = put(
        &app,
        ENDPOINT,
        ENERGIA,
        json!({"url": "https://bills.energia.example/v2/fetch", "rotate_secret": true}),
    )
    .await
    .ok(200);
    assert_ne!(rotated["secret"].as_str().unwrap(), secret);

    step("Customers may not touch it; another biller does not see it.");
    put(&app, ENDPOINT, ANA, json!({"url": "https://x.example/"}))
        .await
        .problem(403, "forbidden");
    app.get("/v1/billers/blr_demo_telco/fetch-endpoint", ENERGIA)
        .await
        .problem(404, "biller_not_found");

    step("Removed, it is gone; removing twice is a conflict.");
    let del = app
        .raw(reqwest::Method::DELETE, ENDPOINT, Some(ENERGIA), &[], None)
        .await;
    assert_eq!(del.status, 204);
    let del = app
        .raw(reqwest::Method::DELETE, ENDPOINT, Some(ENERGIA), &[], None)
        .await;
    del.problem(409, "conflict");
});

both!(a_lookup_fetches_from_the_billers_system, |app: TestApp| async move {
    let (adapter, url) = Adapter::start().await;
    connect(&app, &adapter, &url, 1000, 2).await;
    let due = format_date(billpay_core::time::today() + time::Duration::days(9));
    adapter.owe("1002009001", 7_500_000, &due);

    step("Found: the biller's bill is stored and shown, and it can be paid.");
    let found = app.get(&lookup("1002009001"), ANA).await.ok(200);
    let bills = found["data"].as_array().unwrap();
    assert_eq!(bills.len(), 1, "{found}");
    assert_eq!(bills[0]["amount_due"], 7_500_000);
    assert_eq!(bills[0]["due_date"], due.as_str());
    assert_eq!(bills[0]["status"], "open");
    assert_eq!(adapter.purposes.lock().unwrap().as_slice(), ["lookup"]);
    let bill_id = bills[0]["id"].as_str().unwrap().to_owned();
    app.get(&format!("/v1/bills/{bill_id}"), ENERGIA).await.ok(200);

    step("Held now: looking it up again does not ask the biller.");
    let hits = adapter.hits();
    let again = app.get(&lookup("1002009001"), LUIS).await.ok(200);
    assert_eq!(again["data"][0]["id"], bill_id.as_str());
    assert_eq!(adapter.hits(), hits);

    let before = app.balance("cus_demo_ana", "COP").await;
    app.post_idem(
        "/v1/payments",
        ANA,
        "pay-fetched",
        json!({"bill_id": bill_id, "amount": 7_500_000, "currency": "COP"}),
    )
    .await
    .ok(201);
    assert!(app.balance("cus_demo_ana", "COP").await < before);

    step("Not found: an empty list, and nothing stored.");
    let none = app.get(&lookup("1002009002"), ANA).await.ok(200);
    assert_eq!(none["data"], json!([]));
    assert_eq!(bills_held(&app, "1002009002").await, 0);

    step("A reference that breaks the biller's rule is refused before anyone is asked.");
    let hits = adapter.hits();
    app.get(&lookup("12"), ANA).await.problem(422, "reference_invalid");
    assert_eq!(adapter.hits(), hits);
    app.assert_ledger_ok().await;
});

both!(a_biller_that_fails_leaves_nothing_behind, |app: TestApp| async move {
    let (adapter, url) = Adapter::start().await;
    connect(&app, &adapter, &url, 200, 2).await;
    let due = format_date(billpay_core::time::today() + time::Duration::days(9));
    adapter.owe("1002009101", 5_000_000, &due);

    step("Slow: every attempt times out; the customer hears the biller cannot be reached.");
    adapter.set(Mode::Slow(1500));
    let r = app.get(&lookup("1002009101"), ANA).await;
    let p = r.problem(504, "biller_unreachable");
    assert!(p["detail"].as_str().unwrap().contains("200 ms"), "{p}");
    assert_eq!(r.headers["retry-after"], "30");
    assert_eq!(adapter.hits(), 2, "two attempts, as the biller set");

    step("Malformed: refused, nothing stored.");
    adapter.set(Mode::Malformed);
    app.get(&lookup("1002009101"), ANA)
        .await
        .problem(502, "biller_answer_invalid");

    step("Signed with another secret: refused, nothing stored.");
    adapter.set(Mode::WrongSecret);
    let p = app
        .get(&lookup("1002009101"), ANA)
        .await
        .problem(502, "biller_answer_invalid");
    assert!(p["detail"].as_str().unwrap().contains("not signed"), "{p}");

    step("A bill against the biller's own rules (another currency): refused, nothing stored.");
    adapter.set(Mode::WrongCurrency);
    let p = app
        .get(&lookup("1002009101"), ANA)
        .await
        .problem(502, "biller_answer_invalid");
    assert!(p["detail"].as_str().unwrap().contains("currency"), "{p}");

    step("BillPay's request signed with an old secret: the biller refuses it (401), and BillPay says so.");
    adapter.set(Mode::Normal);
    let real = adapter.secret.lock().unwrap().clone();
    *adapter.secret.lock().unwrap() = "bfsec_rotated_away".into();
    let p = app
        .get(&lookup("1002009101"), ANA)
        .await
        .problem(502, "biller_unreachable");
    assert!(p["detail"].as_str().unwrap().contains("401"), "{p}");
    *adapter.secret.lock().unwrap() = real;

    step("Down: connection refused on every attempt.");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    put(
        &app,
        ENDPOINT,
        ENERGIA,
        json!({"url": format!("http://127.0.0.1:{closed}/fetch"), "timeout_ms": 500, "attempts": 3}),
    )
    .await
    .ok(200);
    let p = app
        .get(&lookup("1002009101"), ANA)
        .await
        .problem(502, "biller_unreachable");
    assert!(p["detail"].as_str().unwrap().contains("3 attempt"), "{p}");

    assert_eq!(bills_held(&app, "1002009101").await, 0);

    step("Back up: the same look-up stores the bill.");
    put(
        &app,
        ENDPOINT,
        ENERGIA,
        json!({"url": url, "timeout_ms": 1000, "attempts": 1}),
    )
    .await
    .ok(200);
    app.get(&lookup("1002009101"), ANA).await.ok(200);
    assert_eq!(bills_held(&app, "1002009101").await, 1);
    app.assert_ledger_ok().await;
});

both!(autopay_fetches_ahead_and_never_pays_twice, |app: TestApp| async move {
    let (adapter, url) = Adapter::start().await;
    connect(&app, &adapter, &url, 1000, 1).await;
    let clock = Arc::new(TestClock::new());
    let worker = Worker::new(app.store().clone(), clock.clone(), Settings::default());
    let due = date_in(&clock, 10);
    adapter.owe("1002009201", 6_000_000, &due);
    adapter.owe("1002009202", 4_000_000, &due);

    step("Enrolled on a fetch biller: the worker's next pass asks for the bill and autopay schedules it.");
    for reference in ["1002009201", "1002009202"] {
        app.post(
            "/v1/autopay",
            ANA,
            json!({"biller_id": "blr_demo_energia", "reference": reference, "days_before": 2, "amount_mode": "full"}),
        )
        .await
        .ok(201);
    }
    let t = worker.tick().await.unwrap();
    assert_eq!(t.fetches, 2);
    assert!(adapter.purposes.lock().unwrap().iter().all(|p| p == "autopay"));
    let pending = app.get("/v1/scheduled-payments?status=pending", ANA).await.ok(200);
    let pending = pending["data"].as_array().unwrap();
    assert_eq!(pending.len(), 2, "{pending:?}");
    assert!(pending.iter().all(|s| s["execute_on"] == date_in(&clock, 8).as_str()));

    step("Not due yet: the next pass asks nobody.");
    let hits = adapter.hits();
    worker.tick().await.unwrap();
    assert_eq!(adapter.hits(), hits);

    step(
        "Ana pays 1002009202 at the biller's office; on the day, the biller is asked first and nothing is paid twice.",
    );
    adapter.paid_elsewhere("1002009202");
    let before = app.balance("cus_demo_ana", "COP").await;
    clock.advance(time::Duration::days(8));
    let t = worker.tick().await.unwrap();
    assert_eq!(t.confirmations, 2);
    assert_eq!(t.payments_succeeded, 1);
    assert_eq!(app.balance("cus_demo_ana", "COP").await, before - 6_000_000 - 150_000);
    let cancelled = app.get("/v1/scheduled-payments?status=cancelled", ANA).await.ok(200);
    assert_eq!(cancelled["data"][0]["failure_code"], "bill_paid_elsewhere");
    let withdrawn = app
        .get(
            &format!("/v1/bills/{}", cancelled["data"][0]["bill_id"].as_str().unwrap()),
            ADMIN,
        )
        .await
        .ok(200);
    assert_eq!(withdrawn["status"], "cancelled");
    let notes = app.get("/v1/notifications", ANA).await.ok(200);
    assert!(
        notes["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "scheduled_payment.cancelled"
                && n["message"].as_str().unwrap().contains("already paid")),
        "{notes}"
    );

    step("The next bill is fetched a week before its predicted date, not before.");
    let hits = adapter.hits();
    clock.advance(time::Duration::days(2 + 30 - 7 - 1));
    worker.tick().await.unwrap();
    assert_eq!(adapter.hits(), hits, "a day early");
    adapter.paid_elsewhere("1002009201");
    adapter.owe("1002009201", 6_100_000, &date_in(&clock, 8));
    clock.advance(time::Duration::days(1));
    worker.tick().await.unwrap();
    assert!(adapter.hits() > hits);
    let pending = app.get("/v1/scheduled-payments?status=pending", ANA).await.ok(200);
    assert_eq!(pending["data"][0]["amount"], 6_100_000, "{pending}");

    step("The biller is down on the day: the payment waits; on the due date it fails, unpaid, and Ana is told.");
    adapter.set(Mode::Slow(3000));
    let before = app.balance("cus_demo_ana", "COP").await;
    clock.advance(time::Duration::days(6));
    worker.tick().await.unwrap();
    let s = app.get("/v1/scheduled-payments?status=pending", ANA).await.ok(200);
    assert_eq!(
        s["data"][0]["execute_on"],
        date_in(&clock, 1).as_str(),
        "postponed a day"
    );
    clock.advance(time::Duration::days(2));
    worker.tick().await.unwrap();
    let failed = app.get("/v1/scheduled-payments?status=failed", ANA).await.ok(200);
    assert_eq!(failed["data"][0]["failure_code"], "biller_unreachable");
    assert_eq!(app.balance("cus_demo_ana", "COP").await, before);
    app.assert_ledger_ok().await;
});
