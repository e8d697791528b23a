//! The `billpay` commands other than `serve`: migrate, apikey create, ledger verify.

use std::process::{Command, Output};

use billpay_store::Backend;
use billpay_store::testing::TestDb;

fn billpay(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_billpay"))
        .args(args)
        .args(["--database-url", db_url])
        .env("BILLPAY_LOG", "error")
        .output()
        .expect("run billpay")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_apikey_and_ledger_verify() {
    let db = TestDb::new(Backend::Sqlite).await;
    let out = billpay(&db.url, &["migrate"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("up to date"),
        "a migrated database has nothing to apply"
    );

    let out = billpay(&db.url, &["apikey", "create", "--role", "admin"]);
    assert!(out.status.success(), "{}", text(&out));
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert!(
        key["key"]
            .as_str()
            .is_some_and(|k| k.starts_with("bpk_") && k.len() > 40)
    );
    let hash = billpay_store::hash_secret(key["key"].as_str().unwrap_or_default());
    let stored = db
        .store
        .api_key_by_hash(&hash)
        .await
        .expect("lookup")
        .expect("the key is stored");
    assert_eq!(stored.role, billpay_store::Role::Admin);

    let out = billpay(&db.url, &["apikey", "create", "--role", "biller"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("needs --biller"), "{}", text(&out));
    let out = billpay(
        &db.url,
        &["apikey", "create", "--role", "customer", "--customer", "cus_nobody"],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("customer not found"), "{}", text(&out));

    billpay_api::demo::load(&db.store).await.expect("demo data");
    let out = billpay(&db.url, &["ledger", "verify"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ledger ok"));

    // Break an invariant behind the ledger's back: the report names it and the exit code is 1.
    sqlx::query("UPDATE wallets SET balance = balance + 1 WHERE customer_id = 'cus_demo_ana' AND currency = 'COP'")
        .execute(db.store.pool())
        .await
        .expect("tamper");
    let out = billpay(&db.url, &["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = text(&out);
    assert!(report.contains("ledger BROKEN"), "{report}");
    assert!(
        report.contains("acct_wallet_demo_ana_cop says 100000001, its entries sum to 100000000"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_data_loads_once() {
    let db = TestDb::new(Backend::Sqlite).await;
    let count = |table: &'static str| {
        let pool = db.store.pool().clone();
        async move {
            let sql = match table {
                "billers" => "SELECT COUNT(*) FROM billers",
                "bills" => "SELECT COUNT(*) FROM bills",
                "customers" => "SELECT COUNT(*) FROM customers",
                "journals" => "SELECT COUNT(*) FROM journals",
                _ => "SELECT COUNT(*) FROM api_keys",
            };
            sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.expect("count")
        }
    };
    billpay_api::demo::load(&db.store).await.expect("first load");
    let first = (
        count("billers").await,
        count("bills").await,
        count("customers").await,
        count("journals").await,
        count("keys").await,
    );
    assert!(first.0 >= 5 && first.1 >= 9 && first.2 >= 3, "{first:?}");
    billpay_api::demo::load(&db.store).await.expect("second load");
    let second = (
        count("billers").await,
        count("bills").await,
        count("customers").await,
        count("journals").await,
        count("keys").await,
    );
    assert_eq!(first, second, "a second start duplicates nothing");
}

/// The OpenAPI document the Backstage catalog's API entity points at (`openapi.json`) is the one
/// the code generates; regenerate it with `billpay openapi > openapi.json`.
#[test]
fn committed_openapi_document_matches_the_code() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_billpay"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        committed,
        "openapi.json is stale: run `billpay openapi > openapi.json`"
    );
    // Client generators name a method after each operationId: two alike break them.
    let doc: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(
                seen.insert(id.clone()),
                "{method} {path}: operationId {id:?} is used twice"
            );
        }
    }
}
