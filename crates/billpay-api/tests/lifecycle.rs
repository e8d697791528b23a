//! The bill-pay lifecycle over HTTP, on SQLite and PostgreSQL: scheduled payments and autopay run
//! by the worker on a clock the test moves, signed webhooks with retries, replays and secret
//! rotation, and settlement with reconciliation.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use billpay_core::time::{Clock, TestClock, business_date, format_date};
use billpay_worker::{Settings, Worker, signature};
use common::{ADMIN, ANA, ENERGIA, TestApp, step};
use serde_json::{Value, json};

fn worker(app: &TestApp) -> (Worker, Arc<TestClock>) {
    let clock = Arc::new(TestClock::new());
    let w = Worker::new(app.store().clone(), clock.clone(), Settings::default());
    (w, clock)
}

fn date_in(clock: &TestClock, days: i64) -> String {
    format_date(business_date(clock.now()) + time::Duration::days(days))
}

/// A new customer with `funds` COP in the wallet; returns its id.
async fn customer(app: &TestApp, funds: i64) -> String {
    let c = app
        .post("/v1/customers", ADMIN, json!({"name": "Marta Ruiz"}))
        .await
        .ok(201);
    let id = c["id"].as_str().unwrap().to_owned();
    if funds > 0 {
        app.post_idem(
            &format!("/v1/customers/{id}/wallet/topups"),
            ADMIN,
            &format!("fund-{id}"),
            json!({"amount": funds, "currency": "COP"}),
        )
        .await
        .ok(201);
    }
    id
}

