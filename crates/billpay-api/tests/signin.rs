//! People sign in over HTTP, on SQLite and PostgreSQL: an e-mailed one-time code opens an account
//! and a session cookie; the cookie pays a bill; codes are single-use, short-lived and limited;
//! cross-site requests, other customers' data and ended sessions are refused.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ADMIN, TestApp, step};
use reqwest::Method;
use serde_json::{Value, json};

const ORIGIN_HEADER: &str = "origin";

impl TestApp {
    fn origin(&self) -> String {
        self.base.clone()
    }

    async fn json_post(&self, path: &str, cookie: Option<&str>, origin: Option<&str>, body: Value) -> common::Resp {
        let mut headers: Vec<(&str, String)> = vec![("content-type", "application/json".into())];
        if let Some(c) = cookie {
            headers.push(("cookie", c.to_owned()));
        }
        if let Some(o) = origin {
            headers.push((ORIGIN_HEADER, o.to_owned()));
        }
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.raw(Method::POST, path, None, &h, Some(body.to_string().into_bytes()))
            .await
    }

    async fn with_cookie(&self, method: Method, path: &str, cookie: &str) -> common::Resp {
        let origin = self.origin();
        self.raw(
            method,
            path,
            None,
            &[("cookie", cookie), (ORIGIN_HEADER, &origin)],
            None,
        )
        .await
    }

    /// Asks for a code for `email` and reads it from the e-mail queued for that address.
    async fn code_for(&self, email: &str) -> String {
        self.json_post("/v1/auth/email-codes", None, None, json!({"email": email}))
            .await
            .ok(202);
        let (subject, text, status) = self.store().emails_to(email).await.unwrap().remove(0);
        assert_eq!(status, "pending");
        let code: String = subject.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(code.len(), 6, "{subject}");
        assert!(text.contains(&code));
        code
    }

    /// Signs in with a fresh code; returns the `Cookie` header value and the answer.
    async fn sign_in(&self, email: &str) -> (String, Value) {
        let code = self.code_for(email).await;
        let r = self
            .json_post(
                "/v1/auth/sessions",
                None,
                None,
                json!({"email": email, "code": code, "name": "Marta Ruiz"}),
            )
            .await;
        let set = r.headers["set-cookie"].to_str().unwrap().to_owned();
        let body = r.ok(201);
        (set.split(';').next().unwrap().to_owned(), body)
    }

