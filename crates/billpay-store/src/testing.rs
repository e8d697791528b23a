//! Fresh, migrated databases for tests: a new SQLite file, or a new PostgreSQL database created
//! from `BILLPAY_TEST_DATABASE_URL` and dropped again when the handle goes.

use crate::{Backend, Options, Store};

/// The environment variable that points tests at a PostgreSQL server (any database on it; tests
/// create their own). `./dev test` sets it, starting a throw-away server when none is running.
pub const PG_ENV: &str = "BILLPAY_TEST_DATABASE_URL";

pub struct TestDb {
    pub store: Store,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Database { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh database of `backend`, migrated. Panics when PostgreSQL is asked for but
    /// `BILLPAY_TEST_DATABASE_URL` is not set: a skipped suite must not look like a passed one.
    pub async fn new(backend: Backend) -> TestDb {
        Self::with_options(backend, Options::default()).await
    }

    pub async fn with_options(backend: Backend, opts: Options) -> TestDb {
        let unique = format!("bp_test_{}", ulid::Ulid::generate().to_string().to_ascii_lowercase());
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{unique}.db"));
                (format!("sqlite://{}?mode=rwc", path.display()), Cleanup::File(path))
            }
            Backend::Postgres => {
                let admin_url = std::env::var(PG_ENV).unwrap_or_else(|_| {
                    panic!("{PG_ENV} is not set: run the suite with ./dev test, or point it at a PostgreSQL server")
                });
                let admin = Store::connect(
                    &admin_url,
                    Options {
                        max_connections: 1,
                        ..Options::default()
                    },
                )
                .await
                .expect("connect to the test PostgreSQL server");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {unique}")))
                    .execute(admin.pool())
                    .await
                    .expect("create test database");
                admin.close().await;
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b);
                (
                    format!("{base}/{unique}"),
                    Cleanup::Database {
                        admin_url: admin_url.clone(),
                        name: unique,
                    },
                )
            }
        };
        let store = Store::connect(&url, opts).await.expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        TestDb { store, url, cleanup }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime; a fresh one on its own thread does the async work.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(admin) = Store::connect(
                            &admin_url,
                            Options {
                                max_connections: 1,
                                ..Options::default()
                            },
                        )
                        .await
                        {
                            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )))
                            .execute(admin.pool())
                            .await;
                            admin.close().await;
                        }
                    });
                })
                .join();
            }
        }
    }
}
