//! Feature flags: the admin API (validation, versions, diffs, rollback, audit) and OFREP, against
//! SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod common;

use common::{ADMIN, ANA, TestApp};
use reqwest::Method;
use serde_json::{Value, json};

const SET: &str = "/v1/flag-sets/billpay-web";
const CLIENT: &str = billpay_api::demo::FLAGS_CLIENT_KEY;

impl TestApp {
    async fn put(&self, path: &str, key: &str, headers: &[(&str, &str)], body: Value) -> common::Resp {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.raw(Method::PUT, path, Some(key), &h, Some(body.to_string().into_bytes()))
            .await
    }
    async fn ofrep(&self, path: &str, key: &str, headers: &[(&str, &str)], body: Value) -> common::Resp {
        let mut h = vec![("content-type", "application/json")];
        h.extend_from_slice(headers);
        self.raw(Method::POST, path, Some(key), &h, Some(body.to_string().into_bytes()))
            .await
    }
}

fn flag(variants: Value, default: &str) -> Value {
    json!({"state": "ENABLED", "variants": variants, "defaultVariant": default})
}

both!(
    admin_edits_make_versions_with_diffs_and_audit,
    |app: TestApp| async move {
        let set = app.get(SET, ADMIN).await.ok(200);
        assert_eq!(set["version"], 1);
        assert!(set["definition"]["flags"]["frontend-variant"].is_object());

        // Create a flag, then toggle it off: two versions, each with author, summary and a JSON Patch.
        let r = app
            .put(
                &format!("{SET}/flags/dark-mode"),
                ADMIN,
                &[],
                flag(json!({"on": true, "off": false}), "off"),
            )
            .await;
        assert_eq!(r.ok(200)["version"], 2);
        assert_eq!(r.headers["etag"], "\"2\"");
        let r = app
            .post(
                &format!("{SET}/flags/dark-mode/state"),
                ADMIN,
                json!({"state": "DISABLED"}),
            )
            .await
            .ok(200);
        assert_eq!(r["version"], 3);
        assert_eq!(r["definition"]["flags"]["dark-mode"]["state"], "DISABLED");

        let history = app.get(&format!("{SET}/versions"), ADMIN).await.ok(200);
        let versions = history["data"].as_array().unwrap();
        assert_eq!(versions.len(), 3);
        assert_eq!(versions[0]["version"], 3);
        assert_eq!(versions[0]["summary"], "disabled flag dark-mode");
        assert_eq!(
            versions[0]["diff"],
            json!([{"op": "replace", "path": "/flags/dark-mode/state", "value": "DISABLED"}])
        );
        assert_eq!(versions[1]["summary"], "created flag dark-mode");
        assert_eq!(versions[1]["diff"][0]["op"], "add");
        assert!(versions[0]["author"].as_str().unwrap().starts_with("key_"));

        // Roll back to version 1: a new version 4 equal to version 1.
        let r = app
            .post(&format!("{SET}/rollback"), ADMIN, json!({"version": 1}))
            .await
            .ok(200);
        assert_eq!(r["version"], 4);
        assert!(r["definition"]["flags"].get("dark-mode").is_none());
        let v1 = app.get(&format!("{SET}/versions/1"), ADMIN).await.ok(200);
        assert_eq!(r["definition"], v1["definition"]);

        // A stale If-Match is refused and writes nothing.
        let r = app
            .put(
                &format!("{SET}/flags/x"),
                ADMIN,
                &[("if-match", "\"2\"")],
                flag(json!({"a": 1}), "a"),
            )
            .await;
        r.problem(409, "conflict");
        assert_eq!(app.get(SET, ADMIN).await.ok(200)["version"], 4);

        // Deleting a flag, and the audit trail of all of it.
        app.raw(
            Method::DELETE,
            &format!("{SET}/flags/wallet-topups"),
            Some(ADMIN),
            &[],
            None,
        )
        .await
        .ok(200);
        let audit = app
            .get("/v1/audit-events?subject=flag_set:billpay-web", ADMIN)
            .await
            .ok(200);
        let actions: Vec<&str> = audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "flag.deleted",
                "flag_set.rolled_back",
                "flag.state_changed",
                "flag.created",
                "flag_client_key.created",
                "flag_set.created"
            ]
        );
    }
);

