//! `billpay`: the BillPay runtime.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

mod server;

/// jemalloc's background thread returns freed memory to the system within seconds of a burst;
/// glibc's allocator and mimalloc kept most of it (bench/memory/run.sh measures them).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use billpay_api::web::Web;
use billpay_api::{AppState, app_with, demo};
use billpay_store::{Contention, Options, Role, Store, redact, verify_ledger};

#[derive(Parser)]
#[command(
    name = "billpay",
    version,
    about = "BillPay: pay utility, telecom and tax bills from a wallet, on an exact double-entry ledger."
)]
struct Cli {
    /// Database URL: postgres://user@host/db, or sqlite://path?mode=rwc. Without one, BillPay
    /// uses an embedded SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// Where the embedded database and demo keys live.
    #[arg(long, env = "BILLPAY_DATA_DIR", default_value = ".billpay", global = true)]
    data_dir: PathBuf,
    /// Log format: json, or readable text. `auto` picks text on a terminal.
    #[arg(long, env = "BILLPAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto, global = true)]
    log_format: LogFormat,
    /// What a PostgreSQL payment does when another payment changed its bill first: `queue` waits
    /// for the bill's row lock and decides again; `retry` decides again without a lock, a few
    /// times, then answers 409 bill_busy.
    #[arg(long, env = "BILLPAY_PAYMENT_CONTENTION", default_value = "queue", global = true)]
    payment_contention: Contention,
    /// Seconds a request waits for a PostgreSQL connection before it answers 503
    /// `database_unavailable`: while the database is away, requests fail fast instead of hanging.
    #[arg(long, env = "BILLPAY_DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 1.0, value_parser = seconds, global = true)]
    db_acquire_timeout_secs: f64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Auto,
    Json,
    Text,
}

// Parsed once at start-up: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        #[arg(long, env = "BILLPAY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Load demo billers, bills, customers and API keys (once; restarting adds nothing).
        #[arg(long)]
        demo: bool,
        /// Most database connections (PostgreSQL).
        #[arg(long, env = "BILLPAY_DB_MAX_CONNECTIONS", default_value_t = 16)]
        db_max_connections: u32,
        /// Do not apply pending migrations at start-up (run `billpay migrate` first).
        #[arg(long)]
        skip_migrations: bool,
        /// Days to keep idempotency keys (at least 7).
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(7..))]
        idempotency_retention_days: u32,
        #[command(flatten)]
        web: WebArgs,
        /// Also run the worker (scheduled payments, webhook delivery) in this process.
        #[arg(long, env = "BILLPAY_WORKER")]
        worker: bool,
        #[command(flatten)]
        worker_args: WorkerArgs,
        #[command(flatten)]
        sessions: SessionArgs,
        #[command(flatten)]
        people: PeopleArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Run the worker: scheduled payments and webhook delivery. Any number may run at once.
    Worker {
        /// Exit once nothing is due, instead of waiting for more work.
        #[arg(long)]
        until_idle: bool,
        #[arg(long, env = "BILLPAY_DB_MAX_CONNECTIONS", default_value_t = 8)]
        db_max_connections: u32,
        #[command(flatten)]
        args: WorkerArgs,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Print the API's OpenAPI 3.1 document (the same one the server serves at /openapi.json).
    Openapi,
    /// Ledger tools.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// API key tools.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Staff who sign in through single sign-on: the first admin comes from here; after that,
    /// admins manage staff through the API (`/v1/staff`).
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Name a person staff (the first admin, say). They sign in through single sign-on with
    /// this address, as verified by the issuer.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: StaffRoleArg,
        /// The biller a biller's staff member works for.
        #[arg(long)]
        biller: Option<String>,
    },
    /// List the staff.
    List,
    /// Remove a staff member and end their sessions.
    Remove { id: String },
}

#[derive(Clone, Copy, ValueEnum)]
enum StaffRoleArg {
    Admin,
    Biller,
}

