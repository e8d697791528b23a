//! Server-side latency of `POST /ofrep/v1/evaluate/flags` with 50 flags, measured in-process: each
//! request goes through BillPay's whole router (request ids, metrics, client-key auth, the flag
//! cache, evaluation, JSON) with no network in between. References measured in the same run:
//! `GET /healthz` through the same router (the fixed cost of a request), and the evaluator alone.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use billpay_api::{AppState, app};
use billpay_flags::FlagSet;
use billpay_store::Backend;
use billpay_store::testing::TestDb;

const KEY: &str = "bpf_bench_client_key";

/// 50 flags of the kinds BillPay uses: static switches, string rules on an attribute, 4-way
/// fractional splits, `sem_ver` gates on the app version, and shared `$ref` evaluators.
fn flag_set() -> Value {
    let mut flags = serde_json::Map::new();
    for i in 0..10 {
        flags.insert(
            format!("switch-{i}"),
            json!({"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}),
        );
        flags.insert(
            format!("rule-{i}"),
            json!({"state": "ENABLED", "variants": {"co": "co", "other": "other"}, "defaultVariant": "other",
            "targeting": {"if": [{"ends_with": [{"var": "email"}, ".co"]}, "co", "other"]}}),
        );
        flags.insert(
            format!("split-{i}"),
            json!({"state": "ENABLED", "variants": {"a": "a", "b": "b", "c": "c", "d": "d"}, "defaultVariant": "a",
            "targeting": {"fractional": [["a", 25], ["b", 25], ["c", 25], ["d", 25]]}}),
        );
        flags.insert(
            format!("version-{i}"),
            json!({"state": "ENABLED", "variants": {"new": true, "old": false}, "defaultVariant": "old",
            "targeting": {"if": [{"sem_ver": [{"var": "appVersion"}, ">=", format!("2.{i}.0")]}, "new", "old"]}}),
        );
        flags.insert(
            format!("segment-{i}"),
            json!({"state": "ENABLED", "variants": {"in": true, "out": false}, "defaultVariant": "out",
            "targeting": {"if": [{"$ref": "premium"}, "in", null]}}),
        );
    }
    json!({
        "flags": flags,
        "$evaluators": {"premium": {"and": [{"in": [{"var": "tier"}, ["gold", "platinum"]]}, {"starts_with": [{"var": "country"}, "C"]}]}},
        "metadata": {"flagSetId": "bench"}
    })
}

fn context(i: usize) -> Value {
    let tier = ["basic", "gold", "platinum"][i % 3];
    let country = ["CO", "CL", "US"][i % 3];
    json!({"context": {
        "targetingKey": format!("cus_{i:06}"),
        "email": if i.is_multiple_of(2) { format!("user{i}@example.com.co") } else { format!("user{i}@example.com") },
        "appVersion": format!("2.{}.{}", i % 12, i % 7),
        "tier": tier,
        "country": country,
    }})
}

struct Stats {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Stats {
        p50: at(0.50),
        p99: at(0.99),
        max: samples[samples.len() - 1],
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let requests: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);
    let db = TestDb::new(Backend::Sqlite).await;
    let definition = flag_set();
    if let Err(problems) = billpay_flags::validate(&definition) {
        bail!("the bench flag set is invalid: {problems:?}");
    }
    db.store.create_flag_set("bench", "", &definition, "bench").await?;
    db.store
        .create_flag_client_key("bench", "bench", Some(KEY.into()), "bench")
        .await?;
    let router = app(AppState::new(db.store.clone()));

    let bulk = |i: usize, etag: Option<&str>| {
        let mut req = Request::post("/ofrep/v1/evaluate/flags")
            .header("authorization", format!("Bearer {KEY}"))
            .header("content-type", "application/json");
        if let Some(t) = etag {
            req = req.header("if-none-match", t);
        }
        req.body(Body::from(context(i).to_string())).context("request")
    };

    // Check the answer once: 50 flags, no errors.
    let resp = router.clone().oneshot(bulk(1, None)?).await?;
    let etag = resp.headers().get("etag").context("etag")?.to_str()?.to_owned();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await?;
    let doc: Value = serde_json::from_slice(&body)?;
    let flags = doc["flags"].as_array().context("flags")?;
    if flags.len() != 50 || flags.iter().any(|f| f.get("errorCode").is_some()) {
        bail!("unexpected answer: {doc}");
    }

    let run = |name: &'static str| (name, Vec::with_capacity(requests));
    let (mut evaluate, mut healthz, mut not_modified, mut evaluator) = (
        run("bulk, 50 flags"),
        run("GET /healthz"),
        run("bulk, 304"),
        run("evaluator only"),
    );
    let compiled = FlagSet::compile(&definition).map_err(anyhow::Error::msg)?;
    let keys: Vec<String> = compiled.keys().map(str::to_owned).collect();
    for round in 0..2 {
        // Round 0 warms up; round 1 is measured. The kinds interleave so that all see the same machine.
        for i in 0..requests {
            let req = bulk(i, None)?;
            let t = Instant::now();
            let resp = router.clone().oneshot(req).await?;
            let _ = axum::body::to_bytes(resp.into_body(), 1 << 20).await?;
            let d = t.elapsed();

            let req = Request::get("/healthz").body(Body::empty())?;
            let t = Instant::now();
            let resp = router.clone().oneshot(req).await?;
            let _ = axum::body::to_bytes(resp.into_body(), 1 << 20).await?;
            let h = t.elapsed();

            let req = bulk(1, Some(&etag))?;
            let t = Instant::now();
            let resp = router.clone().oneshot(req).await?;
            if resp.status() != StatusCode::NOT_MODIFIED {
                bail!("expected 304, got {}", resp.status());
            }
            let n = t.elapsed();

            let mut data = context(i)["context"].clone();
            let t = Instant::now();
            let mut out = Vec::with_capacity(keys.len());
            for k in &keys {
                out.push(compiled.evaluate_in(k, &mut data, 1_700_000_000).variant.map(str::len));
            }
            let e = t.elapsed();
            std::hint::black_box(out);

            if round == 1 {
                evaluate.1.push(d);
                healthz.1.push(h);
                not_modified.1.push(n);
                evaluator.1.push(e);
            }
        }
    }
    let reference = stats(healthz.1.clone());
    println!("{requests} requests each, in-process, one thread");
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>14}",
        "", "p50", "p99", "max", "p99 / healthz"
    );
    for (name, samples) in [evaluate, not_modified, evaluator, healthz] {
        let s = stats(samples);
        println!(
            "{name:<16} {:>10} {:>10} {:>10} {:>14.1}",
            us(s.p50),
            us(s.p99),
            us(s.max),
            s.p99.as_secs_f64() / reference.p99.as_secs_f64()
        );
    }
    Ok(())
}