both!(scheduled_payments_run_once_on_their_date, |app: TestApp| async move {
    let (worker, clock) = worker(&app);
    let bill = app.bill_id("blr_demo_energia", "1002003001").await;
    let before = app.balance("cus_demo_ana", "COP").await;
    let in3 = date_in(&clock, 3);

    step("Bad input is refused by name, and nothing is scheduled.");
    let yesterday = date_in(&clock, -1);
    let r = app
        .post(
            "/v1/scheduled-payments",
            ANA,
            json!({"bill_id": bill, "amount": 18_550_000, "currency": "COP", "execute_on": yesterday}),
        )
        .await;
    assert!(
        r.problem(422, "invalid_request")["detail"]
            .as_str()
            .unwrap()
            .contains("in the past")
    );
    let r = app
        .post(
            "/v1/scheduled-payments",
            ANA,
            json!({"bill_id": bill, "amount": 18_550_000, "currency": "COP", "execute_on": "next week"}),
        )
        .await;
    assert!(
        r.problem(422, "invalid_request")["detail"]
            .as_str()
            .unwrap()
            .contains("execute_on")
    );
    app.post(
        "/v1/scheduled-payments",
        ENERGIA,
        json!({"bill_id": bill, "amount": 1, "currency": "COP", "execute_on": in3}),
    )
    .await
    .problem(403, "forbidden");
    let luis_bill = app.bill_id("blr_demo_predial", "PRED-2026-00042").await;
    app.post(
        "/v1/scheduled-payments",
        ANA,
        json!({"bill_id": luis_bill, "amount": 1, "currency": "COP", "execute_on": in3}),
    )
    .await
    .problem(404, "bill_not_found");
    app.post(
        "/v1/scheduled-payments",
        ANA,
        json!({"bill_id": bill, "amount": 18_550_000, "currency": "USD", "execute_on": in3}),
    )
    .await
    .problem(422, "currency_mismatch");

    let s = app
        .post_idem(
            "/v1/scheduled-payments",
            ANA,
            "sched-1",
            json!({"bill_id": bill, "amount": 18_550_000, "currency": "COP", "execute_on": in3}),
        )
        .await
        .ok(201);
    assert_eq!(s["status"], "pending");
    let sid = s["id"].as_str().unwrap().to_owned();
    step("The same key replays the first answer rather than scheduling twice.");
    let again = app
        .post_idem(
            "/v1/scheduled-payments",
            ANA,
            "sched-1",
            json!({"bill_id": bill, "amount": 18_550_000, "currency": "COP", "execute_on": in3}),
        )
        .await
        .ok(201);
    assert_eq!(again["id"], sid.as_str());

    step("A second one, cancelled before its date, never runs.");
    let water = app.bill_id("blr_demo_acueducto", "AC-100200").await;
    let c = app
        .post(
            "/v1/scheduled-payments",
            ANA,
            json!({"bill_id": water, "amount": 7_420_000, "currency": "COP", "execute_on": in3}),
        )
        .await
        .ok(201);
    let cid = c["id"].as_str().unwrap();
    assert_eq!(
        app.post(&format!("/v1/scheduled-payments/{cid}/cancel"), ANA, json!({}))
            .await
            .ok(200)["status"],
        "cancelled"
    );
    app.post(&format!("/v1/scheduled-payments/{cid}/cancel"), ANA, json!({}))
        .await
        .problem(409, "conflict");

    step("Not due yet: nothing happens.");
    assert!(worker.tick().await.unwrap().is_idle());
    assert_eq!(app.balance("cus_demo_ana", "COP").await, before);

    clock.advance(time::Duration::days(3));
    let t = worker.tick().await.unwrap();
    assert_eq!((t.payments_succeeded, t.payments_failed), (1, 0));
    let done = app.get(&format!("/v1/scheduled-payments/{sid}"), ANA).await.ok(200);
    assert_eq!(done["status"], "succeeded");
    let payment = app
        .get(&format!("/v1/payments/{}", done["payment_id"].as_str().unwrap()), ANA)
        .await
        .ok(200);
    assert_eq!(payment["amount"], 18_550_000);
    assert_eq!(payment["bill_id"], bill.as_str());
    assert_eq!(
        app.balance("cus_demo_ana", "COP").await,
        before - payment["total_debited"].as_i64().unwrap()
    );
    assert_eq!(
        app.get(&format!("/v1/bills/{bill}"), ADMIN).await.ok(200)["status"],
        "paid"
    );
    assert_eq!(
        app.get(&format!("/v1/bills/{water}"), ADMIN).await.ok(200)["status"],
        "open"
    );
    step("Run again: nothing more is paid.");
    assert!(worker.tick().await.unwrap().is_idle());
    app.post(&format!("/v1/scheduled-payments/{sid}/cancel"), ANA, json!({}))
        .await
        .problem(409, "conflict");

    step("A payment the wallet cannot cover fails with its reason, and the customer is told.");
    let (_, other_bill) = app
        .biller_with_bill(
            "exact",
            json!({"fixed": 0, "bps": 0, "payer": "customer"}),
            "COP",
            50_000,
        )
        .await;
    let poor = customer(&app, 10_000).await;
    let f = app
        .post(
            "/v1/scheduled-payments",
            ADMIN,
            json!({"bill_id": other_bill, "amount": 50_000, "currency": "COP",
            "execute_on": date_in(&clock, 0), "customer_id": poor}),
        )
        .await
        .ok(201);
    let t = worker.tick().await.unwrap();
    assert_eq!((t.payments_succeeded, t.payments_failed), (0, 1));
    let failed = app
        .get(&format!("/v1/scheduled-payments/{}", f["id"].as_str().unwrap()), ADMIN)
        .await
        .ok(200);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_code"], "insufficient_funds");
    assert!(
        failed["failure_reason"]
            .as_str()
            .unwrap()
            .contains("does not hold enough COP")
    );
    assert!(failed["payment_id"].is_null());
    let notes = app
        .get(&format!("/v1/notifications?customer_id={poor}"), ADMIN)
        .await
        .ok(200);
    assert_eq!(notes["data"][0]["kind"], "scheduled_payment.failed");
    assert_eq!(notes["data"][0]["subject_id"], f["id"]);
    assert_eq!(app.balance(&poor, "COP").await, 10_000);

    step("Customers see only their own.");
    let mine = app.get("/v1/scheduled-payments", ANA).await.ok(200);
    assert!(
        mine["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["customer_id"] == "cus_demo_ana")
    );
    assert_eq!(mine["data"].as_array().unwrap().len(), 2);
    app.get(&format!("/v1/scheduled-payments/{}", f["id"].as_str().unwrap()), ANA)
        .await
        .problem(404, "scheduled_payment_not_found");
    app.get("/v1/scheduled-payments?status=done", ANA)
        .await
        .problem(400, "invalid_query");
    app.assert_ledger_ok().await;
});

both!(
    autopay_schedules_new_bills_and_skips_those_over_the_cap,
    |app: TestApp| async move {
        let (worker, clock) = worker(&app);
        step("Bad enrollments are refused by name.");
        let enroll = |body: Value| {
            let app = &app;
            async move { app.post("/v1/autopay", ANA, body).await }
        };
        enroll(json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "days_before": 61, "amount_mode": "full"}))
        .await
        .problem(422, "invalid_request");
        enroll(json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "days_before": 3, "amount_mode": "fixed"}))
        .await
        .problem(422, "invalid_request");
        enroll(json!({"biller_id": "blr_demo_energia", "reference": "12", "days_before": 3, "amount_mode": "full"}))
            .await
            .problem(422, "reference_invalid");
        enroll(
            json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "days_before": 3, "amount_mode": "fixed",
        "fixed_amount": 500, "max_amount": 100}),
        )
        .await
        .problem(422, "invalid_request");

        let a = enroll(
            json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "days_before": 3, "amount_mode": "full",
        "max_amount": 30_000_000}),
        )
        .await
        .ok(201);
        assert_eq!(a["status"], "active");
        enroll(json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "days_before": 1, "amount_mode": "full"}))
        .await
        .problem(409, "conflict");
        let capped = enroll(
            json!({"biller_id": "blr_demo_telco", "reference": "300-1234567", "days_before": 0, "amount_mode": "full",
        "max_amount": 5_000}),
        )
        .await
        .ok(201);

        step("The biller presents next month's bill: its payment is scheduled 3 days before it is due.");
        let due = date_in(&clock, 10);
        let bill = app
            .post(
                "/v1/bills",
                ENERGIA,
                json!({"reference": "1002003001", "customer_name": "Ana Gómez", "customer_id": "cus_demo_ana",
            "amount_due": 19_000_000, "currency": "COP", "due_date": due}),
            )
            .await
            .ok(201);
        let scheduled = app.get("/v1/scheduled-payments?status=pending", ANA).await.ok(200);
        let s = &scheduled["data"][0];
        assert_eq!(s["bill_id"], bill["id"]);
        assert_eq!(s["autopay_id"], a["id"]);
        assert_eq!(s["amount"], 19_000_000);
        assert_eq!(s["execute_on"], date_in(&clock, 7).as_str());

        step("A telco bill over the cap is not scheduled; Ana is told instead.");
        let over = app
            .post(
                "/v1/bills",
                ADMIN,
                json!({"biller_id": "blr_demo_telco", "reference": "300-1234567", "customer_name": "Ana Gómez",
            "customer_id": "cus_demo_ana", "amount_due": 9_000, "currency": "USD", "due_date": due}),
            )
            .await
            .ok(201);
        let pending = app.get("/v1/scheduled-payments?status=pending", ANA).await.ok(200);
        assert!(
            pending["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["bill_id"] != over["id"])
        );
        let notes = app.get("/v1/notifications", ANA).await.ok(200);
        assert_eq!(notes["data"][0]["kind"], "autopay.skipped");
        assert_eq!(notes["data"][0]["subject_id"], over["id"]);
        assert!(
            notes["data"][0]["message"]
                .as_str()
                .unwrap()
                .contains("over your limit")
        );

        step("On the date, the worker pays it.");
        clock.advance(time::Duration::days(7));
        assert_eq!(worker.tick().await.unwrap().payments_succeeded, 1);
        assert_eq!(
            app.get(&format!("/v1/bills/{}", bill["id"].as_str().unwrap()), ADMIN)
                .await
                .ok(200)["status"],
            "paid"
        );

        step("Turned off, autopay schedules nothing more.");
        let off = app
            .raw(
                reqwest::Method::DELETE,
                &format!("/v1/autopay/{}", a["id"].as_str().unwrap()),
                Some(ANA),
                &[],
                None,
            )
            .await;
        assert_eq!(off.ok(200)["status"], "cancelled");
        app.post(
            "/v1/bills",
            ENERGIA,
            json!({"reference": "1002003001", "customer_name": "Ana Gómez", "customer_id": "cus_demo_ana",
        "amount_due": 20_000_000, "currency": "COP", "due_date": date_in(&clock, 40)}),
        )
        .await
        .ok(201);
        assert_eq!(
            app.get("/v1/scheduled-payments?status=pending", ANA).await.ok(200)["data"]
                .as_array()
                .unwrap()
                .len(),
            0
        );
        assert_eq!(
            app.get("/v1/autopay", ANA).await.ok(200)["data"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        app.get(
            &format!("/v1/autopay/{}", capped["id"].as_str().unwrap()),
            "bpk_demo_customer_luis",
        )
        .await
        .problem(404, "autopay_enrollment_not_found");
        app.assert_ledger_ok().await;
    }
);

/// A receiver that records what it gets and answers with the status the test sets.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let r = Receiver::default();
        r.status.store(200, Ordering::SeqCst);
        let state = r.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                |axum::extract::State(s): axum::extract::State<Receiver>,
                 headers: axum::http::HeaderMap,
                 body: String| async move {
                    s.got.lock().unwrap().push((headers, body));
                    axum::http::StatusCode::from_u16(s.status.load(Ordering::SeqCst)).unwrap()
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app.with_state(state)).await });
        (r, url)
    }
    fn take(&self) -> Vec<(axum::http::HeaderMap, String)> {
        std::mem::take(&mut *self.got.lock().unwrap())
    }
}