/// How people prove who they are: passkeys for customers, single sign-on for staff.
#[derive(clap::Args)]
struct PeopleArgs {
    /// The origin of the customer apps (e.g. https://pay.example.com), which passkeys are bound
    /// to; its host is the relying party id, and further origins must be the same host or its
    /// subdomains. Comma-separated. Without it, the server's own http://localhost origin is used
    /// when it listens on loopback, and passkeys are off otherwise.
    #[arg(long, env = "BILLPAY_PASSKEY_ORIGINS", value_delimiter = ',')]
    passkey_origin: Vec<String>,
    /// The staff's OpenID Connect issuer (e.g. https://cognito-idp.REGION.amazonaws.com/POOL_ID).
    /// Without it, staff single sign-on is off.
    #[arg(long, env = "BILLPAY_OIDC_ISSUER")]
    oidc_issuer: Option<String>,
    /// BillPay's client id at the issuer.
    #[arg(long, env = "BILLPAY_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    oidc_client_id: Option<String>,
    /// BillPay's client secret at the issuer (a public client with PKCE needs none).
    #[arg(long, env = "BILLPAY_OIDC_CLIENT_SECRET", hide_env_values = true)]
    oidc_client_secret: Option<String>,
    /// This API's public callback URL, registered at the issuer:
    /// https://api.example.com/v1/auth/oidc/callback.
    #[arg(long, env = "BILLPAY_OIDC_REDIRECT_URL")]
    oidc_redirect_url: Option<String>,
}

impl PeopleArgs {
    fn passkeys(&self, listen: SocketAddr) -> anyhow::Result<Option<billpay_api::routes::passkeys::RelyingParty>> {
        let origins = if self.passkey_origin.is_empty() {
            if !listen.ip().is_loopback() {
                tracing::warn!("no passkey origin (BILLPAY_PASSKEY_ORIGINS): customers sign in with e-mail codes only");
                return Ok(None);
            }
            vec![format!("http://localhost:{}", listen.port())]
        } else {
            self.passkey_origin.clone()
        };
        let rp = billpay_api::routes::passkeys::RelyingParty::new(&origins).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Some(rp))
    }

    fn oidc(&self, listen: SocketAddr) -> anyhow::Result<Option<billpay_api::oidc::Provider>> {
        let Some(issuer) = &self.oidc_issuer else {
            return Ok(None);
        };
        let client_id = self
            .oidc_client_id
            .as_deref()
            .context("--oidc-issuer needs --oidc-client-id")?;
        let redirect = match &self.oidc_redirect_url {
            Some(r) => r.clone(),
            None if listen.ip().is_loopback() => format!("http://localhost:{}/v1/auth/oidc/callback", listen.port()),
            None => bail!("--oidc-issuer needs --oidc-redirect-url: this API's public /v1/auth/oidc/callback URL"),
        };
        let provider =
            billpay_api::oidc::Provider::new(issuer, client_id, self.oidc_client_secret.as_deref(), &redirect)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        tracing::info!(%issuer, %redirect, "staff sign in through single sign-on");
        Ok(Some(provider))
    }
}

/// The web apps and who may call the API from a browser.
#[derive(clap::Args)]
struct WebArgs {
    /// The built web apps, one folder per app (`npm run build` in web/). Served when built.
    #[arg(long, env = "BILLPAY_WEB_DIR", default_value = "web/dist")]
    web_dir: PathBuf,
    /// The flag set the web apps read.
    #[arg(long, env = "BILLPAY_WEB_FLAG_SET", default_value = "billpay-web")]
    web_flag_set: String,
    /// The read-only flag client key the web apps use (with --demo, the demo's).
    #[arg(long, env = "BILLPAY_WEB_FLAGS_KEY")]
    web_flags_key: Option<String>,
    /// Browser origins allowed to call the API and OFREP, comma-separated
    /// (e.g. https://pay.example.com), when the apps are served from elsewhere.
    #[arg(long, env = "BILLPAY_CORS_ORIGINS", value_delimiter = ',')]
    cors_origin: Vec<String>,
}

