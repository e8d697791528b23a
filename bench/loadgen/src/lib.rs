//! Drives BillPay's payment path over HTTP: sets up a biller, bills and funded customers, then
//! has N concurrent clients pay bills, each request with its own Idempotency-Key. Every request
//! and its outcome is recorded, so a run cut short by a crash can be checked afterwards.

pub mod fetch;
pub mod soak;

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
    /// One customer API key per customer, in the same order, when the load pays as customers.
    #[serde(default)]
    pub customer_keys: Vec<String>,
    /// One session token per customer, in the same order, when the load pays as people.
    #[serde(default)]
    pub customer_sessions: Vec<String>,
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
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Answers that were not 201, by status (0: no answer).
    pub errors: std::collections::BTreeMap<u16, usize>,
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
    let mut req = http.post(format!("{base}{path}")).header("content-type", ct);
    // A person's session: the cookie, from a page of the site itself.
    req = match key.strip_prefix("session:") {
        Some(token) => req
            .header("cookie", format!("billpay_session={token}"))
            .header("origin", base),
        None => req.bearer_auth(key),
    };
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
            &json!({"name": format!("Load {i}"), "email": format!("load{i}@bench.example")}),
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
        customer_keys: Vec::new(),
        customer_sessions: Vec::new(),
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
    /// Who pays: the admin key naming the customer, or each customer with their own key.
    pub auth: Auth,
    /// A closed loop (each client sends its next request when the last one is answered), or an
    /// open loop at a fixed rate, which measures latency as a customer sees it rather than the
    /// length of the clients' own queue.
    pub mode: Mode,
    /// Servers to spread the clients over, round robin; empty means the `base` URL alone.
    pub urls: Vec<String>,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            clients: 32,
            duration: Duration::from_secs(20),
            max_requests: 1_000_000,
            run_id: "load".into(),
            auth: Auth::Admin,
            mode: Mode::Closed,
            urls: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Admin,
    Customer,
    /// Each customer's session cookie, as the web apps pay.
    Session,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Closed,
    /// Requests per second, sent on schedule whether or not earlier ones were answered.
    Open(f64),
}

/// One client's identity: the key it sends, the server it talks to, and the customer and share of
/// bills it pays.
#[derive(Clone)]
struct Seat {
    key: String,
    base: String,
    customer: Option<String>,
    share: std::ops::Range<usize>,
}

fn seats(base: &str, admin: &str, fixture: &Fixture, plan: &Plan) -> anyhow::Result<Vec<Seat>> {
    let n = plan.clients.max(1);
    let share = (fixture.bills.len() / n).max(1);
    (0..n)
        .map(|c| {
            let customer = c % fixture.customers.len().max(1);
            let (key, customer) = match plan.auth {
                Auth::Admin => (admin.to_owned(), fixture.customers.get(customer).cloned()),
                Auth::Customer => (
                    fixture
                        .customer_keys
                        .get(customer)
                        .cloned()
                        .context("the fixture has no customer keys")?,
                    None,
                ),
                Auth::Session => (
                    format!(
                        "session:{}",
                        fixture
                            .customer_sessions
                            .get(customer)
                            .context("the fixture has no customer sessions")?
                    ),
                    None,
                ),
            };
            let base = if plan.urls.is_empty() {
                base.to_owned()
            } else {
                plan.urls[c % plan.urls.len()].clone()
            };
            let start = (c * share) % fixture.bills.len().max(1);
            Ok(Seat {
                key,
                base,
                customer,
                share: start..start + share,
            })
        })
        .collect()
}

impl Seat {
    /// Sends one payment of a random bill of this seat's share.
    async fn pay(
        &self,
        http: &reqwest::Client,
        fixture: &Fixture,
        seed: &mut u64,
        idem: String,
        since: Instant,
    ) -> Attempt {
        let span = self.share.len().max(1) as u64;
        let pick = self.share.start + usize::try_from(next_rand(seed) % span).unwrap_or(0);
        let bill = &fixture.bills[pick % fixture.bills.len()];
        let mut body = json!({"bill_id": bill, "amount": 100 + (next_rand(seed) % 900) as i64, "currency": "COP"});
        if let Some(c) = &self.customer {
            body["customer_id"] = json!(c);
        }
        let result = post(
            http,
            &self.base,
            &self.key,
            "/v1/payments",
            &body,
            Some(&idem),
            "application/json",
        )
        .await;
        let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
        let (status, payment_id) = match result {
            Ok((s, v)) => (s, v["id"].as_str().map(str::to_owned)),
            Err(_) => (0, None),
        };
        Attempt {
            idempotency_key: idem,
            body,
            status,
            payment_id,
            micros,
        }
    }
}

