//! The reference bill-fetch adapter printed in docs/bill-fetch.md, run exactly as printed, as the
//! biller of a real `billpay serve --demo --worker`: a customer's look-up stores the bill it
//! answers, an unknown reference is an empty list, a request not signed by BillPay is refused,
//! and the worker fetches ahead for an autopay enrollment.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ENERGIA: &str = "bpk_demo_biller_energia";
const ANA: &str = "bpk_demo_customer_ana";

struct Adapter(Child);

impl Drop for Adapter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_adapter_answers_for_the_biller() {
    let server = common::DemoServer::start("fetch-adapter", &["--worker", "--no-rate-limits"]);
    let base = server.base();
    let http = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();

    let port = free_port();
    let set = http
        .put(format!("{base}/v1/billers/blr_demo_energia/fetch-endpoint"))
        .bearer_auth(ENERGIA)
        .json(&json!({"url": format!("http://127.0.0.1:{port}/fetch"), "timeout_ms": 3000, "attempts": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let secret = set.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_owned();

    let due = billpay_core::time::format_date(billpay_core::time::today() + time::Duration::days(20));
    let bill = |reference: &str, amount: i64| json!({"reference": reference, "customer_name": "Ana Gómez", "amount_due": amount, "currency": "COP", "due_date": due});
    let bills = dir.path().join("bills.json");
    std::fs::write(
        &bills,
        json!({"1002007001": [bill("1002007001", 8_800_000)], "1002007002": [bill("1002007002", 3_300_000)]})
            .to_string(),
    )
    .unwrap();
    let script = dir.path().join("adapter.py");
    std::fs::write(&script, common::documented_code("bill-fetch.md", "adapter.py")).unwrap();
    let python = std::env::var("BILLPAY_PYTHON").unwrap_or_else(|_| "python3".into());
    let _adapter = Adapter(
        Command::new(python)
            .arg(&script)
            .env("BILLPAY_FETCH_SECRET", &secret)
            .env("BILLS_FILE", &bills)
            .env("PORT", port.to_string())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(20), "the adapter did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A look-up of a reference BillPay does not hold: the adapter's bill, stored and payable.
    let lookup = |reference: &str| {
        http.get(format!(
            "{base}/v1/bills/lookup?biller_id=blr_demo_energia&reference={reference}"
        ))
        .bearer_auth(ANA)
        .send()
    };
    let r = lookup("1002007001").await.unwrap();
    assert_eq!(r.status(), 200);
    let found: Value = r.json().await.unwrap();
    assert_eq!(found["data"][0]["amount_due"], 8_800_000, "{found}");
    assert_eq!(found["data"][0]["due_date"], due.as_str());
    let bill_id = found["data"][0]["id"].as_str().unwrap().to_owned();
    let paid = http
        .post(format!("{base}/v1/payments"))
        .bearer_auth(ANA)
        .header("idempotency-key", "pay-adapter-bill")
        .json(&json!({"bill_id": bill_id, "amount": 8_800_000, "currency": "COP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 201);

    // Unknown to the biller: an empty list.
    let none: Value = lookup("1002007999").await.unwrap().json().await.unwrap();
    assert_eq!(none["data"], json!([]));

    // The adapter refuses a request BillPay did not sign.
    let forged = http
        .post(format!("http://127.0.0.1:{port}/fetch"))
        .header("BillPay-Signature", "t=1,v1=00")
        .body(r#"{"request_id":"bfr_x","biller_id":"blr_demo_energia","reference":"1002007001","purpose":"lookup"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);

    // Autopay on the other reference: the in-process worker fetches it ahead and schedules it.
    let enrolled = http
        .post(format!("{base}/v1/autopay"))
        .bearer_auth(ANA)
        .json(&json!({"biller_id": "blr_demo_energia", "reference": "1002007002", "days_before": 3, "amount_mode": "full"}))
        .send()
        .await
        .unwrap();
    assert_eq!(enrolled.status(), 201);
    let t = Instant::now();
    loop {
        let s: Value = http
            .get(format!("{base}/v1/scheduled-payments?status=pending"))
            .bearer_auth(ANA)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(p) = s["data"].as_array().unwrap().iter().find(|p| p["amount"] == 3_300_000) {
            assert!(p["autopay_id"].is_string());
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the worker did not fetch ahead: {s}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