/// How the worker retries and paces itself.
#[derive(clap::Args, Clone)]
struct WorkerArgs {
    /// Seconds to wait after a webhook's first failed attempt; each later failure doubles it.
    #[arg(long, env = "BILLPAY_WEBHOOK_RETRY_BASE_SECS", default_value_t = 30.0)]
    webhook_retry_base_secs: f64,
    /// The longest wait, in seconds, between two attempts.
    #[arg(long, env = "BILLPAY_WEBHOOK_RETRY_MAX_SECS", default_value_t = 21600.0)]
    webhook_retry_max_secs: f64,
    /// Hours after the event BillPay stops trying to deliver it.
    #[arg(long, env = "BILLPAY_WEBHOOK_GIVE_UP_HOURS", default_value_t = 72.0)]
    webhook_give_up_hours: f64,
    /// Seconds a claimed delivery stays with one worker before another may take it over.
    #[arg(long, env = "BILLPAY_WEBHOOK_LEASE_SECS", default_value_t = 60.0)]
    webhook_lease_secs: f64,
    /// Seconds a receiver has to answer.
    #[arg(long, env = "BILLPAY_WEBHOOK_TIMEOUT_SECS", default_value_t = 10.0)]
    webhook_timeout_secs: f64,
    /// Deliveries one worker sends at once.
    #[arg(long, env = "BILLPAY_WEBHOOK_CONCURRENCY", default_value_t = 32)]
    webhook_concurrency: i64,
    /// Seconds to wait when there is nothing to do.
    #[arg(long, env = "BILLPAY_WORKER_POLL_SECS", default_value_t = 0.5)]
    poll_secs: f64,
    /// The SMTP relay that sends e-mail (sign-in codes): `smtps://user:password@host:465`,
    /// `smtp://user:password@host:587?tls=required`, or `smtp://127.0.0.1:PORT` for a relay on
    /// this machine. Without one, e-mail waits in the outbox.
    #[arg(long, env = "BILLPAY_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// Who BillPay's e-mail comes from.
    #[arg(
        long,
        env = "BILLPAY_MAIL_FROM",
        default_value = "BillPay <no-reply@billpay.localhost>"
    )]
    mail_from: String,
}

/// How the server protects itself: timeouts, caps and rate limits (docs/operations.md).
#[derive(clap::Args)]
struct LimitArgs {
    /// Seconds a client may take to send a request's headers; also how long a kept-alive
    /// connection may sit idle. Behind a load balancer, make it longer than the balancer's idle
    /// timeout (the ALB's is 60 s), which then guards against slow clients itself.
    #[arg(long, env = "BILLPAY_HEADER_READ_TIMEOUT_SECS", default_value_t = 10.0, value_parser = seconds)]
    header_read_timeout_secs: f64,
    /// Seconds a client may take to send a request's body; past it, 408.
    #[arg(long, env = "BILLPAY_BODY_TIMEOUT_SECS", default_value_t = 10.0, value_parser = seconds)]
    body_timeout_secs: f64,
    /// Seconds a request may run in all; past it, 503 `request_timeout` (nothing half-written).
    #[arg(long, env = "BILLPAY_REQUEST_TIMEOUT_SECS", default_value_t = 30.0, value_parser = seconds)]
    request_timeout_secs: f64,
    /// Connections served at once; past it, 503 with Retry-After (probes still answer).
    #[arg(long, env = "BILLPAY_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Requests handled at once; past it, 503 `overloaded` with Retry-After, never a queue.
    #[arg(long, env = "BILLPAY_MAX_IN_FLIGHT", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: u32,
    /// Largest request head (request line and headers), in bytes; larger gets 431.
    #[arg(long, env = "BILLPAY_MAX_HEADER_BYTES", default_value_t = 16384, value_parser = clap::value_parser!(u32).range(1024..))]
    max_header_bytes: u32,
    /// Rate limit per customer key or session, in this process (`N/min,burst=B`).
    #[arg(long, env = "BILLPAY_RATE_LIMIT_CUSTOMER", default_value = "600/min,burst=60")]
    rate_limit_customer: billpay_api::protect::Rate,
    /// Rate limit per biller key or biller staff session, in this process.
    #[arg(long, env = "BILLPAY_RATE_LIMIT_BILLER", default_value = "3000/min,burst=300")]
    rate_limit_biller: billpay_api::protect::Rate,
    /// Rate limit per admin key or staff session, in this process.
    #[arg(long, env = "BILLPAY_RATE_LIMIT_ADMIN", default_value = "3000/min,burst=300")]
    rate_limit_admin: billpay_api::protect::Rate,
    /// Rate limit per client address for requests that do not sign in, in this process.
    #[arg(long, env = "BILLPAY_RATE_LIMIT_ANONYMOUS", default_value = "300/min,burst=60")]
    rate_limit_anonymous: billpay_api::protect::Rate,
    /// Rate limit per caller on the bulk endpoints (`/v1/bills/bulk`, reconciliations).
    #[arg(long, env = "BILLPAY_RATE_LIMIT_BULK", default_value = "60/min,burst=10")]
    rate_limit_bulk: billpay_api::protect::Rate,
    /// No rate limits (the timeouts and caps stay).
    #[arg(long, env = "BILLPAY_NO_RATE_LIMITS")]
    no_rate_limits: bool,
    /// For measuring what protection costs (bench/protection): none of the request-path
    /// limits (in-flight cap, request and body timeouts, rate limits).
    #[arg(long, hide = true)]
    unprotected: bool,
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds between 0 and 86400")),
    }
}

