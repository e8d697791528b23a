//! Staff single sign-on against an identity provider this test runs, which can be made to
//! misbehave: an ID token with the wrong nonce, one signed by a key the issuer never published,
//! a forged, replayed or expired state, a round trip finished in another browser, and a person
//! who is not staff. Each is refused with a named problem and opens no session. The happy path,
//! against the real oidc-provider package, is in web/e2e/people.test.mjs.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::{get, post};
use billpay_api::AppState;
use billpay_store::Backend;
use common::{ADMIN, TestApp};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey,
};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, IssuerUrl, JsonWebKeyId, Nonce, PrivateSigningKey, StandardClaims,
    SubjectIdentifier,
};
use reqwest::Method;
use serde_json::{Value, json};

const CLIENT: &str = "billpay-test";

/// What the provider puts in its next ID token.
#[derive(Clone, Copy, PartialEq)]
enum Mint {
    Honest,
    WrongNonce,
    ForeignKey,
    Expired,
}

struct Idp {
    issuer: String,
    published: CoreRsaPrivateSigningKey,
    foreign: CoreRsaPrivateSigningKey,
    mint: Mutex<Mint>,
    /// The nonce of the last authorization request, as the browser carried it.
    nonce: Mutex<String>,
    email: Mutex<String>,
}

fn rsa_key(kid: &str) -> CoreRsaPrivateSigningKey {
    let pem = openssl::rsa::Rsa::generate(2048).unwrap().private_key_to_pem().unwrap();
    CoreRsaPrivateSigningKey::from_pem(std::str::from_utf8(&pem).unwrap(), Some(JsonWebKeyId::new(kid.into()))).unwrap()
}

async fn discovery(State(idp): State<Arc<Idp>>) -> axum::Json<Value> {
    let i = &idp.issuer;
    axum::Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(idp): State<Arc<Idp>>) -> axum::Json<CoreJsonWebKeySet> {
    axum::Json(CoreJsonWebKeySet::new(vec![idp.published.as_verification_key()]))
}

async fn token(State(idp): State<Arc<Idp>>) -> axum::Json<Value> {
    let mint = *idp.mint.lock().unwrap();
    let now = chrono::Utc::now();
    let (issued, expires) = if mint == Mint::Expired {
        (now - chrono::Duration::hours(2), now - chrono::Duration::hours(1))
    } else {
        (now, now + chrono::Duration::minutes(5))
    };
    let nonce = if mint == Mint::WrongNonce {
        "not-the-nonce-billpay-sent".to_owned()
    } else {
        idp.nonce.lock().unwrap().clone()
    };
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(idp.issuer.clone()).unwrap(),
        vec![Audience::new(CLIENT.into())],
        expires,
        issued,
        StandardClaims::new(SubjectIdentifier::new("sub-lucia".into()))
            .set_email(Some(EndUserEmail::new(idp.email.lock().unwrap().clone())))
            .set_email_verified(Some(true)),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce)));
    let key = if mint == Mint::ForeignKey {
        &idp.foreign
    } else {
        &idp.published
    };
    let id_token = CoreIdToken::new(claims, key, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None).unwrap();
    axum::Json(json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": id_token}))
}

async fn start_idp() -> Arc<Idp> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let idp = Arc::new(Idp {
        issuer,
        published: rsa_key("published"),
        foreign: rsa_key("published"),
        mint: Mutex::new(Mint::Honest),
        nonce: Mutex::new(String::new()),
        email: Mutex::new("lucia@staff.test".into()),
    });
    let router = axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .with_state(idp.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    idp
}

async fn spawn(backend: Backend, idp: &Idp) -> TestApp {
    let provider = billpay_api::oidc::Provider::new(
        &idp.issuer,
        CLIENT,
        Some("secret"),
        "http://localhost:8080/v1/auth/oidc/callback",
    )
    .unwrap();
    TestApp::spawn_state(backend, |store| {
        AppState::with_people(store, billpay_api::session::Policy::default(), None, Some(provider))
    })
    .await
}

/// Starts a round trip as the browser would; returns its `state` and the binding cookie.
async fn begin(app: &TestApp, idp: &Idp) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/v1/auth/oidc/start?return_to=/flags/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(&format!("{}/authorize", idp.issuer)));
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256", "PKCE");
    assert!(!q["code_challenge"].is_empty());
    *idp.nonce.lock().unwrap() = q["nonce"].clone();
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Path=/v1/auth/oidc"),
        "{cookie}"
    );
    let binding = cookie.split(';').next().unwrap().to_owned();
    (q["state"].clone(), binding)
}