fn header<'a>(h: &'a axum::http::HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

both!(
    webhooks_are_signed_retried_replayed_and_rotated,
    |app: TestApp| async move {
        let (worker, clock) = worker(&app);
        let (rx, url) = Receiver::start().await;

        step("Registration refuses what it cannot deliver to, by name.");
        app.post(
            "/v1/webhook-endpoints",
            ENERGIA,
            json!({"url": "http://billing.example.com/hook", "event_types": ["bill.paid"]}),
        )
        .await
        .problem(422, "invalid_request");
        let r = app
            .post(
                "/v1/webhook-endpoints",
                ENERGIA,
                json!({"url": url, "event_types": ["payment.paid"]}),
            )
            .await;
        assert!(
            r.problem(422, "invalid_request")["detail"]
                .as_str()
                .unwrap()
                .contains("payment.paid")
        );
        app.post("/v1/webhook-endpoints", ENERGIA, json!({"url": url, "event_types": []}))
            .await
            .problem(422, "invalid_request");
        app.post("/v1/webhook-endpoints", ANA, json!({"url": url, "event_types": ["*"]}))
            .await
            .problem(403, "forbidden");
        app.post(
            "/v1/webhook-endpoints",
            ENERGIA,
            json!({"url": url, "event_types": ["*"], "biller_id": "blr_demo_telco"}),
        )
        .await
        .problem(403, "forbidden");

        let ep = app
            .post(
                "/v1/webhook-endpoints",
                ENERGIA,
                json!({"url": url, "event_types": ["payment.succeeded", "bill.paid"], "description": "ERP"}),
            )
            .await
            .ok(201);
        let ep_id = ep["id"].as_str().unwrap().to_owned();
        let secret = ep["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(ep["biller_id"], "blr_demo_energia");
        step("The secret is shown once.");
        assert!(
            app.get(&format!("/v1/webhook-endpoints/{ep_id}"), ENERGIA)
                .await
                .ok(200)
                .get("secret")
                .is_none()
        );
        app.get(&format!("/v1/webhook-endpoints/{ep_id}"), "bpk_demo_biller_telco")
            .await
            .problem(404, "webhook_endpoint_not_found");

        step("A payment to Energía: two events, each signed, each with its id.");
        app.post_idem("/v1/payments", ANA, "wh-pay-1", json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "amount": 18_550_000, "currency": "COP"}))
        .await
        .ok(201);
        step("A payment to another biller is not Energía's to receive.");
        app.post_idem("/v1/payments", ANA, "wh-pay-2", json!({"biller_id": "blr_demo_gasnatural", "reference": "40050060", "amount": 4_315_000, "currency": "COP"}))
        .await
        .ok(201);
        assert_eq!(worker.tick().await.unwrap().deliveries_ok, 2);
        let got = rx.take();
        let mut types: Vec<&str> = got.iter().map(|(h, _)| header(h, "billpay-event-type")).collect();
        types.sort();
        assert_eq!(types, ["bill.paid", "payment.succeeded"]);
        let now = clock.now().unix_timestamp();
        for (h, body) in &got {
            signature::verify(header(h, "billpay-signature"), body.as_bytes(), &secret, now, 300).unwrap();
            let v: Value = serde_json::from_str(body).unwrap();
            assert_eq!(v["id"], header(h, "billpay-event-id"));
            assert_eq!(v["type"], header(h, "billpay-event-type"));
            assert_eq!(v["data"]["biller_id"], "blr_demo_energia");
            assert!(
                signature::verify(header(h, "billpay-signature"), body.as_bytes(), "whsec_wrong", now, 300).is_err()
            );
        }
        let paid_event = got
            .iter()
            .find(|(h, _)| header(h, "billpay-event-type") == "bill.paid")
            .unwrap();
        let paid_event_id = header(&paid_event.0, "billpay-event-id").to_owned();

        step("The receiver fails: the attempt is logged, retried after the backoff, then delivered.");
        rx.status.store(503, Ordering::SeqCst);
        app.post_idem(
            "/v1/payments",
            ANA,
            "wh-pay-3",
            json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "amount": 1, "currency": "COP"}),
        )
        .await
        .problem(409, "bill_already_paid");
        let bill = app
        .post("/v1/bills", ENERGIA, json!({"reference": "1002003009", "customer_name": "Ana Gómez", "amount_due": 1_000_000, "currency": "COP", "due_date": "2030-01-31"}))
        .await
        .ok(201);
        app.post_idem(
            "/v1/payments",
            ANA,
            "wh-pay-4",
            json!({"bill_id": bill["id"], "amount": 1_000_000, "currency": "COP"}),
        )
        .await
        .ok(201);
        let t = worker.tick().await.unwrap();
        assert_eq!((t.deliveries_ok, t.deliveries_failed), (0, 2));
        assert!(
            worker.tick().await.unwrap().is_idle(),
            "nothing is retried before the backoff"
        );
        let pending = app
            .get(
                &format!("/v1/webhook-endpoints/{ep_id}/deliveries?status=pending"),
                ENERGIA,
            )
            .await
            .ok(200);
        let first_failed = pending["data"][0].clone();
        assert_eq!(first_failed["attempts"], 1);
        assert_eq!(first_failed["last_status"], 503);
        rx.status.store(200, Ordering::SeqCst);
        clock.advance(time::Duration::seconds(31));
        assert_eq!(worker.tick().await.unwrap().deliveries_ok, 2);
        let log = app
            .get(
                &format!(
                    "/v1/webhook-endpoints/{ep_id}/deliveries/{}",
                    first_failed["event_id"].as_str().unwrap()
                ),
                ENERGIA,
            )
            .await
            .ok(200);
        assert_eq!(log["status"], "delivered");
        let codes: Vec<i64> = log["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status_code"].as_i64().unwrap())
            .collect();
        assert_eq!(codes, [503, 200]);
        rx.take();

        step("Replay sends the same event, with the same id, again.");
        let r = app
            .post(
                &format!("/v1/webhook-endpoints/{ep_id}/deliveries/{paid_event_id}/replay"),
                ENERGIA,
                json!({}),
            )
            .await
            .ok(202);
        assert_eq!(r["status"], "pending");
        assert_eq!(worker.tick().await.unwrap().deliveries_ok, 1);
        let again = rx.take();
        assert_eq!(header(&again[0].0, "billpay-event-id"), paid_event_id);
        app.post(
            &format!("/v1/webhook-endpoints/{ep_id}/deliveries/evt_01jdx5v9k3m0000000000000ee/replay"),
            ENERGIA,
            json!({}),
        )
        .await
        .problem(404, "event_not_found");

        step("Rotation: during the grace period both secrets verify; the old one stops after it.");
        app.post(
            &format!("/v1/webhook-endpoints/{ep_id}/rotate-secret"),
            ENERGIA,
            json!({"grace_period_seconds": 999_999}),
        )
        .await
        .problem(422, "invalid_request");
        let rotated = app
            .post(
                &format!("/v1/webhook-endpoints/{ep_id}/rotate-secret"),
                ENERGIA,
                json!({"grace_period_seconds": 3600}),
            )
            .await
            .ok(200);
        let new_secret = rotated["secret"].as_str().unwrap().to_owned();
        assert_ne!(new_secret, secret);
        assert!(rotated["previous_secret_expires_at"].is_string());
        app.post(
            &format!("/v1/webhook-endpoints/{ep_id}/deliveries/{paid_event_id}/replay"),
            ENERGIA,
            json!({}),
        )
        .await
        .ok(202);
        worker.tick().await.unwrap();
        let (h, body) = rx.take().pop().unwrap();
        let sig = header(&h, "billpay-signature");
        assert_eq!(sig.matches("v1=").count(), 2);
        let now = clock.now().unix_timestamp();
        signature::verify(sig, body.as_bytes(), &new_secret, now, 300).unwrap();
        signature::verify(sig, body.as_bytes(), &secret, now, 300).unwrap();
        clock.advance(time::Duration::hours(2));
        app.post(
            &format!("/v1/webhook-endpoints/{ep_id}/deliveries/{paid_event_id}/replay"),
            ENERGIA,
            json!({}),
        )
        .await
        .ok(202);
        worker.tick().await.unwrap();
        let (h, body) = rx.take().pop().unwrap();
        let sig = header(&h, "billpay-signature");
        assert_eq!(sig.matches("v1=").count(), 1);
        let now = clock.now().unix_timestamp();
        signature::verify(sig, body.as_bytes(), &new_secret, now, 300).unwrap();
        assert!(signature::verify(sig, body.as_bytes(), &secret, now, 300).is_err());

        step("A receiver that never comes back: retries stop three days after the event.");
        rx.status.store(500, Ordering::SeqCst);
        let bill = app
        .post("/v1/bills", ENERGIA, json!({"reference": "1002003010", "customer_name": "Ana Gómez", "amount_due": 500_000, "currency": "COP", "due_date": "2030-01-31"}))
        .await
        .ok(201);
        app.post_idem(
            "/v1/payments",
            ANA,
            "wh-pay-5",
            json!({"bill_id": bill["id"], "amount": 500_000, "currency": "COP"}),
        )
        .await
        .ok(201);
        let mut ticks = 0;
        loop {
            worker.tick().await.unwrap();
            let failed = app
                .get(
                    &format!("/v1/webhook-endpoints/{ep_id}/deliveries?status=failed"),
                    ENERGIA,
                )
                .await
                .ok(200);
            if failed["data"].as_array().unwrap().len() == 2 {
                let attempts = failed["data"][0]["attempts"].as_i64().unwrap();
                assert!((12..=30).contains(&attempts), "{attempts} attempts");
                break;
            }
            clock.advance(time::Duration::hours(3));
            ticks += 1;
            assert!(ticks < 40, "deliveries never gave up");
        }
        step("The worker's outcomes are in the metrics.");
        let metrics = app.raw(reqwest::Method::GET, "/metrics", None, &[], None).await.text;
        for outcome in ["delivered", "failed", "gave_up"] {
            let line = format!("billpay_webhook_attempts_total{{outcome=\"{outcome}\"}}");
            let n: u64 = metrics
                .lines()
                .find(|l| l.starts_with(&line))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {line} in /metrics"));
            assert!(n > 0, "{line} is 0");
        }
        step("A platform endpoint receives every biller's events; disabled, it receives no more.");
        let platform = app
            .post(
                "/v1/webhook-endpoints",
                ADMIN,
                json!({"url": url, "event_types": ["*"]}),
            )
            .await
            .ok(201);
        assert!(platform["biller_id"].is_null());
        let listed = app.get("/v1/webhook-endpoints", ENERGIA).await.ok(200);
        assert_eq!(
            listed["data"].as_array().unwrap().len(),
            1,
            "a biller sees only its own endpoints"
        );
        let off = app
            .raw(
                reqwest::Method::DELETE,
                &format!("/v1/webhook-endpoints/{}", platform["id"].as_str().unwrap()),
                Some(ADMIN),
                &[],
                None,
            )
            .await;
        assert_eq!(off.ok(200)["status"], "disabled");
    }
);

