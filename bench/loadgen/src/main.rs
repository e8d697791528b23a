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
        Cmd::Pay {
            fixture,
            clients,
            seconds,
            max_requests,
            run_id,
        } => {
            let f: billpay_loadgen::Fixture = serde_json::from_slice(&std::fs::read(&fixture)?)?;
            let (attempts, secs) = billpay_loadgen::pay_load(
                &cli.url,
                &cli.admin_key,
                &f,
                &billpay_loadgen::Plan {
                    clients,
                    duration: Duration::from_secs(seconds),
                    max_requests,
                    run_id,
                },
                Arc::new(AtomicBool::new(false)),
            )
            .await;
            println!(
                "{}",
                serde_json::to_string(&billpay_loadgen::summarize(&attempts, secs))?
            );
        }
    }
    Ok(())
}
