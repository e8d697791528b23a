//! A small migration runner: each migration runs in its own transaction and is recorded in
//! `billpay_migrations`. On PostgreSQL an advisory lock keeps two pods from migrating at once.

use sqlx::{Connection, Row};

use crate::{Backend, Result, Store};

struct Migration {
    version: i64,
    name: &'static str,
    postgres: &'static str,
    sqlite: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "ledger",
        postgres: include_str!("../migrations/postgres/0001_ledger.sql"),
        sqlite: include_str!("../migrations/sqlite/0001_ledger.sql"),
    },
    Migration {
        version: 2,
        name: "guarded_payments",
        postgres: include_str!("../migrations/postgres/0002_guarded_payments.sql"),
        sqlite: include_str!("../migrations/sqlite/0002_guarded_payments.sql"),
    },
    Migration {
        version: 3,
        name: "no_locks_on_hot_rows",
        postgres: include_str!("../migrations/postgres/0003_no_locks_on_hot_rows.sql"),
        sqlite: include_str!("../migrations/sqlite/0003_no_locks_on_hot_rows.sql"),
    },
    Migration {
        version: 4,
        name: "flags",
        postgres: include_str!("../migrations/postgres/0004_flags.sql"),
        sqlite: include_str!("../migrations/sqlite/0004_flags.sql"),
    },
    Migration {
        version: 5,
        name: "biller_gln",
        postgres: include_str!("../migrations/postgres/0005_biller_gln.sql"),
        sqlite: include_str!("../migrations/sqlite/0005_biller_gln.sql"),
    },
    Migration {
        version: 6,
        name: "audit_requests",
        postgres: include_str!("../migrations/postgres/0006_audit_requests.sql"),
        sqlite: include_str!("../migrations/sqlite/0006_audit_requests.sql"),
    },
    Migration {
        version: 7,
        name: "lifecycle",
        postgres: include_str!("../migrations/postgres/0007_lifecycle.sql"),
        sqlite: include_str!("../migrations/sqlite/0007_lifecycle.sql"),
    },
    Migration {
        version: 8,
        name: "posting_engine",
        postgres: include_str!("../migrations/postgres/0008_posting_engine.sql"),
        sqlite: include_str!("../migrations/sqlite/0008_posting_engine.sql"),
    },
    Migration {
        version: 9,
        name: "sign_in",
        postgres: include_str!("../migrations/postgres/0009_sign_in.sql"),
        sqlite: include_str!("../migrations/sqlite/0009_sign_in.sql"),
    },
    Migration {
        version: 10,
        name: "api_key_lifecycle",
        postgres: include_str!("../migrations/postgres/0010_api_key_lifecycle.sql"),
        sqlite: include_str!("../migrations/sqlite/0010_api_key_lifecycle.sql"),
    },
    Migration {
        version: 11,
        name: "people",
        postgres: include_str!("../migrations/postgres/0011_people.sql"),
        sqlite: include_str!("../migrations/sqlite/0011_people.sql"),
    },
    Migration {
        version: 12,
        name: "bill_fetch",
        postgres: include_str!("../migrations/postgres/0012_bill_fetch.sql"),
        sqlite: include_str!("../migrations/sqlite/0012_bill_fetch.sql"),
    },
    Migration {
        version: 13,
        name: "complaints",
        postgres: include_str!("../migrations/postgres/0013_complaints.sql"),
        sqlite: include_str!("../migrations/sqlite/0013_complaints.sql"),
    },
];

/// An arbitrary, fixed advisory-lock key for BillPay's migrations.
const LOCK_KEY: i64 = 0x00b1_19a7;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS billpay_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

async fn applied(conn: &mut sqlx::AnyConnection) -> Result<Vec<i64>> {
    let rows = sqlx::query("SELECT version FROM billpay_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(|r| r.try_get::<i64, _>(0)).collect::<Result<_, _>>()?)
}

pub(crate) async fn pending(store: &Store) -> Result<Vec<String>> {
    let mut conn = store.pool.acquire().await?;
    let exists = match store.backend {
        Backend::Postgres => sqlx::query("SELECT to_regclass('billpay_migrations') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?
            .try_get::<bool, _>(0)?,
        Backend::Sqlite => {
            sqlx::query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'billpay_migrations'")
                .fetch_one(&mut *conn)
                .await?
                .try_get::<i64, _>(0)?
                > 0
        }
    };
    let done = if exists { applied(&mut conn).await? } else { Vec::new() };
    Ok(MIGRATIONS
        .iter()
        .filter(|m| !done.contains(&m.version))
        .map(|m| format!("{:04}_{}", m.version, m.name))
        .collect())
}

pub(crate) async fn run(store: &Store) -> Result<Vec<String>> {
    let mut conn = store.pool.acquire().await?;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    let result = run_locked(store.backend, &mut conn).await;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(LOCK_KEY)
            .execute(&mut *conn)
            .await?;
    }
    result
}

async fn run_locked(backend: Backend, conn: &mut sqlx::AnyConnection) -> Result<Vec<String>> {
    sqlx::query(CREATE_TABLE).execute(&mut *conn).await?;
    let done = applied(conn).await?;
    let mut ran = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| !done.contains(&m.version)) {
        let sql = match backend {
            Backend::Postgres => m.postgres,
            Backend::Sqlite => m.sqlite,
        };
        let mut tx = conn.begin().await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO billpay_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(billpay_core::time::now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        ran.push(format!("{:04}_{}", m.version, m.name));
    }
    Ok(ran)
}
