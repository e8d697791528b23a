//! `billpay-loadgen`: `setup` a fixture, then `pay` under load and print the figures as JSON.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Load harness for BillPay's payment path")]
struct Cli {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, env = "BILLPAY_ADMIN_KEY")]
    admin_key: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a biller, bills and funded customers; write them to FILE.
    Setup {
        #[arg(long, default_value_t = 2000)]
        bills: usize,
        #[arg(long, default_value_t = 32)]
        customers: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Pay bills from N concurrent clients and print the summary as JSON.
    Pay {
        #[arg(long)]
        fixture: PathBuf,
        #[arg(long, default_value_t = 32)]
        clients: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 1_000_000)]
        max_requests: u64,
        #[arg(long, default_value = "load")]
        run_id: String,
        /// Pay with the admin key naming the customer, with each customer's own key (the
        /// fixture's `customer_keys`), or with each customer's session cookie (`customer_sessions`).
        #[arg(long, default_value = "admin")]
        auth: String,
        /// Send at this many requests per second (an open loop) instead of a closed loop.
        #[arg(long)]
        rate: Option<f64>,
        /// Spread the clients over these servers (comma-separated), instead of --url alone.
        #[arg(long, value_delimiter = ',')]
        urls: Vec<String>,
    },
    /// Send each of N payments to two servers at once with the same key and body; print how many
    /// payments that made (exactly-once holds when it is N) as JSON.
    Race {
        #[arg(long)]
        fixture: PathBuf,
        #[arg(long, value_delimiter = ',')]
        urls: Vec<String>,
        #[arg(long, default_value_t = 200)]
        pairs: usize,
        #[arg(long, default_value = "race")]
        run_id: String,
    },
    /// Mixed load at a fixed rate for MINUTES: payments, bill reads, OFREP bulk evaluations and
    /// biller reads, one in four each. Prints each minute (requests, errors, p50, p99, the
    /// server's RSS, webhooks the receiver verified) as a JSON line, then a summary line.
    Soak {
        #[arg(long)]
        fixture: PathBuf,
        #[arg(long, default_value_t = 30)]
        minutes: u64,
        /// Requests per second, all kinds together.
        #[arg(long, default_value_t = 40.0)]
        rate: f64,
        /// The server's process id (for its RSS).
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value = "bpf_demo_web_client")]
        flags_key: String,
        /// The `receive` command's counts file.
        #[arg(long)]
        counts: Option<PathBuf>,
    },
    /// What bill fetch adds to a customer's look-up: BILLER's fetch endpoint is pointed at a
    /// signed adapter in this process; ROUNDS times, the adapter is asked directly, then a fresh
    /// reference is looked up through BillPay. Prints p50 and p99 of both as JSON.
    Fetch {
        #[arg(long, default_value = "blr_demo_energia")]
        biller: String,
        #[arg(long, default_value = "bpk_demo_customer_ana")]
        customer_key: String,
        #[arg(long, default_value_t = 2000)]
        rounds: usize,
    },
    /// A webhook receiver: verifies every signature and answers 200 (400 when it does not
    /// verify); writes `verified rejected` counts to FILE every 100 ms.
    Receive {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        secret: String,
        #[arg(long)]
        counts: PathBuf,
    },
}

#[derive(Default)]
struct Counts {
    verified: std::sync::atomic::AtomicU64,
    rejected: std::sync::atomic::AtomicU64,
}

