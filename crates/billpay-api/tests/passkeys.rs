//! Passkeys over HTTP, on SQLite and PostgreSQL: who may register one, what the options ask of
//! the authenticator, and how forged answers, replayed ceremonies and other customers' ceremonies
//! are refused. A real authenticator (Chromium's virtual one) signs in end to end in
//! web/e2e/people.test.mjs.
#![allow(clippy::unwrap_used)]

mod common;

use billpay_api::AppState;
use billpay_api::routes::passkeys::RelyingParty;
use billpay_store::Backend;
use common::{ADMIN, TestApp, step};
use reqwest::Method;
use serde_json::{Value, json};

async fn spawn(backend: Backend, passkeys: bool) -> TestApp {
    let policy = billpay_api::session::Policy {
        demo_sign_in: true,
        ..Default::default()
    };
    let rp = passkeys.then(|| RelyingParty::new(&["http://localhost:8080".to_owned()]).unwrap());
    TestApp::spawn_state(backend, |store| AppState::with_people(store, policy, rp, None)).await
}

impl TestApp {
    /// A session for a demo customer; returns the `Cookie` header value.
    async fn session_for(&self, customer: &str) -> String {
        let r = self
            .raw(
                Method::POST,
                "/v1/auth/demo-sessions",
                None,
                &[("content-type", "application/json")],
                Some(json!({"customer_id": customer}).to_string().into_bytes()),
            )
            .await;
        let set = r.headers["set-cookie"].to_str().unwrap().to_owned();
        r.ok(201);
        set.split(';').next().unwrap().to_owned()
    }

    async fn with_session(&self, method: Method, path: &str, cookie: &str, body: Option<Value>) -> common::Resp {
        let origin = self.base.clone();
        let mut headers = vec![("origin", origin.as_str()), ("content-type", "application/json")];
        if !cookie.is_empty() {
            headers.push(("cookie", cookie));
        }
        self.raw(method, path, None, &headers, body.map(|b| b.to_string().into_bytes()))
            .await
    }
}

fn bogus_registration(ceremony: &str) -> Value {
    json!({"ceremony_id": ceremony, "name": "Teléfono", "credential": {
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {"attestationObject": "AAAA", "clientDataJSON": "AAAA"}, "extensions": {}}})
}

fn bogus_assertion(ceremony: &str) -> Value {
    json!({"ceremony_id": ceremony, "credential": {
        "id": "AAAA", "rawId": "AAAA", "type": "public-key",
        "response": {"authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA",
                     "userHandle": "AAAAAAAAAAAAAAAAAAAAAA"}, "extensions": {}}})
}

async fn ceremonies(backend: Backend) {
    let app = spawn(backend, true).await;
    let ana = app.session_for("cus_demo_ana").await;
    let luis = app.session_for("cus_demo_luis").await;

    step("A machine's key cannot register a passkey: a person does, signed in.");
    app.raw(
        Method::POST,
        "/v1/auth/passkey-registrations",
        Some("bpk_demo_customer_ana"),
        &[],
        None,
    )
    .await
    .problem(403, "forbidden");

    step("The options ask for a discoverable credential with user verification, for this site.");
    let started = app
        .with_session(Method::POST, "/v1/auth/passkey-registrations", &ana, None)
        .await
        .ok(201);
    let pk = &started["options"]["publicKey"];
    assert_eq!(pk["rp"]["id"], "localhost");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(pk["user"]["name"], "ana@example.com");
    assert!(pk["challenge"].as_str().unwrap().len() >= 43, "a 256-bit challenge");
    let ceremony = started["ceremony_id"].as_str().unwrap().to_owned();

    step("Another customer cannot finish Ana's registration.");
    app.with_session(
        Method::POST,
        "/v1/auth/passkeys",
        &luis,
        Some(bogus_registration(&ceremony)),
    )
    .await
    .problem(400, "ceremony_expired");

    step("A body that is not a WebAuthn registration is named as such.");
    let started = app
        .with_session(Method::POST, "/v1/auth/passkey-registrations", &ana, None)
        .await
        .ok(201);
    let ceremony = started["ceremony_id"].as_str().unwrap().to_owned();
    let mut bad = bogus_registration(&ceremony);
    bad["credential"] = json!({"id": 5});
    app.with_session(Method::POST, "/v1/auth/passkeys", &ana, Some(bad))
        .await
        .problem(422, "invalid_request");

    step("A forged registration is refused, stores nothing, and spends the ceremony.");
    app.with_session(
        Method::POST,
        "/v1/auth/passkeys",
        &ana,
        Some(bogus_registration(&ceremony)),
    )
    .await
    .problem(400, "passkey_refused");
    app.with_session(
        Method::POST,
        "/v1/auth/passkeys",
        &ana,
        Some(bogus_registration(&ceremony)),
    )
    .await
    .problem(400, "ceremony_expired");
    let listed = app
        .with_session(Method::GET, "/v1/auth/passkeys", &ana, None)
        .await
        .ok(200);
    assert_eq!(listed["data"], json!([]));

    step("Signing in: a challenge for anyone, and a passkey nobody registered is refused once.");
    let challenge = app
        .with_session(Method::POST, "/v1/auth/passkey-challenges", "", None)
        .await
        .ok(201);
    assert_eq!(challenge["options"]["publicKey"]["rpId"], "localhost");
    assert_eq!(challenge["options"]["publicKey"]["userVerification"], "required");
    let ceremony = challenge["ceremony_id"].as_str().unwrap().to_owned();
    let r = app
        .with_session(
            Method::POST,
            "/v1/auth/passkey-sessions",
            "",
            Some(bogus_assertion(&ceremony)),
        )
        .await;
    assert!(r.headers.get("set-cookie").is_none(), "no session");
    r.problem(401, "passkey_refused");
    app.with_session(
        Method::POST,
        "/v1/auth/passkey-sessions",
        "",
        Some(bogus_assertion(&ceremony)),
    )
    .await
    .problem(400, "ceremony_expired");

    step("A cross-site page cannot start a passkey sign-in.");
    app.raw(
        Method::POST,
        "/v1/auth/passkey-challenges",
        None,
        &[("origin", "https://evil.example")],
        None,
    )
    .await
    .problem(403, "csrf_refused");

    step("Removing a passkey that is not yours is a 404; the failure is audited.");
    app.with_session(
        Method::DELETE,
        "/v1/auth/passkeys/pk_01hzzzzzzzzzzzzzzzzzzzzzzz",
        &ana,
        None,
    )
    .await
    .problem(404, "passkey_not_found");
    let events = app.get("/v1/audit-events?limit=100", ADMIN).await.ok(200);
    assert!(
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "passkey refused"),
        "{events}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceremonies_are_checked_on_sqlite() {
    ceremonies(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceremonies_are_checked_on_postgres() {
    ceremonies(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_a_passkey_origin_says_so() {
    let app = spawn(Backend::Sqlite, false).await;
    app.raw(Method::POST, "/v1/auth/passkey-challenges", None, &[], None)
        .await
        .problem(404, "passkeys_not_configured");
}
