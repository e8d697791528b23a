//! Spawns the real application on a loopback port against a fresh database, and talks to it over
//! HTTP like any client.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use billpay_api::{AppState, app, demo};
use billpay_store::testing::TestDb;
use billpay_store::{Backend, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const ADMIN: &str = demo::ADMIN_KEY;
pub const ANA: &str = "bpk_demo_customer_ana";
pub const LUIS: &str = "bpk_demo_customer_luis";
pub const ENERGIA: &str = "bpk_demo_biller_energia";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub db: TestDb,
}

/// Runs one behaviour test against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::common::TestApp::spawn(billpay_store::Backend::Sqlite).await;
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::common::TestApp::spawn(billpay_store::Backend::Postgres).await;
                ($body)(app).await;
            }
        }
    };
}

/// The step of a scenario now running. A failing assertion prints it before its own message, so
/// a failure in a long scenario names its step (`failed in step: …`).
static STEP: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

pub fn step(name: &str) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(step) = STEP.lock()
                && !step.is_empty()
            {
                eprintln!("failed in step: {step}");
            }
            default(info);
        }));
    });
    if let Ok(mut s) = STEP.lock() {
        *s = name.to_owned();
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }
    /// Asserts a problem document with this status and code, and returns it.
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "expected {status} {code}, got {}: {}",
            self.status,
            self.text
        );
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(ct, "application/problem+json", "problem content type");
        let v = self.json();
        assert_eq!(v["code"], code, "{}", self.text);
        assert_eq!(v["status"], status);
        assert!(!v["detail"].as_str().unwrap_or("").is_empty());
        v
    }
    pub fn ok(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        self.json()
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, billpay_api::session::Policy::default()).await
    }

    /// The application with its session policy set, served with the peer's address as
    /// `billpay serve` does.
    pub async fn spawn_with(backend: Backend, policy: billpay_api::session::Policy) -> TestApp {
        Self::spawn_state(backend, |store| AppState::with_sessions(store, policy)).await
    }

    /// The application with the state `state` builds from the test's store.
    pub async fn spawn_state(backend: Backend, state: impl FnOnce(Store) -> AppState) -> TestApp {
        let db = TestDb::new(backend).await;
        demo::load(&db.store).await.expect("demo data");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let router = app(state(db.store.clone()));
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        });
        TestApp {
            base,
            http: reqwest::Client::new(),
            db,
        }
    }

    pub fn store(&self) -> &Store {
        &self.db.store
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Resp {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        for (h, v) in headers {
            req = req.header(*h, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await.expect("request");
        Resp {
            status: resp.status(),
            headers: resp.headers().clone(),
            text: resp.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str, key: &str) -> Resp {
        self.raw(Method::GET, path, Some(key), &[], None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Resp {
        self.raw(
            Method::POST,
            path,
            Some(key),
            &[("content-type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    pub async fn post_idem(&self, path: &str, key: &str, idem: &str, body: Value) -> Resp {
        self.raw(
            Method::POST,
            path,
            Some(key),
            &[("content-type", "application/json"), ("idempotency-key", idem)],
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// The id of the one open bill with `reference` at `biller`.
    pub async fn bill_id(&self, biller: &str, reference: &str) -> String {
        let r = self
            .get(
                &format!("/v1/bills/lookup?biller_id={biller}&reference={reference}"),
                ADMIN,
            )
            .await
            .ok(200);
        r["data"][0]["id"].as_str().expect("bill").to_owned()
    }

    pub async fn balance(&self, customer: &str, currency: &str) -> i64 {
        let w = self
            .get(&format!("/v1/customers/{customer}/wallet"), ADMIN)
            .await
            .ok(200);
        w["balances"]
            .as_array()
            .expect("balances")
            .iter()
            .find(|b| b["currency"] == currency)
            .map_or(0, |b| b["balance"].as_i64().expect("i64"))
    }

    pub async fn assert_ledger_ok(&self) {
        let v = billpay_store::verify_ledger(self.store()).await.expect("verify");
        assert!(v.is_empty(), "ledger invariants broken: {v:?}");
    }

    /// Creates a biller with the given rule and fee, and a bill at it; returns (biller, bill).
    pub async fn biller_with_bill(&self, rule: &str, fee: Value, currency: &str, amount_due: i64) -> (String, String) {
        let b = self
            .post(
                "/v1/billers",
                ADMIN,
                json!({"name": "Test Utility", "category": "water", "currency": currency, "reference_pattern": "[0-9]{6}",
                       "reference_hint": "six digits", "amount_rule": rule, "fee": fee}),
            )
            .await
            .ok(201);
        let biller = b["id"].as_str().expect("id").to_owned();
        let bill = self
            .post(
                "/v1/bills",
                ADMIN,
                json!({"biller_id": biller, "reference": "123456", "customer_name": "Test", "amount_due": amount_due,
                       "currency": currency, "due_date": "2030-01-31"}),
            )
            .await
            .ok(201);
        (biller, bill["id"].as_str().expect("id").to_owned())
    }
}
