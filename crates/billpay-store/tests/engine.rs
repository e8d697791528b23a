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

use billpay_core::biller::AmountRule;
use billpay_core::fee::FeePayer;
use billpay_core::posting::AccountId;
use billpay_store::testing::TestDb;
use billpay_store::{Backend, Contention, NewBill, NewBiller, Options, PayTarget, Store, StoreError, verify_ledger};
use proptest::prelude::*;
use sqlx::Row;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A biller with `rule` and fee, one bill of `due`, and a customer whose wallet holds `funds`.
async fn world(store: &Store, rule: AmountRule, fee: (i64, i64, FeePayer), due: i64, funds: i64) -> (String, String) {
    let biller = store
        .create_biller(
            NewBiller {
                name: "Engine".into(),
                category: "water".into(),
                currency: "COP".into(),
                reference_pattern: "[0-9]+".into(),
                reference_hint: "digits".into(),
                gln: None,
                amount_rule: rule,
                fee_fixed: fee.0,
                fee_bps: fee.1,
                fee_payer: fee.2,
            },
            None,
        )
        .await
        .unwrap();
    let bill = NewBill {
        reference: "1".into(),
        customer_name: "X".into(),
        customer_id: None,
        amount_due: due,
        due_date: "2030-01-01".into(),
    };
    let bill = store.create_bill(&biller.id, bill, None).await.unwrap().id;
    let customer = store.create_customer("C", None, None).await.unwrap().id;
    if funds > 0 {
        store.top_up(&customer, "COP", funds, None).await.unwrap();
    }
    (customer, bill)
}

/// Everything a payment writes, with generated ids replaced by what they stand for.
#[derive(Debug, PartialEq, Eq)]
struct Written {
    outcomes: Vec<String>,
    bill: (i64, i64, String),
    wallet: i64,
    /// (journal kind, line, account kind, currency, amount), in journal order.
    entries: Vec<(String, i64, String, String, i64)>,
    /// (amount, fee, fee payer, refunded, status), in payment order.
    payments: Vec<(i64, i64, String, i64, String)>,
    events: Vec<String>,
}

async fn written(store: &Store, outcomes: Vec<String>, customer: &str, bill: &str) -> Written {
    let pool = store.pool();
    let b = sqlx::query("SELECT amount_due, outstanding, status FROM bills WHERE id = $1")
        .bind(bill)
        .fetch_one(pool)
        .await
        .unwrap();
    let wallet = store
        .wallet(customer)
        .await
        .unwrap()
        .balances
        .first()
        .map_or(0, |b| b.balance);
    let entries = sqlx::query(
        "SELECT j.kind, e.line, e.account_id, e.currency, e.amount FROM journals j JOIN entries e ON e.journal_id = j.id \
         ORDER BY j.created_at, j.id, e.line",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let account: String = r.get("account_id");
        let kind = AccountId::parse(&account).map_or("unknown", |a| a.kind().as_str());
        (r.get("kind"), r.get("line"), kind.to_owned(), r.get("currency"), r.get("amount"))
    })
    .collect();
    let payments = sqlx::query("SELECT amount, fee, fee_payer, refunded, status FROM payments ORDER BY created_at, id")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get("amount"),
                r.get("fee"),
                r.get("fee_payer"),
                r.get("refunded"),
                r.get("status"),
            )
        })
        .collect();
    let events = sqlx::query("SELECT type FROM events ORDER BY created_at, id")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("type"))
        .collect();
    Written {
        outcomes,
        bill: (b.get("amount_due"), b.get("outstanding"), b.get("status")),
        wallet,
        entries,
        payments,
        events,
    }
}

fn outcome(r: Result<billpay_store::Payment, StoreError>) -> String {
    match r {
        Ok(p) => format!("paid {} debited {}", p.amount, p.total_debited),
        Err(StoreError::Rejected(r)) => r.code().to_owned(),
        Err(e) => panic!("a payment neither paid nor was refused: {e}"),
    }
}

async fn pay_all(
    backend: Backend,
    rule: AmountRule,
    fee: (i64, i64, FeePayer),
    due: i64,
    funds: i64,
    amounts: &[i64],
) -> Written {
    let db = TestDb::new(backend).await;
    let (customer, bill) = world(&db.store, rule, fee, due, funds).await;
    let mut outcomes = Vec::new();
    for &amount in amounts {
        let r = db
            .store
            .pay(&customer, &PayTarget::Bill(bill.clone()), amount, "COP", None)
            .await;
        outcomes.push(outcome(r));
    }
    let violations = verify_ledger(&db.store).await.unwrap();
    assert!(violations.is_empty(), "{backend:?}: {violations:?}");
    written(&db.store, outcomes, &customer, &bill).await
}

fn rule() -> impl Strategy<Value = AmountRule> {
    prop_oneof![
        Just(AmountRule::Exact),
        Just(AmountRule::Partial),
        Just(AmountRule::Overpayment)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]
    /// The guarded statement (PostgreSQL) and the step-by-step transaction (SQLite) write the same
    /// journals, entries, payments, bill and wallet for the same payments, and refuse the same ones.
    #[test]
    fn both_executors_write_the_same_rows(
        rule in rule(),
        fixed in 0i64..300,
        bps in 0i64..400,
        biller_pays in any::<bool>(),
        due in 1i64..50_000,
        funds in 0i64..120_000,
        amounts in prop::collection::vec(1i64..60_000, 1..5),
    ) {
        let payer = if biller_pays { FeePayer::Biller } else { FeePayer::Customer };
        let rt = runtime();
        let sqlite = rt.block_on(pay_all(Backend::Sqlite, rule, (fixed, bps, payer), due, funds, &amounts));
        let postgres = rt.block_on(pay_all(Backend::Postgres, rule, (fixed, bps, payer), due, funds, &amounts));
        prop_assert_eq!(sqlite, postgres);
    }
}

