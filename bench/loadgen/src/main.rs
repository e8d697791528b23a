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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Setup { bills, customers, out } => {
            let f = billpay_loadgen::setup(&cli.url, &cli.admin_key, bills, customers).await?;
            std::fs::write(&out, serde_json::to_string(&f)?).with_context(|| format!("writing {}", out.display()))?;
        }
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
