//! What bill fetch adds to a customer's look-up: a signed adapter in this process answers any
//! reference with one bill; each round asks the adapter directly (signed, as BillPay asks it),
//! then looks a fresh reference up through BillPay, which asks the same adapter and stores the
//! bill. The difference is BillPay's own work: auth, the rate limit, the look-up query, the
//! signing and checking, and the insert.

use std::time::{Duration, Instant};

use anyhow::Context;
use billpay_worker::signature;

/// The figures, in milliseconds.
#[derive(Debug, serde::Serialize)]
pub struct FetchFigures {
    pub rounds: usize,
    pub adapter_p50_ms: f64,
    pub adapter_p99_ms: f64,
    pub lookup_p50_ms: f64,
    pub lookup_p99_ms: f64,
    pub added_p50_ms: f64,
    pub added_p99_ms: f64,
}

async fn adapter(secret: String) -> anyhow::Result<u16> {
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
        let secret = secret.clone();
        async move {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let sig = headers
                .get(signature::SIGNATURE_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if signature::verify(sig, &body, &secret, now, 300).is_err() {
                return (
                    axum::http::StatusCode::UNAUTHORIZED,
                    axum::http::HeaderMap::new(),
                    String::new(),
                );
            }
            let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let out = serde_json::json!({
                "request_id": req["request_id"],
                "bills": [{"reference": req["reference"], "customer_name": "Ana Gómez", "amount_due": 5_000_000,
                           "currency": "COP", "due_date": "2027-01-15"}]
            })
            .to_string();
            let mut h = axum::http::HeaderMap::new();
            if let Ok(v) = signature::header(std::slice::from_ref(&secret), now, out.as_bytes()).parse() {
                h.insert(signature::SIGNATURE_HEADER, v);
            }
            (axum::http::StatusCode::OK, h, out)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(port)
}

/// Points `biller` at an adapter in this process and runs `rounds` rounds, one request at a time.
pub async fn run(url: &str, admin: &str, customer: &str, biller: &str, rounds: usize) -> anyhow::Result<FetchFigures> {
    let http = reqwest::Client::new();
    let set = |port: u16, rotate: bool| {
        http.put(format!("{url}/v1/billers/{biller}/fetch-endpoint"))
            .bearer_auth(admin)
            .json(
                &serde_json::json!({"url": format!("http://127.0.0.1:{port}/fetch"), "timeout_ms": 2000,
                                       "attempts": 1, "rotate_secret": rotate}),
            )
            .send()
    };
    // BillPay makes the secret, and the adapter needs it to start: set a placeholder URL with a
    // new secret first, then the adapter's.
    let first: serde_json::Value = set(9, true).await?.error_for_status()?.json().await?;
    let s = first["secret"].as_str().context("no secret in the answer")?.to_owned();
    let port = adapter(s.clone()).await?;
    set(port, false).await?.error_for_status()?;

    let run_tag = std::process::id() % 100;
    let mut direct = Vec::with_capacity(rounds);
    let mut through = Vec::with_capacity(rounds);
    for i in 0..rounds + rounds / 10 {
        let reference = format!("{run_tag:02}{:08}", i);
        let body = serde_json::json!({"request_id": format!("bfr_bench{i}"), "biller_id": biller,
                                      "reference": reference, "purpose": "lookup"})
        .to_string();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let t = Instant::now();
        let r = http
            .post(format!("http://127.0.0.1:{port}/fetch"))
            .header(
                signature::SIGNATURE_HEADER,
                signature::header(std::slice::from_ref(&s), now, body.as_bytes()),
            )
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let ok = r.status().is_success();
        let _ = r.bytes().await?;
        let d = t.elapsed();
        anyhow::ensure!(ok, "the adapter refused a signed request");

        let t = Instant::now();
        let r = http
            .get(format!(
                "{url}/v1/bills/lookup?biller_id={biller}&reference={reference}"
            ))
            .bearer_auth(customer)
            .send()
            .await?;
        let status = r.status();
        let answer: serde_json::Value = r.json().await?;
        let l = t.elapsed();
        anyhow::ensure!(
            status.is_success() && answer["data"].as_array().is_some_and(|a| a.len() == 1),
            "look-up {reference}: {status} {answer}"
        );
        // The first tenth warms both up.
        if i >= rounds / 10 {
            direct.push(micros(d));
            through.push(micros(l));
        }
    }
    direct.sort_unstable();
    through.sort_unstable();
    let p = crate::soak::percentile;
    Ok(FetchFigures {
        rounds,
        adapter_p50_ms: p(&direct, 0.5),
        adapter_p99_ms: p(&direct, 0.99),
        lookup_p50_ms: p(&through, 0.5),
        lookup_p99_ms: p(&through, 0.99),
        added_p50_ms: p(&through, 0.5) - p(&direct, 0.5),
        added_p99_ms: p(&through, 0.99) - p(&direct, 0.99),
    })
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
