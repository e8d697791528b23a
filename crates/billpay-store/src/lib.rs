//! BillPay's persistence. One `Store` speaks to PostgreSQL (production) or SQLite (the embedded
//! default) through sqlx's `Any` driver, with the same SQL wherever the two dialects agree.
//!
//! Every operation that moves money runs in one database transaction that also writes the
//! journal, its entries, and the caller's idempotency record, so a crash at any point leaves
//! either all of it or none of it.

mod apikeys;
mod billers;
mod bills;
pub mod complaints;
mod customers;
pub mod fetch;
mod flags;
mod guarded;
mod idempotency;
mod ledger;
mod migrate;
pub mod models;
mod outbox;
mod payments;
mod people;
mod rows;
mod scheduled;
mod settlement;
mod signin;
mod stats;
pub mod testing;
pub mod verify;

use std::str::FromStr;
use std::time::Duration;

use billpay_core::Rejection;
use billpay_core::id::Kind;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};

pub use apikeys::{ApiKeyInfo, ApiKeyRecord, KeyTerms, NewApiKey, Role, Scope, hash_secret};
pub use billers::{BillerPatch, NewBiller};
pub use bills::{BillFilter, NewBill};
pub use flags::{AuditEvent, AuditFilter, FlagChange, FlagSetRecord, FlagSetVersion};
pub use guarded::pgbench_payment_script;
pub use idempotency::{IdemKey, Replay, StoredResponse};
pub use models::*;
pub use outbox::{Attempt, AttemptOutcome, ClaimedDelivery, EVENT_TYPES, NewEndpoint};
pub use payments::{PayTarget, PaymentFilter};
pub use people::{Ceremony, CeremonyKind, PasskeyRecord, StaffMember};
pub use scheduled::{NewAutopay, NewScheduledPayment};
pub use settlement::FileLine;
pub use signin::{
    CODE_WINDOW_MINUTES, CODES_PER_WINDOW, MAX_CODE_ATTEMPTS, NewSession, OutgoingEmail, QueuedEmail, SessionOwner,
    SessionRecord, SignInRefusal, hash_with,
};
pub use stats::{BillerFigures, Dashboard, DayFigures, VariantFigures, Volume};
pub use verify::{Violation, verify_ledger};

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{} not found", .0.noun())]
    NotFound(Kind),
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// Another request with the same idempotency key committed first.
    #[error("idempotency key already used")]
    IdempotencyRace,
    /// Rows of a bulk request that broke a rule; nothing was written.
    #[error("{} row(s) refused", .0.len())]
    RowsRejected(Vec<(usize, Rejection)>),
    /// The same bill kept changing under an optimistic payment; the client should retry.
    #[error("the bill is being paid by other requests right now; retry")]
    Contention,
    /// A sign-in step was refused (a wrong or spent code, too many attempts or codes).
    #[error(transparent)]
    SignIn(#[from] signin::SignInRefusal),
    /// The change clashes with the current state (a name taken, a stale version).
    #[error("{0}")]
    Conflict(String),
    /// The request broke a rule of its own (a date in the past, say): a refusal.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// BillPay broke one of its own invariants (an unbalanced journal, stored data that does not
    /// parse): a fault, never the client's mistake and never a refusal to remember.
    #[error("internal invariant broken: {0}")]
    Fault(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A page of a list, newest first. `next_cursor` is the id of the last item when more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says that more follow.
    fn from_rows(mut items: Vec<T>, limit: i64, id: impl Fn(&T) -> &str) -> Self {
        let more = items.len() as i64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(0));
        let next_after = if more {
            items.last().map(|t| id(t).to_owned())
        } else {
            None
        };
        Page { items, next_after }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    contention: Contention,
}

/// What a PostgreSQL payment does when another payment changed its bill first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Contention {
    /// Decide again holding the bill's row lock: concurrent payments of one bill queue.
    #[default]
    Queue,
    /// Decide again without a lock, up to a bound, then answer `bill_busy`.
    Retry,
}

impl std::str::FromStr for Contention {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "queue" => Ok(Contention::Queue),
            "retry" => Ok(Contention::Retry),
            _ => Err(format!("{s:?} is not a contention mode: use queue or retry")),
        }
    }
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct Options {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub contention: Contention,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            contention: Contention::Queue,
        }
    }
}

impl Store {
    /// Opens `url`: `postgres://…` or `sqlite://path?mode=rwc`.
    pub async fn connect(url: &str, opts: Options) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Invalid(format!(
                "unsupported database URL {:?}: use postgres://… or sqlite://…",
                redact(url)
            )));
        };
        let connect = AnyConnectOptions::from_str(url)?;
        let pool = match backend {
            // The guarded payment statement is written for READ COMMITTED (see `guarded`): pin it,
            // whatever default the database or role was given.
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(opts.max_connections)
                    .acquire_timeout(opts.acquire_timeout)
                    // A connection used within the last second is not pinged before it is handed
                    // out (HikariCP's "alive bypass window"): the ping is a round trip per
                    // request, and a connection that broke since is closed on its first error.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > Duration::from_secs(1) {
                                conn.ping().await?;
                            }
                            Ok(true)
                        })
                    })
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED")
                                .await?;
                            Ok(())
                        })
                    })
                    .connect_with(connect)
                    .await?
            }
            // SQLite has one writer at a time. One connection serialises BillPay's transactions
            // in-process, which is both correct and faster than retrying on SQLITE_BUSY.
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(opts.acquire_timeout.max(Duration::from_secs(30)))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(connect)
                    .await?
            }
        };
        Ok(Store {
            pool,
            backend,
            contention: opts.contention,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections open and idle, for the metrics endpoint.
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Whether the database answers and every migration this build knows is applied.
    pub async fn ready(&self) -> Result<()> {
        let pending = migrate::pending(self).await?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Invalid(format!(
                "migrations not applied: {}",
                pending.join(", ")
            )))
        }
    }

    /// Applies pending migrations. Safe to run from several processes at once on PostgreSQL.
    pub async fn migrate(&self) -> Result<Vec<String>> {
        migrate::run(self).await
    }

    /// The raw pool, for tools and tests that inspect the database directly.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// Hides the password in a database URL before it goes into a message.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Picks the statement for the store's dialect. The only differences BillPay needs are row locks,
/// which SQLite does not have (its single writer already serialises transactions).
macro_rules! locking {
    ($store:expr, $sql:literal) => {
        match $store.backend {
            $crate::Backend::Postgres => concat!($sql, " FOR UPDATE"),
            $crate::Backend::Sqlite => $sql,
        }
    };
    ($store:expr, $sql:literal, of $table:literal) => {
        match $store.backend {
            $crate::Backend::Postgres => concat!($sql, " FOR UPDATE OF ", $table),
            $crate::Backend::Sqlite => $sql,
        }
    };
}
pub(crate) use locking;

fn is_unique_violation(e: &sqlx::Error, table: &str) -> bool {
    match e {
        sqlx::Error::Database(d) => d.is_unique_violation() && d.message().contains(table),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
