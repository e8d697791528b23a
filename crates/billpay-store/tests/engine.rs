//! The posting engine's executors, pinned down on both databases: the same plan writes the same
//! rows on PostgreSQL's guarded statement and on the step-by-step transaction; a database that
//! writes other entries than the plan is a fault and keeps nothing; PostgreSQL connections run at
//! the isolation the guarded statement is written for; and the benchmark's SQL is the server's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use billpay_store::pgbench_payment_script;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn pgbench_script_is_generated_from_the_server_statement() {
    let script = pgbench_payment_script().expect("every parameter has a pgbench value");
    let path = repo_root().join("bench/payment.sql");
    if std::env::var_os("BILLPAY_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &script).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert!(
        committed == script,
        "bench/payment.sql differs from the statement the server runs; regenerate it with \
         BILLPAY_UPDATE_SNAPSHOTS=1 cargo nextest run -p billpay-store pgbench_script"
    );
}