async fn receive(port: u16, secret: String, counts_file: PathBuf) -> anyhow::Result<()> {
    use std::sync::atomic::Ordering::Relaxed;
    let counts = Arc::new(Counts::default());
    let state = (counts.clone(), Arc::new(secret));
    let app = axum::Router::new()
        .fallback(
            |axum::extract::State((c, secret)): axum::extract::State<(Arc<Counts>, Arc<String>)>,
             headers: axum::http::HeaderMap,
             body: axum::body::Bytes| async move {
                let sig = headers
                    .get(billpay_worker::signature::SIGNATURE_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                if billpay_worker::signature::verify(sig, &body, &secret, now, 300).is_ok() {
                    c.verified.fetch_add(1, Relaxed);
                    axum::http::StatusCode::OK
                } else {
                    c.rejected.fetch_add(1, Relaxed);
                    axum::http::StatusCode::BAD_REQUEST
                }
            },
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    tokio::spawn(async move {
        loop {
            let line = format!("{} {}\n", counts.verified.load(Relaxed), counts.rejected.load(Relaxed));
            let _ = std::fs::write(&counts_file, line);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    axum::serve(listener, app).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Setup { bills, customers, out } => {
            let f = billpay_loadgen::setup(&cli.url, &cli.admin_key, bills, customers).await?;
            std::fs::write(&out, serde_json::to_string(&f)?).with_context(|| format!("writing {}", out.display()))?;
        }
        Cmd::Receive { port, secret, counts } => receive(port, secret, counts).await?,
        Cmd::Fetch {
            biller,
            customer_key,
            rounds,
        } => {
            let f = billpay_loadgen::fetch::run(&cli.url, &cli.admin_key, &customer_key, &biller, rounds).await?;
            println!("{}", serde_json::to_string(&f)?);
        }
        Cmd::Soak {
            fixture,
            minutes,
            rate,
            pid,
            flags_key,
            counts,
        } => {
            let fixture: billpay_loadgen::Fixture = serde_json::from_slice(&std::fs::read(&fixture)?)?;
            let ms = billpay_loadgen::soak::run(billpay_loadgen::soak::Soak {
                url: cli.url.clone(),
                admin: cli.admin_key.clone(),
                flags_key,
                fixture,
                minutes,
                rate,
                pid,
                counts,
            })
            .await;
            // Trends after the first five minutes (warm-up): RSS in MB per minute, p99 in ms per
            // minute, and the p99 of the last third against the first third.
            let settled: Vec<_> = ms.iter().skip(5).collect();
            let rss: Vec<f64> = settled.iter().map(|m| m.rss_mb).collect();
            let p99: Vec<f64> = settled.iter().map(|m| m.p99_ms).collect();
            let third = (p99.len() / 3).max(1);
            let mean = |xs: &[f64]| {
                if xs.is_empty() {
                    0.0
                } else {
                    xs.iter().sum::<f64>() / xs.len() as f64
                }
            };
            let first = mean(&p99[..third.min(p99.len())]);
            let last = mean(&p99[p99.len().saturating_sub(third)..]);
            println!(
                "{}",
                serde_json::json!({
                    "minutes": ms.len(),
                    "requests": ms.iter().map(|m| m.requests).sum::<usize>(),
                    "errors": ms.iter().map(|m| m.errors).sum::<usize>(),
                    "rss_mb_first": ms.first().map(|m| m.rss_mb),
                    "rss_mb_last": ms.last().map(|m| m.rss_mb),
                    "rss_mb_per_minute_after_5": billpay_loadgen::soak::slope(&rss),
                    "p99_ms_per_minute_after_5": billpay_loadgen::soak::slope(&p99),
                    "p99_last_third_over_first_third": if first > 0.0 { last / first } else { 0.0 },
                    "webhooks_verified": ms.last().map(|m| m.webhooks_verified),
                })
            );
        }
        Cmd::Pay {
            fixture,
            clients,
            seconds,
            max_requests,
            run_id,
            auth,
            rate,
            urls,
        } => {
            let f: billpay_loadgen::Fixture = serde_json::from_slice(&std::fs::read(&fixture)?)?;
            let auth = match auth.as_str() {
                "admin" => billpay_loadgen::Auth::Admin,
                "customer" => billpay_loadgen::Auth::Customer,
                "session" => billpay_loadgen::Auth::Session,
                other => anyhow::bail!("--auth {other:?}: use admin, customer or session"),
            };
            let plan = billpay_loadgen::Plan {
                clients,
                duration: Duration::from_secs(seconds),
                max_requests,
                run_id,
                auth,
                mode: rate.map_or(billpay_loadgen::Mode::Closed, billpay_loadgen::Mode::Open),
                urls,
            };
            let (attempts, secs) =
                billpay_loadgen::pay_load(&cli.url, &cli.admin_key, &f, &plan, Arc::new(AtomicBool::new(false))).await;
            if attempts.is_empty() {
                anyhow::bail!("no request was sent");
            }
            println!(
                "{}",
                serde_json::to_string(&billpay_loadgen::summarize(&attempts, secs))?
            );
        }
        Cmd::Race {
            fixture,
            urls,
            pairs,
            run_id,
        } => {
            let f: billpay_loadgen::Fixture = serde_json::from_slice(&std::fs::read(&fixture)?)?;
            if urls.len() != 2 {
                anyhow::bail!("--urls takes two servers, A,B; got {}", urls.len());
            }
            let (payments, split) =
                billpay_loadgen::same_key_race([&urls[0], &urls[1]], &cli.admin_key, &f, pairs, &run_id).await?;
            println!(
                "{}",
                serde_json::json!({"pairs": pairs, "payments": payments, "split_answers": split})
            );
            if payments != pairs || split != 0 {
                anyhow::bail!(
                    "exactly-once broken: {pairs} keys made {payments} payments, {split} pairs answered differently"
                );
            }
        }
    }
    Ok(())
}