impl LimitArgs {
    fn limits(&self) -> Option<billpay_api::protect::Limits> {
        if self.unprotected {
            return None;
        }
        Some(billpay_api::protect::Limits {
            request_timeout: Duration::from_secs_f64(self.request_timeout_secs),
            body_timeout: Duration::from_secs_f64(self.body_timeout_secs),
            max_in_flight: self.max_in_flight as usize,
            rates: (!self.no_rate_limits).then_some(billpay_api::protect::Rates {
                customer: self.rate_limit_customer,
                biller: self.rate_limit_biller,
                admin: self.rate_limit_admin,
                anonymous: self.rate_limit_anonymous,
                bulk: self.rate_limit_bulk,
            }),
        })
    }

    fn connections(&self) -> server::ConnLimits {
        server::ConnLimits {
            max_connections: self.max_connections as usize,
            header_read_timeout: Duration::from_secs_f64(self.header_read_timeout_secs),
            max_header_bytes: self.max_header_bytes as usize,
            drain: Duration::from_secs(30),
        }
    }
}

/// How long people's sessions and sign-in codes live.
#[derive(clap::Args)]
struct SessionArgs {
    /// Minutes a session may go unused before it ends.
    #[arg(long, env = "BILLPAY_SESSION_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=1440))]
    session_idle_minutes: u64,
    /// Hours after sign-in a session ends, however busy.
    #[arg(long, env = "BILLPAY_SESSION_MAX_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=720))]
    session_max_hours: u64,
    /// Proxies in front of BillPay that append to X-Forwarded-For (an ALB: 1). Sign-in limits per
    /// client address read the address that many entries from the right; with 0 (the default)
    /// they use the connection's peer and ignore the header, which a client can forge.
    #[arg(long, env = "BILLPAY_TRUSTED_PROXY_HOPS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=5))]
    trusted_proxy_hops: u64,
    /// Minutes a staff session may go unused before it ends.
    #[arg(long, env = "BILLPAY_STAFF_SESSION_IDLE_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=1440))]
    staff_session_idle_minutes: u64,
    /// Hours after sign-in a staff session ends, however busy.
    #[arg(long, env = "BILLPAY_STAFF_SESSION_MAX_HOURS", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=720))]
    staff_session_max_hours: u64,
    /// Minutes an e-mailed sign-in code stays good.
    #[arg(long, env = "BILLPAY_SIGN_IN_CODE_MINUTES", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    sign_in_code_minutes: u64,
}

impl SessionArgs {
    fn policy(&self, trusted_origins: &[String], demo: bool) -> billpay_api::session::Policy {
        billpay_api::session::Policy {
            idle: Duration::from_secs(self.session_idle_minutes * 60),
            absolute: Duration::from_secs(self.session_max_hours * 3600),
            staff_idle: Duration::from_secs(self.staff_session_idle_minutes * 60),
            staff_absolute: Duration::from_secs(self.staff_session_max_hours * 3600),
            code_ttl: Duration::from_secs(self.sign_in_code_minutes * 60),
            trusted_origins: trusted_origins.to_vec(),
            demo_sign_in: demo,
            trusted_proxy_hops: usize::try_from(self.trusted_proxy_hops).unwrap_or(0),
        }
    }
}

impl WorkerArgs {
    fn settings(&self) -> anyhow::Result<billpay_worker::Settings> {
        let secs = |name: &str, v: f64| {
            Duration::try_from_secs_f64(v)
                .ok()
                .filter(|d| !d.is_zero())
                .with_context(|| format!("--{name} must be a positive number of seconds, not {v}"))
        };
        if self.webhook_concurrency < 1 {
            bail!("--webhook-concurrency must be at least 1");
        }
        Ok(billpay_worker::Settings {
            retry: billpay_worker::RetryPolicy {
                base: secs("webhook-retry-base-secs", self.webhook_retry_base_secs)?,
                max_delay: secs("webhook-retry-max-secs", self.webhook_retry_max_secs)?,
                give_up_after: secs("webhook-give-up-hours", self.webhook_give_up_hours * 3600.0)?,
            },
            lease: secs("webhook-lease-secs", self.webhook_lease_secs)?,
            timeout: secs("webhook-timeout-secs", self.webhook_timeout_secs)?,
            batch: self.webhook_concurrency,
            idle_wait: secs("poll-secs", self.poll_secs)?,
        })
    }