both!(bad_definitions_get_422_naming_the_path, |app: TestApp| async move {
    let cases = [
        (
            flag(json!({"on": true, "off": false}), "maybe"),
            "/flags/broken/defaultVariant",
            "`maybe`",
        ),
        (
            json!({"state": "ON", "variants": {"a": 1}, "defaultVariant": "a"}),
            "/flags/broken/state",
            "ON",
        ),
        (
            json!({"state": "ENABLED", "variants": {}}),
            "/flags/broken/variants",
            "",
        ),
        (
            json!({"state": "ENABLED", "variants": {"a": 1, "b": "two"}, "defaultVariant": "a"}),
            "/flags/broken",
            "one type",
        ),
        (
            json!({"state": "ENABLED", "variants": {"a": "a"}, "defaultVariant": "a",
                   "targeting": {"fractional": [["a", 50], ["z", 50]]}}),
            "/flags/broken/targeting",
            "`z`",
        ),
        (
            json!({"state": "ENABLED", "variants": {"a": "a"}, "defaultVariant": "a", "targeting": {"no_such_op": [1]}}),
            "/flags/broken/targeting",
            "",
        ),
    ];
    for (body, path, needle) in cases {
        let r = app.put(&format!("{SET}/flags/broken"), ADMIN, &[], body.clone()).await;
        let p = r.problem(422, "invalid_flag_set");
        let errors = p["errors"].as_array().unwrap();
        assert!(errors.iter().any(|e| e["location"] == path), "{body}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(needle), "{body}: {p}");
    }
    // Nothing was saved.
    assert_eq!(app.get(SET, ADMIN).await.ok(200)["version"], 1);
    // The same checks, without saving, for live validation.
    let mut def = app.get(SET, ADMIN).await.ok(200)["definition"].clone();
    app.post(&format!("{SET}/validate"), ADMIN, json!({"definition": def.clone()}))
        .await
        .ok(200);
    def["flags"]["frontend-variant"]["defaultVariant"] = json!("c");
    app.post(&format!("{SET}/validate"), ADMIN, json!({"definition": def}))
        .await
        .problem(422, "invalid_flag_set");

    // Only admins manage flags; unknown sets and flags are 404s.
    app.get(SET, ANA).await.problem(403, "forbidden");
    app.get(SET, CLIENT).await.problem(401, "invalid_api_key");
    app.get("/v1/flag-sets/nope", ADMIN)
        .await
        .problem(404, "flag_set_not_found");
    app.post(&format!("{SET}/flags/nope/state"), ADMIN, json!({"state": "DISABLED"}))
        .await
        .problem(404, "flag_not_found");
    app.post(
        &format!("{SET}/flags/frontend-variant/state"),
        ADMIN,
        json!({"state": "OFF"}),
    )
    .await
    .problem(422, "invalid_request");
});

both!(ofrep_evaluates_with_flagd_semantics, |app: TestApp| async move {
    let path = "/ofrep/v1/evaluate/flags/frontend-variant";
    // The same customer always gets the same variant; both variants are in use.
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..40 {
        let ctx = json!({"context": {"targetingKey": format!("cus_{i}")}});
        let a = app.ofrep(path, CLIENT, &[], ctx.clone()).await.ok(200);
        let b = app.ofrep(path, CLIENT, &[], ctx).await.ok(200);
        assert_eq!(a, b);
        assert_eq!(a["reason"], "SPLIT");
        assert_eq!(a["value"], a["variant"]);
        *seen.entry(a["value"].as_str().unwrap().to_owned()).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
    // Without a targeting key, fractional cannot bucket: the default variant.
    let r = app.ofrep(path, CLIENT, &[], json!({"context": {}})).await.ok(200);
    assert_eq!(
        (r["value"].as_str(), r["reason"].as_str()),
        (Some("a"), Some("DEFAULT"))
    );
    // A flag without targeting is STATIC, and carries its metadata.
    let r = app
        .ofrep("/ofrep/v1/evaluate/flags/wallet-topups", CLIENT, &[], json!({}))
        .await
        .ok(200);
    assert_eq!(
        r,
        json!({"key": "wallet-topups", "reason": "STATIC", "value": true, "variant": "on",
        "metadata": {"flagSetId": "billpay-web", "description": "Customers can top up their wallet from the app"}})
    );

    // Errors as the spec spells them.
    let r = app.ofrep("/ofrep/v1/evaluate/flags/nope", CLIENT, &[], json!({})).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["errorCode"], "FLAG_NOT_FOUND");
    let r = app.ofrep(path, CLIENT, &[], json!({"context": []})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errorCode"], "INVALID_CONTEXT");
    let r = app
        .raw(
            Method::POST,
            path,
            Some(CLIENT),
            &[("content-type", "application/json")],
            Some(b"{nope".to_vec()),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errorCode"], "PARSE_ERROR");
    assert_eq!(app.ofrep(path, ADMIN, &[], json!({})).await.status, 401);
    assert_eq!(app.ofrep(path, "bpf_nope", &[], json!({})).await.status, 401);
    let r = app
        .raw(
            Method::POST,
            path,
            None,
            &[("x-api-key", CLIENT), ("content-type", "application/json")],
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(r.status, 200, "X-API-Key works too: {}", r.text);

    // The kill switch: a disabled flag answers DISABLED with no value.
    app.post(
        &format!("{SET}/flags/frontend-variant/state"),
        ADMIN,
        json!({"state": "DISABLED"}),
    )
    .await
    .ok(200);
    let r = app
        .ofrep(path, CLIENT, &[], json!({"context": {"targetingKey": "cus_1"}}))
        .await
        .ok(200);
    assert_eq!(r["reason"], "DISABLED");
    assert!(r.get("value").is_none(), "{r}");
    assert_eq!(r["variant"], "");
});

both!(ofrep_bulk_has_etags, |app: TestApp| async move {
    let path = "/ofrep/v1/evaluate/flags";
    let ctx = json!({"context": {"targetingKey": "cus_demo_ana"}});
    let r = app.ofrep(path, CLIENT, &[], ctx.clone()).await;
    let body = r.ok(200);
    let flags = body["flags"].as_array().unwrap();
    let keys: Vec<&str> = flags.iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["biller-categories", "frontend-variant", "wallet-topups"]);
    let etag = r.headers["etag"].to_str().unwrap().to_owned();

    // Same version and context: 304. Another context: a new answer.
    let r = app.ofrep(path, CLIENT, &[("if-none-match", &etag)], ctx.clone()).await;
    assert_eq!(r.status, 304);
    assert!(r.text.is_empty());
    let other = json!({"context": {"targetingKey": "cus_demo_luis"}});
    let r = app.ofrep(path, CLIENT, &[("if-none-match", &etag)], other).await;
    assert_eq!(r.status, 200);
    assert_ne!(r.headers["etag"].to_str().unwrap(), etag);

    // A change to the set changes the ETag at once.
    app.post(
        &format!("{SET}/flags/wallet-topups/state"),
        ADMIN,
        json!({"state": "DISABLED"}),
    )
    .await
    .ok(200);
    let r = app.ofrep(path, CLIENT, &[("if-none-match", &etag)], ctx).await;
    assert_eq!(r.status, 200);
    let topups = r.json()["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "wallet-topups")
        .cloned()
        .unwrap();
    assert_eq!(topups["reason"], "DISABLED");

    // Bad bodies are 400 with an error code and no flags.
    let r = app.ofrep(path, CLIENT, &[], json!({"context": "x"})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["errorCode"], "INVALID_CONTEXT");
});

both!(client_keys_are_scoped_to_one_flag_set, |app: TestApp| async move {
    let other = json!({"flags": {"beta": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}}});
    app.post(
        "/v1/flag-sets",
        ADMIN,
        json!({"id": "billpay-ops", "definition": other}),
    )
    .await
    .ok(201);
    app.post(
        "/v1/flag-sets",
        ADMIN,
        json!({"id": "billpay-ops", "definition": {"flags": {}}}),
    )
    .await
    .problem(409, "conflict");
    app.post(
        "/v1/flag-sets",
        ADMIN,
        json!({"id": "Bad Name", "definition": {"flags": {}}}),
    )
    .await
    .problem(422, "invalid_request");
    let key = app
        .post(
            "/v1/flag-sets/billpay-ops/client-keys",
            ADMIN,
            json!({"label": "ops console"}),
        )
        .await
        .ok(201);
    let secret = key["secret"].as_str().unwrap();
    assert!(secret.starts_with("bpf_"));
    let r = app
        .ofrep("/ofrep/v1/evaluate/flags/beta", secret, &[], json!({}))
        .await
        .ok(200);
    assert_eq!(r["value"], true);
    // The web key does not see the ops set, nor the ops key the web set.
    assert_eq!(
        app.ofrep("/ofrep/v1/evaluate/flags/beta", CLIENT, &[], json!({}))
            .await
            .status,
        404
    );
    let r = app
        .ofrep("/ofrep/v1/evaluate/flags/frontend-variant", secret, &[], json!({}))
        .await;
    assert_eq!(r.status, 404);
});

both!(
    exposures_are_the_servers_evaluation_and_keep_the_first_variant,
    |app: TestApp| async move {
        let path = format!("{SET}/exposures");
        // What OFREP says Ana gets is what the server records for her.
        let expected = app
            .ofrep(
                "/ofrep/v1/evaluate/flags/frontend-variant",
                CLIENT,
                &[],
                json!({"context": {"targetingKey": "cus_demo_ana"}}),
            )
            .await
            .ok(200)["variant"]
            .clone();
        let r = app.post(&path, ANA, json!({"flag": "frontend-variant"})).await.ok(200);
        assert_eq!(
            r,
            json!({"flag": "frontend-variant", "variant": expected, "recorded": true})
        );
        let r = app.post(&path, ANA, json!({"flag": "frontend-variant"})).await.ok(200);
        assert_eq!(
            r,
            json!({"flag": "frontend-variant", "variant": expected, "recorded": false})
        );

        // A client that names its own variant is refused, and the experiment's counts do not move.
        let before = app.get("/v1/dashboard?days=1", ADMIN).await.ok(200)["experiment"].clone();
        app.post(&path, common::LUIS, json!({"flag": "frontend-variant", "variant": "b"}))
            .await
            .problem(422, "invalid_body");
        let after = app.get("/v1/dashboard?days=1", ADMIN).await.ok(200)["experiment"].clone();
        assert_eq!(before, after);

        // With the kill switch on, nobody is assigned.
        app.post(
            &format!("{SET}/flags/frontend-variant/state"),
            ADMIN,
            json!({"state": "DISABLED"}),
        )
        .await
        .ok(200);
        let r = app
            .post(&path, common::LUIS, json!({"flag": "frontend-variant"}))
            .await
            .ok(200);
        assert_eq!(
            r,
            json!({"flag": "frontend-variant", "variant": null, "recorded": false})
        );

        app.post(&path, ADMIN, json!({"flag": "frontend-variant"}))
            .await
            .problem(403, "forbidden");
        app.post(&path, ANA, json!({"flag": "nope"}))
            .await
            .problem(404, "flag_not_found");
    }
);

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let db = billpay_store::testing::TestDb::new(billpay_store::Backend::Sqlite).await;
    billpay_api::demo::load(&db.store).await.unwrap();
    let options = billpay_api::Options {
        cors_origins: vec!["https://pay.example.com".into()],
        ..Default::default()
    };
    let router = billpay_api::app_with(billpay_api::AppState::new(db.store.clone()), options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(Method::OPTIONS, format!("{base}/ofrep/v1/evaluate/flags"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,if-none-match",
            )
            .send()
    };
    let ok = preflight("https://pay.example.com").await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://pay.example.com");
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        allowed.contains("if-none-match") && allowed.contains("authorization"),
        "{allowed}"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // The answer itself lets the page read the ETag.
    let r = http
        .post(format!("{base}/ofrep/v1/evaluate/flags"))
        .header("origin", "https://pay.example.com")
        .bearer_auth(CLIENT)
        .json(&json!({"context": {"targetingKey": "cus_1"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
}
