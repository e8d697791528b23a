//! Drives BillPay's payment path over HTTP: sets up a biller, bills and funded customers, then
//! has N concurrent clients pay bills, each request with its own Idempotency-Key. Every request
//! and its outcome is recorded, so a run cut short by a crash can be checked afterwards.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What the load needs: the bills to pay and the customers who pay them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixture {
    pub biller_id: String,
    pub bills: Vec<String>,
    pub customers: Vec<String>,
}

/// One payment request and what came of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    pub idempotency_key: String,
    pub body: Value,
    /// HTTP status, or 0 when the connection failed (the outcome is unknown).
    pub status: u16,
    pub payment_id: Option<String>,
    pub micros: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub requests: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub seconds: f64,
    pub payments_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

async fn post(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    path: &str,
    body: &Value,
    idem: Option<&str>,
    ct: &str,
) -> anyhow::Result<(u16, Value)> {
    let mut req = http
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .header("content-type", ct);
    if let Some(i) = idem {
        req = req.header("idempotency-key", i);
    }
    let req = if ct == "text/csv" {
        req.body(body.as_str().unwrap_or_default().to_owned())
    } else {
        req.body(body.to_string())
    };
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

/// Creates a biller that takes any amount, `bills` bills at it, and `customers` funded customers.
pub async fn setup(base: &str, admin: &str, bills: usize, customers: usize) -> anyhow::Result<Fixture> {
    let http = client();
    let (s, biller) = post(
        &http,
        base,
        admin,
        "/v1/billers",
        &json!({"name": "Load Test Power", "category": "electricity", "currency": "COP", "reference_pattern": "[0-9]{9}",
                "reference_hint": "nine digits", "amount_rule": "overpayment", "fee": {"fixed": 10, "bps": 25, "payer": "customer"}}),
        None,
        "application/json",
    )
    .await?;
    if s != 201 {
        bail!("creating the biller: {s} {biller}");
    }
    let biller_id = biller["id"].as_str().context("biller id")?.to_owned();
    let mut bill_ids = Vec::with_capacity(bills);
    let mut next = 0;
    while next < bills {
        let n = (bills - next).min(10_000);
        let mut csv = String::from("reference,customer_name,amount_due,due_date\n");
        for i in next..next + n {
            csv.push_str(&format!("{:09},Load Customer,1000000000,2030-12-31\n", 100_000_000 + i));
        }
        let (s, out) = post(
            &http,
            base,
            admin,
            &format!("/v1/bills/bulk?biller_id={biller_id}"),
            &Value::String(csv),
            None,
            "text/csv",
        )
        .await?;
        if s != 201 {
            bail!("creating bills: {s} {out}");
        }
        bill_ids.extend(
            out["bill_ids"]
                .as_array()
                .context("bill ids")?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned)),
        );
        next += n;
    }
    let mut customer_ids = Vec::with_capacity(customers);
    for i in 0..customers {
        let (s, c) = post(
            &http,
            base,
            admin,
            "/v1/customers",
            &json!({"name": format!("Load {i}")}),
            None,
            "application/json",
        )
        .await?;
        if s != 201 {
            bail!("creating a customer: {s} {c}");
        }
        let id = c["id"].as_str().context("customer id")?.to_owned();
        let (s, t) = post(
            &http,
            base,
            admin,
            &format!("/v1/customers/{id}/wallet/topups"),
            &json!({"amount": 1_000_000_000_000i64, "currency": "COP"}),
            None,
            "application/json",
        )
        .await?;
        if s != 201 {
            bail!("funding a customer: {s} {t}");
        }
        customer_ids.push(id);
    }
    Ok(Fixture {
        biller_id,
        bills: bill_ids,
        customers: customer_ids,
    })
}