    fn worker(&self, store: &Store) -> anyhow::Result<billpay_worker::Worker> {
        let worker = billpay_worker::Worker::new(
            store.clone(),
            std::sync::Arc::new(billpay_core::time::SystemClock),
            self.settings()?,
        );
        Ok(match &self.smtp_url {
            Some(url) => worker.with_mailer(
                billpay_worker::mail::Mailer::new(url, &self.mail_from)
                    .map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?,
            ),
            None => {
                tracing::warn!("no SMTP relay (BILLPAY_SMTP_URL): e-mail, such as sign-in codes, waits in the outbox");
                worker
            }
        })
    }
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Check every ledger invariant; exits 1 and lists what is broken if any fails.
    Verify,
}

#[derive(Subcommand)]
enum ApikeyCommand {
    /// Create an API key and print its secret once.
    Create {
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The biller a biller key speaks for.
        #[arg(long)]
        biller: Option<String>,
        /// The customer a customer key speaks for.
        #[arg(long)]
        customer: Option<String>,
        #[arg(long, default_value = "created with billpay apikey create")]
        label: String,
        /// `read_write`, or `read_only` for a key that may only read.
        #[arg(long, default_value = "read_write")]
        scope: String,
        /// Days until the key stops working; without it, it does not expire.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=730))]
        expires_in_days: Option<u32>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Biller,
    Customer,
}

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_env("BILLPAY_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

fn database_url(cli: &Cli) -> anyhow::Result<String> {
    if let Some(url) = &cli.database_url {
        return Ok(url.clone());
    }
    std::fs::create_dir_all(&cli.data_dir)
        .with_context(|| format!("creating data directory {}", cli.data_dir.display()))?;
    let path = cli.data_dir.join("billpay.db");
    Ok(format!("sqlite://{}?mode=rwc", path.display()))
}

async fn open(cli: &Cli, max_connections: u32) -> anyhow::Result<Store> {
    let url = database_url(cli)?;
    let store = Store::connect(
        &url,
        Options {
            max_connections,
            contention: cli.payment_contention,
            acquire_timeout: Duration::from_secs_f64(cli.db_acquire_timeout_secs),
        },
    )
    .await
    .with_context(|| format!("opening database {}", redact(&url)))?;
    Ok(store)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Serve {
            listen,
            demo,
            db_max_connections,
            skip_migrations,
            idempotency_retention_days,
            web,
            worker,
            worker_args,
            sessions,
            people,
            limits,
        } => {
            let store = open(&cli, *db_max_connections).await?;
            let worker = if *worker {
                Some(worker_args.worker(&store)?)
            } else {
                None
            };
            if !skip_migrations {
                store.migrate().await.context("applying migrations")?;
            }
            let mut demo_keys = None;
            if *demo {
                let keys = demo::load(&store).await.context("loading demo data")?;
                write_demo_keys(&cli.data_dir, &keys)?;
                demo_keys = Some(keys);
            }
            let mut options = web_options(web, demo_keys.as_ref(), people.oidc_issuer.is_some());
            options.limits = limits.limits();
            if *demo {
                tracing::warn!(
                    "DEMO MODE: anyone can sign in as a demo customer without a code (POST /v1/auth/demo-sessions); never run --demo where real people can reach it"
                );
            }
            let state = AppState::with_people(
                store.clone(),
                sessions.policy(&web.cors_origin, *demo),
                people.passkeys(*listen)?,
                people.oidc(*listen)?,
            );
            serve(
                state,
                *listen,
                *idempotency_retention_days,
                options,
                limits.connections(),
                worker,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker {
            until_idle,
            db_max_connections,
            args,
        } => {
            let store = open(&cli, *db_max_connections).await?;
            store
                .ready()
                .await
                .context("the database is not migrated; run `billpay migrate`")?;
            let worker = args.worker(&store)?;
            tracing::info!(backend = ?store.backend(), "BillPay worker started");
            let total = if *until_idle {
                let mut total = billpay_worker::Tally::default();
                loop {
                    let t = worker.tick().await?;
                    if t.is_idle() {
                        break total;
                    }
                    total.add(t);
                }
            } else {
                worker.run(shutdown_signal()).await
            };
            println!(
                "{}",
                serde_json::json!({"scheduled_payments_succeeded": total.payments_succeeded,
                    "scheduled_payments_failed": total.payments_failed,
                    "webhooks_delivered": total.deliveries_ok, "webhook_attempts_failed": total.deliveries_failed})
            );
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Openapi => {
            let doc =
                serde_json::to_string_pretty(&billpay_api::openapi::document()).context("serialising the document")?;
            println!("{doc}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let store = open(&cli, 2).await?;
            let ran = store.migrate().await.context("applying migrations")?;
            if ran.is_empty() {
                println!("database is up to date");
            } else {
                println!("applied: {}", ran.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ledger {
            command: LedgerCommand::Verify,
        } => {
            let store = open(&cli, 2).await?;
            store
                .ready()
                .await
                .context("the database is not migrated; run `billpay migrate`")?;
            let violations = verify_ledger(&store).await.context("reading the ledger")?;
            if violations.is_empty() {
                println!("ledger ok: every invariant holds");
                Ok(ExitCode::SUCCESS)
            } else {
                println!("ledger BROKEN: {} violation(s)", violations.len());
                for v in &violations {
                    println!("  - {v}");
                }
                Ok(ExitCode::from(1))
            }
        }
        Command::Apikey {
            command:
                ApikeyCommand::Create {
                    role,
                    biller,
                    customer,
                    label,
                    scope,
                    expires_in_days,
                },
        } => {
            let role = match role {
                RoleArg::Admin => Role::Admin,
                RoleArg::Biller => Role::Biller,
                RoleArg::Customer => Role::Customer,
            };
            match (role, biller, customer) {
                (Role::Biller, None, _) => bail!("a biller key needs --biller ID"),
                (Role::Customer, _, None) => bail!("a customer key needs --customer ID"),
                _ => {}
            }
            let store = open(&cli, 2).await?;
            store
                .ready()
                .await
                .context("the database is not migrated; run `billpay migrate`")?;
            let terms = billpay_store::KeyTerms {
                scope: billpay_store::Scope::parse(scope)
                    .with_context(|| format!("--scope {scope:?}: use read_write or read_only"))?,
                expires_at: expires_in_days.map(|d| billpay_core::time::from_now(time::Duration::days(i64::from(d)))),
            };
            let key = store
                .create_api_key(role, biller.as_deref(), customer.as_deref(), label, &terms)
                .await?;
            println!(
                "{}",
                serde_json::json!({ "id": key.record.id, "role": role.as_str(), "biller_id": key.record.biller_id,
                    "customer_id": key.record.customer_id, "scope": key.record.scope.as_str(),
                    "expires_at": key.record.expires_at, "key": key.secret })
            );
            eprintln!("keep the key now: BillPay stores only its hash and cannot show it again");
            Ok(ExitCode::SUCCESS)
        }
        Command::Staff { command } => staff_command(&cli, command).await,
    }
}

async fn staff_command(cli: &Cli, command: &StaffCommand) -> anyhow::Result<ExitCode> {
    let store = open(cli, 2).await?;
    store
        .ready()
        .await
        .context("the database is not migrated; run `billpay migrate`")?;
    let json = |m: billpay_store::StaffMember| {
        serde_json::json!({"id": m.id, "email": m.email, "name": m.name, "role": m.role.as_str(),
            "biller_id": m.biller_id, "bound": m.subject.is_some(), "created_at": m.created_at})
    };
    match command {
        StaffCommand::Add {
            email,
            name,
            role,
            biller,
        } => {
            let role = match role {
                StaffRoleArg::Admin => Role::Admin,
                StaffRoleArg::Biller => Role::Biller,
            };
            let email = email.trim().to_ascii_lowercase();
            if !email.contains('@') {
                bail!("--email {email:?} is not an e-mail address");
            }
            let m = store
                .add_staff(&email, name.trim(), role, biller.as_deref(), "cli")
                .await?;
            store
                .record_audit("cli", "staff added", &m.id, &json(m.clone()), None)
                .await?;
            println!("{}", json(m));
        }
        StaffCommand::List => {
            for m in store.list_staff().await? {
                println!("{}", json(m));
            }
        }
        StaffCommand::Remove { id } => {
            let m = store.remove_staff(id).await?;
            store
                .record_audit("cli", "staff removed", &m.id, &json(m.clone()), None)
                .await?;
            println!("{}", json(m));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_demo_keys(dir: &Path, keys: &demo::DemoKeys) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("demo-keys.json");
    std::fs::write(&path, serde_json::to_string_pretty(keys)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("BillPay demo data loaded. API keys (also in {}):", path.display());
    println!("  admin                      {}", keys.admin);
    println!("  flags client ({})  {}", keys.flag_set, keys.flags_client);
    for k in keys.billers.iter().chain(&keys.customers) {
        println!("  {:<26} {}", k.id, k.key);
    }
    Ok(())
}

/// The web apps' runtime configuration (`/config.json`) and CORS.
fn web_options(web: &WebArgs, demo: Option<&demo::DemoKeys>, sso: bool) -> billpay_api::Options {
    let served = Web::built(&web.web_dir);
    if !served {
        tracing::warn!(dir = %web.web_dir.display(), "no built web apps here; serving the API only (build them with `npm run build` in web/)");
    }
    let flags_key = web
        .web_flags_key
        .clone()
        .or_else(|| demo.map(|d| d.flags_client.clone()));
    let mut config = serde_json::json!({
        "apiBase": "",
        "flagSet": web.web_flag_set,
        "flagsKey": flags_key,
        "sso": sso,
    });
    if let Some(d) = demo {
        // Customers sign in with a session; the page gets their ids and names, never a key.
        let customers: Vec<serde_json::Value> = d
            .customers
            .iter()
            .map(|c| serde_json::json!({"id": c.id, "name": c.name}))
            .collect();
        config["demo"] = serde_json::json!({
            "adminEmail": billpay_api::demo::DEMO_ADMIN_EMAIL,
            "billerStaffEmail": billpay_api::demo::DEMO_BILLER_STAFF_EMAIL,
            "customers": customers,
        });
    }
    billpay_api::Options {
        web: served.then(|| Web {
            dir: web.web_dir.clone(),
            config,
        }),
        cors_origins: web.cors_origin.clone(),
        limits: None,
    }
}

async fn serve(
    state: AppState,
    listen: SocketAddr,
    retention_days: u32,
    options: billpay_api::Options,
    connections: server::ConnLimits,
    worker: Option<billpay_worker::Worker>,
) -> anyhow::Result<()> {
    let store = state.store.clone();
    let sweeper = tokio::spawn(sweep_idempotency_keys(store.clone(), retention_days));
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = worker.map(|w| {
        tracing::info!("running the worker in-process");
        tokio::spawn(w.run(async {
            let _ = worker_stopped.await;
        }))
    });
    let web = options.web.is_some();
    let router = app_with(state, options);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    tracing::info!(addr = %listener.local_addr()?, backend = ?store.backend(), "BillPay is serving");
    let addr = listener.local_addr()?;
    println!("BillPay API on http://{addr}");
    if web {
        // Browsers refuse passkeys on an IP address: on loopback, the apps are at localhost.
        let site = if addr.ip().is_loopback() {
            format!("localhost:{}", addr.port())
        } else {
            addr.to_string()
        };
        println!("  customer app A http://{site}/a/   (either app sends a customer to the one the A/B test assigns)");
        println!("  customer app B http://{site}/b/");
        println!("  flags admin    http://{site}/flags/");
        println!("  biller portal  http://{site}/portal/");
    }
    server::run(listener, router, connections, shutdown_signal()).await?;
    sweeper.abort();
    let _ = stop_worker.send(());
    if let Some(w) = worker {
        let _ = w.await;
    }
    store.close().await;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. In-flight requests then finish; each payment is one database
/// transaction, so none is ever left half-written.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}

async fn sweep_idempotency_keys(store: Store, retention_days: u32) {
    loop {
        let cutoff = time::OffsetDateTime::now_utc() - time::Duration::days(i64::from(retention_days));
        match store
            .idempotency_sweep(&billpay_core::time::format_timestamp(cutoff))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "swept expired idempotency keys"),
            Err(e) => tracing::warn!(error = %e, "idempotency sweep failed"),
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}