    async fn audit_actions(&self) -> Vec<String> {
        let r = self.get("/v1/audit-events?limit=100", ADMIN).await.ok(200);
        r["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }
}

both!(
    a_code_opens_an_account_and_a_session_that_pays,
    |app: TestApp| async move {
        step("The code goes out by e-mail, in Spanish by default.");
        let code = app.code_for("marta@example.com").await;
        let mails = app.store().emails_to("marta@example.com").await.unwrap();
        assert!(mails[0].0.starts_with("Tu código de BillPay"), "{:?}", mails[0]);

        step("The code opens the account and a session; the token is only in an HttpOnly cookie.");
        let r = app
            .json_post(
                "/v1/auth/sessions",
                None,
                None,
                json!({"email": "Marta@Example.com", "code": code, "name": "Marta Ruiz"}),
            )
            .await;
        let set_cookie = r.headers["set-cookie"].to_str().unwrap().to_owned();
        assert!(set_cookie.starts_with("billpay_session="), "{set_cookie}");
        for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
            assert!(set_cookie.contains(attr), "{attr} missing from {set_cookie}");
        }
        let token = set_cookie
            .split(';')
            .next()
            .unwrap()
            .split('=')
            .nth(1)
            .unwrap()
            .to_owned();
        assert!(!r.text.contains(&token), "the token never appears in a body");
        let signed = r.ok(201);
        assert_eq!(signed["new_customer"], true);
        let customer = signed["session"]["customer_id"].as_str().unwrap().to_owned();
        let cookie = format!("billpay_session={token}");

        step("The cookie is the customer, to the same authorization as a customer key.");
        let me = app.with_cookie(Method::GET, "/v1/me", &cookie).await.ok(200);
        assert_eq!(me["customer_id"], customer.as_str());
        assert_eq!(me["role"], "customer");
        assert_eq!(me["name"], "Marta Ruiz");

        step("Funded by an admin, the customer pays a bill with the session.");
        app.post(
            &format!("/v1/customers/{customer}/wallet/topups"),
            ADMIN,
            json!({"amount": 5_000_000, "currency": "COP"}),
        )
        .await
        .ok(201);
        let bill = app.bill_id("blr_demo_acueducto", "AC-100201").await;
        let paid = app
            .json_post(
                "/v1/payments",
                Some(&cookie),
                Some(&app.origin()),
                json!({"bill_id": bill, "amount": 1_000, "currency": "COP"}),
            )
            .await
            .ok(201);
        assert_eq!(paid["customer_id"], customer.as_str());

        step("A second sign-in with the address is the same customer.");
        let (_, again) = app.sign_in("marta@example.com").await;
        assert_eq!(again["new_customer"], false);
        assert_eq!(again["session"]["customer_id"], customer.as_str());

        step("The customer lists two sessions, and ends them all.");
        let list = app.with_cookie(Method::GET, "/v1/auth/sessions", &cookie).await.ok(200);
        assert_eq!(list["data"].as_array().unwrap().len(), 2);
        assert_eq!(
            list["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["current"] == true)
                .count(),
            1
        );
        let out = app.with_cookie(Method::DELETE, "/v1/auth/sessions", &cookie).await;
        assert_eq!(out.status, 204);
        assert!(out.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));

        step("An ended session is refused.");
        app.with_cookie(Method::GET, "/v1/me", &cookie)
            .await
            .problem(401, "session_expired");
        app.assert_ledger_ok().await;

        step("Sign-in, payment and sign-out are in the audit log.");
        let actions = app.audit_actions().await;
        for a in ["sign-in code sent", "signed in", "signed out everywhere"] {
            assert!(actions.iter().any(|x| x == a), "{a} not in {actions:?}");
        }
    }
);

both!(
    codes_are_single_use_short_lived_and_limited,
    |app: TestApp| async move {
        let email = "luz@example.com";
        step("A wrong code is refused; the fifth wrong one burns the code.");
        let code = app.code_for(email).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..4 {
            app.json_post("/v1/auth/sessions", None, None, json!({"email": email, "code": wrong}))
                .await
                .problem(401, "code_invalid");
        }
        app.json_post("/v1/auth/sessions", None, None, json!({"email": email, "code": wrong}))
            .await
            .problem(429, "too_many_attempts");
        app.json_post("/v1/auth/sessions", None, None, json!({"email": email, "code": code}))
            .await
            .problem(429, "too_many_attempts");
        assert_eq!(
            app.store().customer_by_login(email).await.unwrap(),
            None,
            "no account was opened"
        );

        step("A used code cannot be used again.");
        let code = app.code_for(email).await;
        app.json_post("/v1/auth/sessions", None, None, json!({"email": email, "code": code}))
            .await
            .ok(201);
        app.json_post("/v1/auth/sessions", None, None, json!({"email": email, "code": code}))
            .await
            .problem(401, "code_expired");

        step("An expired code is refused.");
        let code = app.code_for(email).await;
        sqlx::query("UPDATE sign_in_codes SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE email = $1")
            .bind(email)
            .execute(app.store().pool())
            .await
            .unwrap();
        app.json_post("/v1/auth/sessions", None, None, json!({"email": email, "code": code}))
            .await
            .problem(401, "code_expired");

        step("Five codes per address per quarter hour; the sixth says when to come back.");
        for _ in 0..2 {
            app.code_for(email).await;
        }
        let r = app
            .json_post("/v1/auth/email-codes", None, None, json!({"email": email}))
            .await;
        let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        r.problem(429, "too_many_codes");
        assert_eq!(
            app.store().emails_to(email).await.unwrap().len(),
            5,
            "no e-mail for a refused code"
        );

        step("Bad input is named.");
        app.json_post("/v1/auth/email-codes", None, None, json!({"email": "not-an-address"}))
            .await
            .problem(422, "invalid_request");
        app.json_post(
            "/v1/auth/email-codes",
            None,
            None,
            json!({"email": "a@example.com", "locale": "fr"}),
        )
        .await
        .problem(422, "invalid_request");
        app.json_post(
            "/v1/auth/sessions",
            None,
            None,
            json!({"email": email, "code": "12ab56"}),
        )
        .await
        .problem(422, "invalid_request");
        app.json_post(
            "/v1/auth/sessions",
            None,
            None,
            json!({"email": "nobody@example.com", "code": "123456"}),
        )
        .await
        .problem(401, "code_invalid");

        step("Failures are in the audit log.");
        let actions = app.audit_actions().await;
        assert!(
            actions.iter().filter(|a| *a == "sign-in failed").count() >= 7,
            "{actions:?}"
        );
        assert!(actions.iter().any(|a| a == "sign-in code refused"), "{actions:?}");
    }
);

both!(
    a_session_cannot_be_used_across_sites_or_customers,
    |app: TestApp| async move {
        let (cookie, signed) = app.sign_in("rosa@example.com").await;
        let customer = signed["session"]["customer_id"].as_str().unwrap().to_owned();
        app.post(
            &format!("/v1/customers/{customer}/wallet/topups"),
            ADMIN,
            json!({"amount": 5_000_000, "currency": "COP"}),
        )
        .await
        .ok(201);
        let bill = app.bill_id("blr_demo_acueducto", "AC-100201").await;
        let pay = json!({"bill_id": bill, "amount": 1_000, "currency": "COP"});

        step("A cross-site POST with the cookie is refused, and pays nothing.");
        app.json_post("/v1/payments", Some(&cookie), Some("https://evil.example"), pay.clone())
            .await
            .problem(403, "csrf_refused");
        step("So is one with no Origin and no Sec-Fetch-Site.");
        app.json_post("/v1/payments", Some(&cookie), None, pay.clone())
            .await
            .problem(403, "csrf_refused");
        let listed = app.with_cookie(Method::GET, "/v1/payments", &cookie).await.ok(200);
        assert_eq!(listed["data"].as_array().unwrap().len(), 0, "nothing was paid");

        step("A browser's same-origin fetch without Origin passes.");
        let r = app
            .raw(
                Method::POST,
                "/v1/payments",
                None,
                &[
                    ("content-type", "application/json"),
                    ("cookie", &cookie),
                    ("sec-fetch-site", "same-origin"),
                ],
                Some(pay.to_string().into_bytes()),
            )
            .await;
        r.ok(201);

        step("Another customer's wallet does not exist for this session.");
        app.with_cookie(Method::GET, "/v1/customers/cus_demo_ana/wallet", &cookie)
            .await
            .problem(404, "customer_not_found");

        step("A forged cookie is refused.");
        let forged = format!("billpay_session={}", "ab".repeat(32));
        app.with_cookie(Method::GET, "/v1/me", &forged)
            .await
            .problem(401, "session_expired");

        step("Signing out ends the session and clears the cookie.");
        let out = app
            .with_cookie(Method::DELETE, "/v1/auth/sessions/current", &cookie)
            .await;
        assert_eq!(out.status, 204);
        assert!(
            out.headers["set-cookie"]
                .to_str()
                .unwrap()
                .starts_with("billpay_session=; ")
        );
        app.with_cookie(Method::GET, "/v1/me", &cookie)
            .await
            .problem(401, "session_expired");

        step("An idle session ends.");
        let (idle, _) = app.sign_in("rosa@example.com").await;
        sqlx::query("UPDATE sessions SET last_seen_at = '2000-01-01T00:00:00.000000Z' WHERE revoked_at IS NULL")
            .execute(app.store().pool())
            .await
            .unwrap();
        app.with_cookie(Method::GET, "/v1/me", &idle)
            .await
            .problem(401, "session_expired");
    }
);

both!(
    a_recorded_address_signs_in_as_its_customer_and_demo_sign_in_is_demo_only,
    |app: TestApp| async move {
        step("A customer the back office recorded with an address signs in as that customer.");
        let c = app
            .post(
                "/v1/customers",
                ADMIN,
                json!({"name": "Pedro Díaz", "email": "Pedro@Example.com"}),
            )
            .await
            .ok(201);
        let (_, signed) = app.sign_in("pedro@example.com").await;
        assert_eq!(signed["new_customer"], false);
        assert_eq!(signed["session"]["customer_id"], c["id"]);

        step("Without --demo there is no demo sign-in.");
        app.json_post(
            "/v1/auth/demo-sessions",
            None,
            None,
            json!({"customer_id": "cus_demo_ana"}),
        )
        .await
        .problem(404, "route_not_found");
    }
);

/// Per client address: behind one trusted proxy, the address is the one the proxy appended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_is_limited_and_others_are_not() {
    let app = TestApp::spawn_with(
        billpay_store::Backend::Sqlite,
        billpay_api::session::Policy {
            trusted_proxy_hops: 1,
            ..Default::default()
        },
    )
    .await;
    let ask = |n: usize, from: &'static str| {
        let app = &app;
        async move {
            app.raw(
                Method::POST,
                "/v1/auth/email-codes",
                None,
                &[("content-type", "application/json"), ("x-forwarded-for", from)],
                Some(
                    json!({"email": format!("guest{n}@example.com")})
                        .to_string()
                        .into_bytes(),
                ),
            )
            .await
        }
    };
    step("Thirty code requests from one address go through, for thirty different addresses.");
    for n in 0..30 {
        assert_eq!(ask(n, "6.6.6.6, 203.0.113.7").await.status, 202);
    }
    step("The thirty-first is refused with Retry-After, and no code or e-mail is made for it.");
    let r = ask(30, "1.1.1.1, 203.0.113.7").await;
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));
    r.problem(429, "too_many_requests");
    assert!(app.store().emails_to("guest30@example.com").await.unwrap().is_empty());
    step("Another address is not affected, whatever the client wrote before the proxy's entry.");
    assert_eq!(ask(31, "203.0.113.7, 198.51.100.4").await.status, 202);
}
