//! Property tests: random sequences of top-ups, payments and refunds, some of them concurrent,
//! never break a ledger invariant, and every wallet holds exactly what the successful operations
//! say it should.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use billpay_core::biller::AmountRule;
use billpay_core::fee::FeePayer;
use billpay_store::testing::TestDb;
use billpay_store::{Backend, NewBill, NewBiller, PayTarget, Store, StoreError, verify_ledger};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    TopUp { customer: usize, amount: i64 },
    Pay { customer: usize, bill: usize, amount: i64 },
    Refund { payment: usize, amount: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..3usize, 1..200_000i64).prop_map(|(customer, amount)| Op::TopUp { customer, amount }),
        (0..3usize, 0..4usize, 1..60_000i64).prop_map(|(customer, bill, amount)| Op::Pay { customer, bill, amount }),
        (0..30usize, 1..40_000i64).prop_map(|(payment, amount)| Op::Refund { payment, amount }),
    ]
}

/// Batches of 1 to 4 operations; a batch runs concurrently.
fn batches() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 1..5), 1..12)
}

struct World {
    customers: Vec<String>,
    bills: Vec<String>,
}

async fn setup(store: &Store) -> World {
    let mut customers = Vec::new();
    for i in 0..3 {
        customers.push(store.create_customer(&format!("C{i}"), None, None).await.unwrap().id);
    }
    let mut bills = Vec::new();
    for (rule, payer, bps) in [
        (AmountRule::Partial, FeePayer::Customer, 150),
        (AmountRule::Overpayment, FeePayer::Biller, 75),
    ] {
        let biller = store
            .create_biller(
                NewBiller {
                    name: "Prop".into(),
                    category: "water".into(),
                    currency: "COP".into(),
                    reference_pattern: "[0-9]+".into(),
                    reference_hint: "digits".into(),
                    gln: None,
                    amount_rule: rule,
                    fee_fixed: 7,
                    fee_bps: bps,
                    fee_payer: payer,
                },
                None,
            )
            .await
            .unwrap();
        for r in 0..2 {
            let bill = NewBill {
                reference: format!("{r}"),
                customer_name: "X".into(),
                customer_id: None,
                amount_due: 100_000,
                due_date: "2030-01-01".into(),
            };
            bills.push(store.create_bill(&biller.id, bill, None).await.unwrap().id);
        }
    }
    World { customers, bills }
}

#[derive(Debug)]
enum Outcome {
    ToppedUp(usize, i64),
    Paid(usize, String, i64),
    Refunded(String, i64),
    Refused,
}

async fn run_case(backend: Backend, batches: Vec<Vec<Op>>) -> Result<(), TestCaseError> {
    let db = TestDb::new(backend).await;
    let store = db.store.clone();
    let world = std::sync::Arc::new(setup(&store).await);
    let payments: std::sync::Arc<tokio::sync::Mutex<Vec<(String, usize)>>> = Default::default();
    let mut expected: HashMap<usize, i64> = HashMap::new();
    let mut refunded_by_payment: HashMap<String, i64> = HashMap::new();
    let mut paid_by_payment: HashMap<String, i64> = HashMap::new();

    for batch in batches {
        let mut set = tokio::task::JoinSet::new();
        for op in batch {
            let (store, world, payments) = (store.clone(), world.clone(), payments.clone());
            set.spawn(async move {
                let result = match op {
                    Op::TopUp { customer, amount } => store
                        .top_up(&world.customers[customer], "COP", amount, None)
                        .await
                        .map(|_| Outcome::ToppedUp(customer, amount)),
                    Op::Pay { customer, bill, amount } => {
                        let target = PayTarget::Bill(world.bills[bill].clone());
                        match store
                            .pay(&world.customers[customer], &target, amount, "COP", None)
                            .await
                        {
                            Ok(p) => {
                                payments.lock().await.push((p.id.clone(), customer));
                                Ok(Outcome::Paid(customer, p.id, p.total_debited))
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Op::Refund { payment, amount } => {
                        let target = payments.lock().await.get(payment).cloned();
                        match target {
                            Some((pid, _)) => store
                                .refund(&pid, amount, "prop", None)
                                .await
                                .map(|r| Outcome::Refunded(r.payment_id, amount)),
                            None => Ok(Outcome::Refused),
                        }
                    }
                };
                match result {
                    Ok(o) => Ok(o),
                    Err(StoreError::Rejected(_)) => Ok(Outcome::Refused),
                    Err(e) => Err(e.to_string()),
                }
            });
        }
        while let Some(joined) = set.join_next().await {
            let outcome = joined
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .map_err(TestCaseError::fail)?;
            match outcome {
                Outcome::ToppedUp(c, a) => *expected.entry(c).or_default() += a,
                Outcome::Paid(c, pid, debit) => {
                    *expected.entry(c).or_default() -= debit;
                    paid_by_payment.insert(pid, 0);
                }
                Outcome::Refunded(pid, a) => *refunded_by_payment.entry(pid).or_default() += a,
                Outcome::Refused => {}
            }
        }
    }
    let owners: HashMap<String, usize> = payments.lock().await.iter().cloned().collect();
    for (pid, amount) in &refunded_by_payment {
        *expected.entry(owners[pid]).or_default() += amount;
    }
    let violations = verify_ledger(&store)
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(violations.is_empty(), "{violations:?}");
    for (i, customer) in world.customers.iter().enumerate() {
        let wallet = store
            .wallet(customer)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let balance = wallet.balances.first().map_or(0, |b| b.balance);
        prop_assert!(balance >= 0);
        prop_assert_eq!(balance, expected.get(&i).copied().unwrap_or(0), "customer {}", i);
    }
    for pid in paid_by_payment.keys() {
        let p = store
            .get_payment(pid)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(p.refunded_amount, refunded_by_payment.get(pid).copied().unwrap_or(0));
        prop_assert!(p.refunded_amount <= p.amount);
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn ledger_holds_on_sqlite(b in batches()) {
        runtime().block_on(run_case(Backend::Sqlite, b))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn ledger_holds_on_postgres(b in batches()) {
        runtime().block_on(run_case(Backend::Postgres, b))?;
    }
}