/// A database that takes fewer entries than the plan holds (here a trigger drops line 3, the
/// fee) makes the payment a fault on both executors, and nothing of it is kept.
#[test]
fn an_executor_that_writes_other_entries_than_planned_is_a_fault() {
    runtime().block_on(async {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let db = TestDb::new(backend).await;
            let (customer, bill) = world(&db.store, AmountRule::Partial, (50, 0, FeePayer::Customer), 10_000, 20_000).await;
            let before = written(&db.store, vec![], &customer, &bill).await;
            let lose_line_3 = match backend {
                Backend::Postgres => {
                    "CREATE FUNCTION lose_line_3() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     IF NEW.line = 3 THEN RETURN NULL; END IF; RETURN NEW; END $$; \
                     CREATE TRIGGER lose_line_3 BEFORE INSERT ON entries FOR EACH ROW EXECUTE FUNCTION lose_line_3();"
                }
                Backend::Sqlite => "CREATE TRIGGER lose_line_3 BEFORE INSERT ON entries WHEN NEW.line = 3 BEGIN SELECT RAISE(IGNORE); END;",
            };
            sqlx::raw_sql(lose_line_3).execute(db.store.pool()).await.unwrap();
            let e = db
                .store
                .pay(&customer, &PayTarget::Bill(bill.clone()), 1_000, "COP", None)
                .await
                .expect_err("a lost entry is not a payment");
            assert!(matches!(e, StoreError::Fault(_)), "{backend:?}: {e}");
            assert!(e.to_string().contains("3 lines") || e.to_string().contains("posting plan"), "{backend:?}: {e}");
            assert_eq!(written(&db.store, vec![], &customer, &bill).await, before, "{backend:?}: nothing kept");
        }
    });
}

/// Opens `url` with `contention`, pays one bill from 16 customers at once, 10 payments each, and
/// returns the refusals.
async fn sixteen_on_one_bill(url: &str, contention: Contention) -> (Store, String, Vec<String>) {
    let store = Store::connect(
        url,
        Options {
            contention,
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let mut customers = Vec::new();
    let (first, bill) = world(
        &store,
        AmountRule::Partial,
        (10, 25, FeePayer::Customer),
        1_000_000,
        100_000,
    )
    .await;
    customers.push(first);
    for i in 1..16 {
        let c = store.create_customer(&format!("C{i}"), None, None).await.unwrap().id;
        store.top_up(&c, "COP", 100_000, None).await.unwrap();
        customers.push(c);
    }
    let mut set = tokio::task::JoinSet::new();
    for c in customers {
        let (store, bill) = (store.clone(), bill.clone());
        set.spawn(async move {
            let mut refused = Vec::new();
            for _ in 0..10 {
                if let Err(e) = store.pay(&c, &PayTarget::Bill(bill.clone()), 100, "COP", None).await {
                    refused.push(e.to_string());
                }
            }
            refused
        });
    }
    let refused = set.join_all().await.into_iter().flatten().collect();
    (store, bill, refused)
}

/// The guarded statement is written for READ COMMITTED: a database whose default is SERIALIZABLE
/// still gets it, and 16 payments of one bill at once all go through, queued on the bill's lock.
#[test]
fn postgres_payments_run_read_committed_and_queue_on_one_bill() {
    runtime().block_on(async {
        let db = TestDb::new(Backend::Postgres).await;
        let name = db.url.rsplit('/').next().unwrap().to_owned();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {name} SET default_transaction_isolation = 'serializable'"
        )))
        .execute(db.store.pool())
        .await
        .unwrap();
        assert_eq!(Options::default().contention, Contention::Queue);
        let (store, bill, refused) = sixteen_on_one_bill(&db.url, Contention::Queue).await;
        let level: String = sqlx::query("SELECT current_setting('transaction_isolation') AS l")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get("l");
        assert_eq!(level, "read committed");
        assert!(
            refused.is_empty(),
            "with Contention::Queue no payment is refused: {refused:?}"
        );
        let outstanding: i64 = sqlx::query("SELECT outstanding FROM bills WHERE id = $1")
            .bind(&bill)
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get("outstanding");
        assert_eq!(outstanding, 1_000_000 - 160 * 100);
        assert!(verify_ledger(&store).await.unwrap().is_empty());
    });
}

/// Without the queue, the same load is refused in part with the transient `Contention`, and what
/// was paid still balances: the mode `--payment-contention retry` keeps for comparison.
#[test]
fn postgres_payments_without_the_queue_refuse_some_as_busy() {
    runtime().block_on(async {
        let db = TestDb::new(Backend::Postgres).await;
        let (store, _bill, refused) = sixteen_on_one_bill(&db.url, Contention::Retry).await;
        eprintln!(
            "without the queue, {} of 160 payments were refused as busy",
            refused.len()
        );
        assert!(
            refused.iter().all(|r| r.contains("being paid by other requests")),
            "{refused:?}"
        );
        assert!(verify_ledger(&store).await.unwrap().is_empty());
    });
}