/// Parses the report's CSV into rows of cells.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

both!(
    settlement_matches_the_ledger_and_reconciliation_finds_planted_differences,
    |app: TestApp| async move {
        step("A biller that bears a fee of 1,000 plus 0.5 %, and takes partial payments.");
        let (biller, bill) = app
            .biller_with_bill(
                "partial",
                json!({"fixed": 1_000, "bps": 50, "payer": "biller"}),
                "COP",
                10_000_000,
            )
            .await;
        let payer = customer(&app, 20_000_000).await;
        let mut payments = Vec::new();
        for (i, amount) in [1_000_000, 2_500_000, 333_333].into_iter().enumerate() {
            let p = app
                .post_idem(
                    "/v1/payments",
                    ADMIN,
                    &format!("stl-{i}"),
                    json!({"bill_id": bill, "amount": amount, "currency": "COP", "customer_id": payer}),
                )
                .await
                .ok(201);
            payments.push(p);
        }
        let refund = app
            .post_idem(
                &format!("/v1/payments/{}/refunds", payments[1]["id"].as_str().unwrap()),
                ADMIN,
                "stl-r",
                json!({"amount": 500_000, "reason": "duplicate"}),
            )
            .await
            .ok(201);
        let b = app.get(&format!("/v1/billers/{biller}"), ADMIN).await.ok(200);
        let payable = b["payable_account_id"].as_str().unwrap().to_owned();
        let ledger_payable = app.get(&format!("/v1/ledger/accounts/{payable}"), ADMIN).await.ok(200)["balance"]
            .as_i64()
            .unwrap();

        step("Today's report: every item, the fees, and a net equal to what the ledger says is owed.");
        let today = format_date(business_date(time::OffsetDateTime::now_utc()));
        let report = app
            .get(&format!("/v1/billers/{biller}/settlement-reports/{today}"), ADMIN)
            .await
            .ok(200);
        let t = &report["totals"];
        assert_eq!(t["payments_count"], 3);
        assert_eq!(t["payments_amount"], 3_833_333);
        assert_eq!(t["refunds_count"], 1);
        assert_eq!(t["refunds_amount"], 500_000);
        let fees: i64 = payments.iter().map(|p| p["fee"].as_i64().unwrap()).sum();
        assert_eq!(t["biller_fees"], fees);
        assert_eq!(t["customer_fees"], 0);
        assert_eq!(t["net_amount"].as_i64().unwrap(), 3_833_333 - fees - 500_000);
        assert_eq!(
            t["net_amount"].as_i64().unwrap(),
            ledger_payable,
            "report net = payable balance in the ledger"
        );
        let csv = app
            .get(
                &format!("/v1/billers/{biller}/settlement-reports/{today}?format=csv"),
                ADMIN,
            )
            .await;
        assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        let rows = csv_rows(&csv.text);
        assert_eq!(rows[0][0], "kind");
        assert_eq!(rows.len(), 1 + 4 + 1);
        let total = rows.last().unwrap();
        assert_eq!(total[0], "total");
        assert_eq!(total[7].parse::<i64>().unwrap(), ledger_payable);
        let net_of_rows: i64 = rows[1..rows.len() - 1]
            .iter()
            .map(|r| r[7].parse::<i64>().unwrap())
            .sum();
        assert_eq!(net_of_rows, ledger_payable);
        step("Another biller cannot read it; bad dates and formats are named.");
        app.get(&format!("/v1/billers/{biller}/settlement-reports/{today}"), ENERGIA)
            .await
            .problem(404, "biller_not_found");
        app.get(&format!("/v1/billers/{biller}/settlement-reports/2026-02-30"), ADMIN)
            .await
            .problem(400, "invalid_date");
        app.get(
            &format!("/v1/billers/{biller}/settlement-reports/{today}?format=xml"),
            ADMIN,
        )
        .await
        .problem(400, "invalid_query");
        step("A day with nothing in it reports zeros.");
        let empty = app
            .get(&format!("/v1/billers/{biller}/settlement-reports/2020-01-01"), ADMIN)
            .await
            .ok(200);
        assert_eq!(empty["totals"]["net_amount"], 0);

        step("The batch moves exactly that to the clearing account, in one balanced journal.");
        app.post("/v1/settlement-batches", ENERGIA, json!({"biller_id": biller}))
            .await
            .problem(403, "forbidden");
        app.post(
            "/v1/settlement-batches",
            ADMIN,
            json!({"biller_id": biller, "bank_reference": "not a reference!"}),
        )
        .await
        .problem(422, "invalid_request");
        app.post(
            "/v1/settlement-batches",
            ADMIN,
            json!({"biller_id": biller, "cutoff": "2999-01-01T00:00:00Z"}),
        )
        .await
        .problem(422, "invalid_request");
        let batch = app
            .post("/v1/settlement-batches", ADMIN, json!({"biller_id": biller}))
            .await
            .ok(201);
        assert_eq!(batch["totals"]["net_amount"].as_i64().unwrap(), ledger_payable);
        let reference = batch["bank_reference"].as_str().unwrap().to_owned();
        assert!(reference.starts_with("BP-"), "{reference}");
        assert_eq!(
            app.get(&format!("/v1/ledger/accounts/{payable}"), ADMIN).await.ok(200)["balance"],
            0
        );
        assert_eq!(
            app.get("/v1/ledger/accounts/acct_clearing_cop", ADMIN).await.ok(200)["balance"]
                .as_i64()
                .unwrap(),
            ledger_payable
        );
        let journal = app
            .get(
                &format!("/v1/ledger/journals/{}", batch["journal_id"].as_str().unwrap()),
                ADMIN,
            )
            .await
            .ok(200);
        assert_eq!(journal["kind"], "settlement");
        let sum: i64 = journal["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["amount"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, 0);
        app.post("/v1/settlement-batches", ADMIN, json!({"biller_id": biller}))
            .await
            .problem(409, "conflict");
        let batch_id = batch["id"].as_str().unwrap().to_owned();
        let detail = app
            .get(&format!("/v1/settlement-batches/{batch_id}"), ADMIN)
            .await
            .ok(200);
        assert_eq!(detail["items"].as_array().unwrap().len(), 4);
        app.get(&format!("/v1/settlement-batches/{batch_id}"), ENERGIA)
            .await
            .problem(404, "settlement_batch_not_found");

        step("A biller's file with planted differences reports exactly those.");
        let conf = |i: usize| payments[i]["confirmation_number"].as_str().unwrap().to_owned();
        let file = format!(
            "id,amount\n{},1000000\n{},2500001\n{},500000\nPAY-UNKNOWN-1,777\n{},1000000\n",
            conf(0),
            conf(1),
            refund["id"].as_str().unwrap(),
            conf(0)
        );
        let post_csv = |path: String, body: String, ct: &'static str| {
            let app = &app;
            async move {
                app.raw(
                    reqwest::Method::POST,
                    &path,
                    Some(ADMIN),
                    &[("content-type", ct)],
                    Some(body.into_bytes()),
                )
                .await
            }
        };
        let rec = post_csv(
            format!("/v1/settlement-batches/{batch_id}/reconciliations?source=biller"),
            file,
            "text/csv",
        )
        .await
        .ok(201);
        let matched: Vec<&str> = rec["matched"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(matched.len(), 2);
        assert!(matched.contains(&conf(0).as_str()) && matched.contains(&refund["id"].as_str().unwrap()));
        let mut found: Vec<(String, String, Value, Value)> = rec["exceptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().to_owned(),
                    e["item_id"].as_str().unwrap().to_owned(),
                    e["expected_amount"].clone(),
                    e["reported_amount"].clone(),
                )
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            found,
            vec![
                ("amount_mismatch".into(), conf(1), json!(2_500_000), json!(2_500_001)),
                ("duplicate_in_file".into(), conf(0), json!(1_000_000), json!(1_000_000)),
                (
                    "missing_in_billpay".into(),
                    "PAY-UNKNOWN-1".into(),
                    Value::Null,
                    json!(777)
                ),
                ("missing_in_file".into(), conf(2), json!(333_333), Value::Null),
            ]
        );
        step("The bank's file: the transfer, by reference, for the net amount.");
        let bank = post_csv(
            format!("/v1/settlement-batches/{batch_id}/reconciliations?source=bank"),
            format!("id,amount\n{reference},{ledger_payable}\n"),
            "text/csv",
        )
        .await
        .ok(201);
        assert_eq!(bank["matched"], json!([reference]));
        assert_eq!(bank["exceptions"], json!([]));
        step("Bad files are refused by row, and nothing is recorded.");
        let bad = post_csv(
            format!("/v1/settlement-batches/{batch_id}/reconciliations?source=biller"),
            "id,amount\nX,12.50\n".into(),
            "text/csv",
        )
        .await;
        let p = bad.problem(422, "invalid_rows");
        assert_eq!(p["errors"][0]["location"], "row 1");
        post_csv(
            format!("/v1/settlement-batches/{batch_id}/reconciliations?source=biller"),
            "{}".into(),
            "application/json",
        )
        .await
        .problem(415, "unsupported_media_type");
        post_csv(
            format!("/v1/settlement-batches/{batch_id}/reconciliations?source=atm"),
            "id,amount\n".into(),
            "text/csv",
        )
        .await
        .problem(400, "invalid_query");

        step("The exceptions are worked through and closed with a note.");
        let open = app
            .get(
                &format!("/v1/reconciliation-exceptions?status=open&batch_id={batch_id}"),
                ADMIN,
            )
            .await
            .ok(200);
        assert_eq!(open["data"].as_array().unwrap().len(), 4);
        let first = open["data"][0]["id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/v1/reconciliation-exceptions/{first}/close"),
            ADMIN,
            json!({"note": "  "}),
        )
        .await
        .problem(422, "invalid_request");
        // Another biller does not see it; a customer may not close any.
        let own_key = app
            .post(
                "/v1/api-keys",
                ADMIN,
                json!({"role": "biller", "biller_id": biller, "label": "reconciliation"}),
            )
            .await
            .ok(201)["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        app.post(
            &format!("/v1/reconciliation-exceptions/{first}/close"),
            ENERGIA,
            json!({"note": "x"}),
        )
        .await
        .problem(404, "reconciliation_exception_not_found");
        app.post(
            &format!("/v1/reconciliation-exceptions/{first}/close"),
            ANA,
            json!({"note": "x"}),
        )
        .await
        .problem(403, "forbidden");
        // The biller's own people close it.
        let closed = app
            .post(
                &format!("/v1/reconciliation-exceptions/{first}/close"),
                &own_key,
                json!({"note": "biller re-sent the file"}),
            )
            .await
            .ok(200);
        assert_eq!(closed["status"], "closed");
        assert_eq!(closed["note"], "biller re-sent the file");
        assert!(closed["closed_by"].is_string());
        app.post(
            &format!("/v1/reconciliation-exceptions/{first}/close"),
            ADMIN,
            json!({"note": "again"}),
        )
        .await
        .problem(409, "conflict");
        let open = app
            .get(
                &format!("/v1/reconciliation-exceptions?status=open&batch_id={batch_id}"),
                ADMIN,
            )
            .await
            .ok(200);
        assert_eq!(open["data"].as_array().unwrap().len(), 3);
        app.assert_ledger_ok().await;
    }
);