/// A cheap, seedable pseudo-random sequence (xorshift), so runs need no extra crate.
fn next_rand(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// How hard and how long to push.
#[derive(Debug, Clone)]
pub struct Plan {
    pub clients: usize,
    pub duration: Duration,
    pub max_requests: u64,
    /// Prefix of every Idempotency-Key, so that runs do not collide.
    pub run_id: String,
}

/// Runs `plan.clients` concurrent clients, client i paying from customer i, for at most
/// `plan.duration` and `plan.max_requests` requests in all, or until `stop` is set.
pub async fn pay_load(
    base: &str,
    admin: &str,
    fixture: &Fixture,
    plan: &Plan,
    stop: Arc<AtomicBool>,
) -> (Vec<Attempt>, f64) {
    let Plan {
        clients,
        duration,
        max_requests,
        ref run_id,
    } = *plan;
    let http = client();
    let issued = Arc::new(AtomicU64::new(0));
    let fixture = Arc::new(fixture.clone());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, base, admin, fixture, issued, stop, run_id) = (
            http.clone(),
            base.to_owned(),
            admin.to_owned(),
            fixture.clone(),
            issued.clone(),
            stop.clone(),
            run_id.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + 1).wrapping_mul(0x1000_0000_01B3);
            let customer = &fixture.customers[c % fixture.customers.len()];
            let mut i = 0u64;
            while start.elapsed() < duration && !stop.load(Ordering::Relaxed) && issued.fetch_add(1, Ordering::Relaxed) < max_requests {
                // Each client pays its own share of the bills, as each customer pays their own.
                let share = (fixture.bills.len() / clients).max(1);
                let pick = c * share + usize::try_from(next_rand(&mut seed) % share as u64).unwrap_or(0);
                let bill = &fixture.bills[pick % fixture.bills.len()];
                let key = format!("{run_id}-{c}-{i}");
                i += 1;
                let body = json!({"bill_id": bill, "amount": 100 + (next_rand(&mut seed) % 900) as i64, "currency": "COP", "customer_id": customer});
                let t = Instant::now();
                let result = post(&http, &base, &admin, "/v1/payments", &body, Some(&key), "application/json").await;
                let micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
                let (status, payment_id) = match result {
                    Ok((s, v)) => (s, v["id"].as_str().map(str::to_owned)),
                    Err(_) => (0, None),
                };
                out.push(Attempt { idempotency_key: key, body, status, payment_id, micros });
            }
            out
        }));
    }
    let mut attempts = Vec::new();
    for t in tasks {
        if let Ok(mut a) = t.await {
            attempts.append(&mut a);
        }
    }
    (attempts, start.elapsed().as_secs_f64())
}

pub fn summarize(attempts: &[Attempt], seconds: f64) -> Summary {
    let mut ok: Vec<u64> = attempts.iter().filter(|a| a.status == 201).map(|a| a.micros).collect();
    ok.sort_unstable();
    let pct = |p: f64| -> f64 {
        if ok.is_empty() {
            return 0.0;
        }
        let idx = ((ok.len() as f64 * p).ceil() as usize)
            .saturating_sub(1)
            .min(ok.len() - 1);
        ok[idx] as f64 / 1000.0
    };
    Summary {
        requests: attempts.len(),
        succeeded: ok.len(),
        failed: attempts.len() - ok.len(),
        seconds,
        payments_per_second: ok.len() as f64 / seconds.max(1e-9),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: ok.last().map_or(0.0, |m| *m as f64 / 1000.0),
    }
}

/// After a crash: sends every recorded request again with its key and body. A request that got a
/// 201 must replay the same payment; one whose outcome was unknown now completes exactly once.
/// Returns the ids of all payments, one per request, or the first broken promise.
pub async fn recheck(base: &str, admin: &str, attempts: &[Attempt]) -> anyhow::Result<Vec<String>> {
    let http = client();
    let mut ids = Vec::with_capacity(attempts.len());
    for a in attempts {
        let (s, v) = post(
            &http,
            base,
            admin,
            "/v1/payments",
            &a.body,
            Some(&a.idempotency_key),
            "application/json",
        )
        .await?;
        if s != 201 {
            bail!("request {} answered {s} on retry: {v}", a.idempotency_key);
        }
        let id = v["id"].as_str().context("payment id")?.to_owned();
        if a.status == 201 && a.payment_id.as_deref() != Some(id.as_str()) {
            bail!(
                "request {} was acknowledged as {:?} but now replays {id}",
                a.idempotency_key,
                a.payment_id
            );
        }
        ids.push(id);
    }
    Ok(ids)
}