/// The browser coming back from the provider (redirects not followed).
async fn back(app: &TestApp, state: &str, cookie: &str) -> common::Resp {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/v1/auth/oidc/callback?code=c0de&state={state}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    common::Resp {
        status: r.status(),
        headers: r.headers().clone(),
        text: r.text().await.unwrap(),
    }
}

fn no_session(r: &common::Resp) {
    let cookies: Vec<_> = r.headers.get_all("set-cookie").iter().collect();
    assert!(
        cookies
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("billpay_session=")
                || c.to_str().unwrap().starts_with("billpay_session=;")),
        "{cookies:?}"
    );
}

async fn attacks(backend: Backend) {
    let idp = start_idp().await;
    let app = spawn(backend, &idp).await;
    app.post(
        "/v1/staff",
        ADMIN,
        json!({"email": "lucia@staff.test", "name": "Lucía", "role": "admin"}),
    )
    .await
    .ok(201);

    // A forged state, and a real one finished without the browser that started it.
    let (state, cookie) = begin(&app, &idp).await;
    let r = back(&app, "forged-state", &cookie).await;
    r.problem(400, "sign_in_state_invalid");
    let r = back(&app, &state, "billpay_sso=someone-elses-browser").await;
    r.problem(400, "sign_in_state_invalid");
    no_session(&r);
    // That state is now spent, even for the right browser.
    back(&app, &state, &cookie).await.problem(400, "sign_in_state_invalid");

    // An ID token with another nonce, one signed by a key the issuer never published, and one
    // that has expired.
    for (mint, needle) in [
        (Mint::WrongNonce, "nonce"),
        (Mint::ForeignKey, "signature"),
        (Mint::Expired, "expire"),
    ] {
        *idp.mint.lock().unwrap() = mint;
        let (state, cookie) = begin(&app, &idp).await;
        let r = back(&app, &state, &cookie).await;
        let p = r.problem(401, "id_token_invalid");
        assert!(
            p["detail"].as_str().unwrap().to_lowercase().contains(needle),
            "{needle}: {p}"
        );
        no_session(&r);
    }

    // An answer that says it comes from another issuer (a mix-up attack).
    let (state, cookie) = begin(&app, &idp).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .get(format!(
            "{}/v1/auth/oidc/callback?code=c0de&state={state}&iss=https%3A%2F%2Fevil.example",
            app.base
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "sign_in_refused");

    // An expired round trip.
    *idp.mint.lock().unwrap() = Mint::Honest;
    let (state, cookie) = begin(&app, &idp).await;
    sqlx::query("UPDATE auth_ceremonies SET expires_at = '2000-01-01T00:00:00Z'")
        .execute(app.store().pool())
        .await
        .unwrap();
    back(&app, &state, &cookie).await.problem(400, "sign_in_state_invalid");

    // Someone the issuer vouches for who is not staff.
    *idp.email.lock().unwrap() = "mallory@staff.test".into();
    let (state, cookie) = begin(&app, &idp).await;
    let r = back(&app, &state, &cookie).await;
    r.problem(403, "not_staff");
    no_session(&r);

    // The staff member, honestly: a session, a staff role, and the way back to the app.
    *idp.email.lock().unwrap() = "lucia@staff.test".into();
    let (state, cookie) = begin(&app, &idp).await;
    let r = back(&app, &state, &cookie).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.headers["location"], "/flags/");
    let session = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("billpay_session=") && !c.starts_with("billpay_session=;"))
        .expect("a session cookie");
    let session = session.split(';').next().unwrap().to_owned();
    let me = app
        .raw(Method::GET, "/v1/me", None, &[("cookie", &session)], None)
        .await
        .ok(200);
    assert_eq!(me["role"], "admin");
    assert_eq!(me["staff"]["email"], "lucia@staff.test");
    assert_eq!(me["staff"]["bound"], true);

    // Every refusal and the sign-in are in the audit log.
    let events = app.get("/v1/audit-events?limit=100", ADMIN).await.ok(200);
    let failures: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "sign-in failed")
        .map(|e| e["detail"]["code"].as_str().unwrap())
        .collect();
    for code in ["sign_in_state_invalid", "id_token_invalid", "not_staff"] {
        assert!(failures.contains(&code), "{code}: {failures:?}");
    }
    assert!(
        events["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "signed in" && e["detail"]["method"] == "sso")
    );

    // Removing the member ends the session at once.
    let id = me["staff"]["id"].as_str().unwrap();
    app.raw(Method::DELETE, &format!("/v1/staff/{id}"), Some(ADMIN), &[], None)
        .await
        .ok(200);
    app.raw(Method::GET, "/v1/me", None, &[("cookie", &session)], None)
        .await
        .problem(401, "session_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_attacks_are_refused_on_sqlite() {
    attacks(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_attacks_are_refused_on_postgres() {
    attacks(Backend::Postgres).await;
}