/// Runs the plan: `plan.clients` concurrent clients in a closed loop, client i paying from
/// customer i, or an open loop at `Mode::Open`'s rate spread over the same seats; for at most
/// `plan.duration` and `plan.max_requests` requests in all, or until `stop` is set.
pub async fn pay_load(
    base: &str,
    admin: &str,
    fixture: &Fixture,
    plan: &Plan,
    stop: Arc<AtomicBool>,
) -> (Vec<Attempt>, f64) {
    match seats(base, admin, fixture, plan) {
        Ok(seats) => match plan.mode {
            Mode::Closed => closed_loop(seats, fixture, plan, stop).await,
            Mode::Open(rate) => open_loop(seats, fixture, plan, rate, stop).await,
        },
        Err(e) => {
            eprintln!("{e:#}");
            (Vec::new(), 0.0)
        }
    }
}

async fn closed_loop(seats: Vec<Seat>, fixture: &Fixture, plan: &Plan, stop: Arc<AtomicBool>) -> (Vec<Attempt>, f64) {
    let http = client();
    let issued = Arc::new(AtomicU64::new(0));
    let fixture = Arc::new(fixture.clone());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (c, seat) in seats.into_iter().enumerate() {
        let (http, fixture, issued, stop, run_id) = (
            http.clone(),
            fixture.clone(),
            issued.clone(),
            stop.clone(),
            plan.run_id.clone(),
        );
        let (duration, max_requests) = (plan.duration, plan.max_requests);
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (c as u64 + 1).wrapping_mul(0x1000_0000_01B3);
            let mut i = 0u64;
            while start.elapsed() < duration
                && !stop.load(Ordering::Relaxed)
                && issued.fetch_add(1, Ordering::Relaxed) < max_requests
            {
                let key = format!("{run_id}-{c}-{i}");
                i += 1;
                out.push(seat.pay(&http, &fixture, &mut seed, key, Instant::now()).await);
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

/// Sends request i at `start + i / rate`, each on its own task, and times it from that scheduled
/// moment, so a slow answer delays no later request and a stall shows in the latency.
async fn open_loop(
    seats: Vec<Seat>,
    fixture: &Fixture,
    plan: &Plan,
    rate: f64,
    stop: Arc<AtomicBool>,
) -> (Vec<Attempt>, f64) {
    let http = client();
    let fixture = Arc::new(fixture.clone());
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) && i < plan.max_requests {
        let due = start + Duration::from_secs_f64(i as f64 / rate.max(1e-3));
        if due.duration_since(start) >= plan.duration {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let seat = seats[(i as usize) % seats.len()].clone();
        let (http, fixture, key) = (http.clone(), fixture.clone(), format!("{}-{i}", plan.run_id));
        let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (i + 1).wrapping_mul(0x1000_0000_01B3);
        tasks.spawn(async move { seat.pay(&http, &fixture, &mut seed, key, due).await });
        i += 1;
    }
    let attempts = tasks.join_all().await;
    (attempts, start.elapsed().as_secs_f64())
}

/// Sends each of `pairs` payments to two servers at the same moment, with the same key and body,
/// and retries any transient answer with that key. Returns the number of distinct payments made
/// and the number of pairs whose two answers named different payments (which must be 0).
pub async fn same_key_race(
    urls: [&str; 2],
    key: &str,
    fixture: &Fixture,
    pairs: usize,
    run_id: &str,
) -> anyhow::Result<(usize, usize)> {
    let http = client();
    let mut ids = std::collections::BTreeSet::new();
    let mut split = 0;
    for i in 0..pairs {
        let body = json!({"bill_id": fixture.bills[i % fixture.bills.len()], "amount": 100, "currency": "COP",
                          "customer_id": fixture.customers[i % fixture.customers.len()]});
        let idem = format!("{run_id}-race-{i}");
        let send = |url: String| {
            let (http, body, idem) = (http.clone(), body.clone(), idem.clone());
            async move {
                for _ in 0..50 {
                    let (s, v) = post(&http, &url, key, "/v1/payments", &body, Some(&idem), "application/json").await?;
                    match s {
                        201 => return Ok::<String, anyhow::Error>(v["id"].as_str().context("payment id")?.to_owned()),
                        409 | 503 => tokio::time::sleep(Duration::from_millis(20)).await,
                        _ => bail!("{url} answered {s}: {v}"),
                    }
                }
                bail!("{url} kept answering 409/503 for {idem}")
            }
        };
        let (x, y) = tokio::join!(send(urls[0].to_owned()), send(urls[1].to_owned()));
        let (x, y) = (x?, y?);
        if x != y {
            split += 1;
        }
        ids.insert(x);
        ids.insert(y);
    }
    Ok((ids.len(), split))
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
    let mut errors = std::collections::BTreeMap::new();
    for a in attempts.iter().filter(|a| a.status != 201) {
        *errors.entry(a.status).or_default() += 1;
    }
    Summary {
        errors,
        requests: attempts.len(),
        succeeded: ok.len(),
        failed: attempts.len() - ok.len(),
        seconds,
        payments_per_second: ok.len() as f64 / seconds.max(1e-9),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        p999_ms: pct(0.999),
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
