//! `soak`: mixed load at a fixed rate for a long time, reported minute by minute: payments,
//! bill reads, OFREP bulk evaluations and biller reads, one in four each; the server's webhook
//! deliveries of those payments reach the `receive` command's counter.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::Fixture;

pub struct Soak {
    pub url: String,
    pub admin: String,
    pub flags_key: String,
    pub fixture: Fixture,
    pub minutes: u64,
    pub rate: f64,
    /// The server's process id, for its resident memory.
    pub pid: u32,
    /// The receiver's counts file (`verified rejected`), when webhooks are delivered.
    pub counts: Option<PathBuf>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Minute {
    pub minute: u64,
    pub requests: usize,
    pub errors: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rss_mb: f64,
    pub webhooks_verified: u64,
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn verified(counts: &Option<PathBuf>) -> u64 {
    counts
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// The `q` quantile of sorted microsecond latencies, in milliseconds.
pub fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    sorted[i] as f64 / 1000.0
}

/// Runs the soak, printing each minute as a JSON line; returns the minutes.
pub async fn run(s: Soak) -> Vec<Minute> {
    let http = crate::client();
    let s = Arc::new(s);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, bool)>();
    let start = Instant::now();
    let total = Duration::from_secs(s.minutes * 60);
    let sender = {
        let (s, http) = (s.clone(), http.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            loop {
                let due = start + Duration::from_secs_f64(i as f64 / s.rate.max(0.1));
                if due.duration_since(start) >= total {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let (s, http, tx) = (s.clone(), http.clone(), tx.clone());
                tokio::spawn(async move {
                    let ok = one(&s, &http, i).await;
                    let _ = tx.send((due.elapsed().as_micros() as u64, ok));
                });
                i += 1;
            }
        })
    };
    let mut minutes = Vec::new();
    let mut lat = Vec::new();
    let mut errors = 0;
    let mut tick = tokio::time::interval_at((start + Duration::from_secs(60)).into(), Duration::from_secs(60));
    loop {
        tokio::select! {
            got = rx.recv() => match got {
                Some((micros, ok)) => {
                    lat.push(micros);
                    if !ok { errors += 1; }
                }
                // Every request of the run is answered: the last minute ends here.
                None => {
                    if !lat.is_empty() {
                        close_minute(&s, &mut minutes, &mut lat, &mut errors);
                    }
                    break;
                }
            },
            _ = tick.tick() => {
                close_minute(&s, &mut minutes, &mut lat, &mut errors);
                if minutes.len() as u64 >= s.minutes {
                    break;
                }
            }
        }
    }
    sender.abort();
    minutes
}

/// Ends a minute: prints and keeps its figures, and starts the next one from nothing.
fn close_minute(s: &Soak, minutes: &mut Vec<Minute>, lat: &mut Vec<u64>, errors: &mut usize) {
    lat.sort_unstable();
    let m = Minute {
        minute: minutes.len() as u64 + 1,
        requests: lat.len(),
        errors: *errors,
        p50_ms: percentile(lat, 0.5),
        p99_ms: percentile(lat, 0.99),
        rss_mb: rss_mb(s.pid),
        webhooks_verified: verified(&s.counts),
    };
    println!("{}", serde_json::to_string(&m).unwrap_or_default());
    minutes.push(m);
    lat.clear();
    *errors = 0;
}

/// Request `i`: a payment, a bill, an OFREP bulk evaluation or a biller, in turn.
async fn one(s: &Soak, http: &reqwest::Client, i: u64) -> bool {
    let f = &s.fixture;
    let n = i as usize;
    let bill = &f.bills[n % f.bills.len()];
    let customer = &f.customers[n % f.customers.len()];
    let req = match i % 4 {
        0 => http
            .post(format!("{}/v1/payments", s.url))
            .bearer_auth(&s.admin)
            .header("idempotency-key", format!("soak-{}-{i}", std::process::id()))
            .json(&json!({"bill_id": bill, "customer_id": customer, "amount": 100 + (i % 900), "currency": "COP"})),
        1 => http.get(format!("{}/v1/bills/{bill}", s.url)).bearer_auth(&s.admin),
        2 => http
            .post(format!("{}/ofrep/v1/evaluate/flags", s.url))
            .bearer_auth(&s.flags_key)
            .json(&json!({"context": {"targetingKey": customer}})),
        _ => http
            .get(format!("{}/v1/billers/{}", s.url, f.biller_id))
            .bearer_auth(&s.admin),
    };
    match req.timeout(Duration::from_secs(10)).send().await {
        Ok(r) => {
            let ok = r.status().is_success();
            let _ = r.bytes().await;
            ok
        }
        Err(_) => false,
    }
}

/// Least-squares slope of `ys` against their index, per step.
pub fn slope(ys: &[f64]) -> f64 {
    let n = ys.len() as f64;
    if ys.len() < 2 {
        return 0.0;
    }
    let mx = (n - 1.0) / 2.0;
    let my = ys.iter().sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mx;
        num += dx * (y - my);
        den += dx * dx;
    }
    if den == 0.0 { 0.0 } else { num / den }
}
