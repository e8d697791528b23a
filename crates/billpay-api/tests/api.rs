//! The behaviour suite: every test runs against SQLite and against PostgreSQL.

#![allow(clippy::unwrap_used)]

mod common;

use common::{ADMIN, ANA, ENERGIA, LUIS, TestApp, step};
use reqwest::Method;
use serde_json::json;

both!(pays_a_bill_by_reference_end_to_end, |app: TestApp| async move {
    let before = app.balance("cus_demo_ana", "COP").await;
    let found = app
        .get("/v1/bills/lookup?biller_id=blr_demo_energia&reference=1002003001", ANA)
        .await
        .ok(200);
    assert_eq!(found["data"][0]["amount_outstanding"], 18_550_000);

    let pay = app
        .post_idem(
            "/v1/payments",
            ANA,
            "pay-1",
            json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "amount": 18_550_000, "currency": "COP"}),
        )
        .await
        .ok(201);
    // Energía charges a fixed 1,500.00 COP fee to the customer.
    assert_eq!(pay["fee"], 150_000);
    assert_eq!(pay["total_debited"], 18_700_000);
    let conf = pay["confirmation_number"].as_str().unwrap();
    assert!(conf.starts_with("BP-") && conf.len() == 12);
    assert_eq!(app.balance("cus_demo_ana", "COP").await, before - 18_700_000);

    let bill = app
        .get(&format!("/v1/bills/{}", pay["bill_id"].as_str().unwrap()), ANA)
        .await
        .ok(200);
    assert_eq!(bill["status"], "paid");
    assert_eq!(bill["amount_outstanding"], 0);

    let pid = pay["id"].as_str().unwrap();
    let receipt = app.get(&format!("/v1/payments/{pid}/receipt"), ANA).await.ok(200);
    assert_eq!(receipt["biller_name"], "Energía del Valle");
    assert_eq!(receipt["payment"]["confirmation_number"], conf);
    let html = app
        .raw(
            Method::GET,
            &format!("/v1/payments/{pid}/receipt"),
            Some(ANA),
            &[("accept", "text/html")],
            None,
        )
        .await;
    assert_eq!(html.status, 200);
    assert!(html.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(html.text.contains(conf) && html.text.contains("COP 185,500.00") && html.text.contains("COP 187,000.00"));

    // The biller sees the payment; another customer does not.
    let listed = app.get("/v1/payments", ENERGIA).await.ok(200);
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    app.get(&format!("/v1/payments/{pid}"), LUIS)
        .await
        .problem(404, "payment_not_found");
    assert_eq!(
        app.get("/v1/payments", LUIS).await.ok(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // Paying it again is refused.
    app.post(
        "/v1/payments",
        ANA,
        json!({"bill_id": pay["bill_id"], "amount": 100, "currency": "COP"}),
    )
    .await
    .problem(409, "bill_already_paid");
    app.post(
        "/v1/payments",
        ANA,
        json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "amount": 100, "currency": "COP"}),
    )
    .await
    .problem(409, "bill_already_paid");
    app.assert_ledger_ok().await;
});

both!(idempotency_follows_stripe, |app: TestApp| async move {
    let body = json!({"biller_id": "blr_demo_telco", "reference": "300-1234567", "amount": 1000, "currency": "USD"});
    let first = app.post_idem("/v1/payments", ANA, "k1", body.clone()).await;
    assert_eq!(first.status, 201);
    let again = app.post_idem("/v1/payments", ANA, "k1", body.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.text, first.text, "a replay is byte-identical");
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let other = json!({"biller_id": "blr_demo_telco", "reference": "300-1234567", "amount": 1001, "currency": "USD"});
    app.post_idem("/v1/payments", ANA, "k1", other)
        .await
        .problem(422, "idempotency_key_reused");
    // Keys are scoped to the API key: the admin's "k1" is a different key.
    app.post_idem("/v1/customers", ADMIN, "k1", json!({"name": "Zoe"}))
        .await
        .ok(201);
    // A refusal is replayed too, even after the cause goes away.
    let (_, usd_bill) = app
        .biller_with_bill(
            "partial",
            json!({"fixed": 0, "bps": 0, "payer": "customer"}),
            "USD",
            10_000_000,
        )
        .await;
    let big = json!({"bill_id": usd_bill, "amount": 50_000, "currency": "USD"});
    app.post_idem("/v1/payments", ANA, "k2", big.clone())
        .await
        .problem(422, "insufficient_funds");
    app.post_idem(
        "/v1/customers/cus_demo_ana/wallet/topups",
        ANA,
        "t",
        json!({"amount": 100_000, "currency": "USD"}),
    )
    .await
    .ok(201);
    let replay = app.post_idem("/v1/payments", ANA, "k2", big.clone()).await;
    replay.problem(422, "insufficient_funds");
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    app.post_idem("/v1/payments", ANA, "k3", big).await.ok(201);
    app.raw(
        Method::POST,
        "/v1/payments",
        Some(ANA),
        &[("content-type", "application/json"), ("idempotency-key", "")],
        Some(b"{}".to_vec()),
    )
    .await
    .problem(400, "invalid_idempotency_key");
    app.assert_ledger_ok().await;
});

both!(
    fifty_concurrent_requests_with_one_key_pay_once,
    |app: TestApp| async move {
        let (_, bill) = app
            .biller_with_bill(
                "partial",
                json!({"fixed": 10, "bps": 0, "payer": "customer"}),
                "COP",
                1_000_000,
            )
            .await;
        let before = app.balance("cus_demo_ana", "COP").await;
        let body = json!({"bill_id": bill, "amount": 5_000, "currency": "COP"});
        let app = std::sync::Arc::new(app);
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (app, body) = (app.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                app.post_idem("/v1/payments", ANA, "same-key", body).await
            }));
        }
        let mut created = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            match r.status.as_u16() {
                201 => created.push(r.text),
                409 => assert_eq!(r.code(), "idempotency_request_in_flight"),
                s => panic!("unexpected {s}: {}", r.text),
            }
        }
        assert!(!created.is_empty());
        assert!(
            created.iter().all(|t| t == &created[0]),
            "every 201 is identical to the first"
        );
        let payments = app.get(&format!("/v1/payments?bill_id={bill}"), ADMIN).await.ok(200);
        assert_eq!(payments["data"].as_array().unwrap().len(), 1, "exactly one payment");
        let journal = payments["data"][0]["journal_id"].as_str().unwrap().to_owned();
        let j = app.get(&format!("/v1/ledger/journals/{journal}"), ADMIN).await.ok(200);
        assert_eq!(j["entries"].as_array().unwrap().len(), 3);
        assert_eq!(app.balance("cus_demo_ana", "COP").await, before - 5_010);
        app.assert_ledger_ok().await;
    }
);

// A payment that could not be decided (the bill kept changing under it) is not an answer: the
// same key, retried once the bill is quiet, makes the payment, once. The contention is made
// deterministic with a trigger that stops every write the payment needs.
both!(
    a_transient_refusal_is_not_kept_and_the_retry_pays_once,
    |app: TestApp| async move {
        let bill = app.bill_id("blr_demo_telco", "300-1234567").await;
        let (freeze, thaw) = match app.store().backend() {
            billpay_store::Backend::Postgres => (
                "CREATE FUNCTION test_freeze() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$; \
             CREATE TRIGGER test_freeze BEFORE UPDATE ON bills FOR EACH ROW EXECUTE FUNCTION test_freeze();",
                "DROP TRIGGER test_freeze ON bills; DROP FUNCTION test_freeze();",
            ),
            billpay_store::Backend::Sqlite => (
                "CREATE TRIGGER test_freeze BEFORE INSERT ON payments BEGIN SELECT RAISE(IGNORE); END;",
                "DROP TRIGGER test_freeze;",
            ),
        };
        let sql = |q: &'static str| sqlx::raw_sql(q).execute(app.store().pool());
        sql(freeze).await.unwrap();
        let body = json!({"bill_id": bill, "amount": 1000, "currency": "USD"});
        let busy = app.post_idem("/v1/payments", ANA, "busy-1", body.clone()).await;
        busy.problem(409, "bill_busy");
        assert!(busy.headers.get("idempotent-replayed").is_none());
        sql(thaw).await.unwrap();
        let paid = app.post_idem("/v1/payments", ANA, "busy-1", body.clone()).await;
        let payment = paid.ok(201);
        assert!(
            paid.headers.get("idempotent-replayed").is_none(),
            "the retry ran; it did not replay the 409"
        );
        let again = app.post_idem("/v1/payments", ANA, "busy-1", body).await;
        assert_eq!(again.status, 201);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(again.json()["id"], payment["id"]);
        let listed = app.get(&format!("/v1/payments?bill_id={bill}"), ADMIN).await.ok(200);
        let ids: Vec<&serde_json::Value> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["bill_id"] == bill.as_str())
            .map(|p| &p["id"])
            .collect();
        assert_eq!(ids, [&payment["id"]], "one payment for the bill");
        app.assert_ledger_ok().await;
        assert_eq!(
            busy.headers.get("retry-after").map(|v| v.to_str().unwrap()),
            Some("1"),
            "a transient answer says when to retry"
        );
    }
);

both!(business_rules_have_their_own_codes, |app: TestApp| async move {
    step("Exact-amount biller refuses a partial payment.");
    app.post(
        "/v1/payments",
        ANA,
        json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "amount": 100, "currency": "COP"}),
    )
    .await
    .problem(422, "amount_not_allowed");
    step("Reference that breaks the biller's format, with the hint in the message.");
    let p = app
        .post(
            "/v1/payments",
            ANA,
            json!({"biller_id": "blr_demo_energia", "reference": "12AB", "amount": 100, "currency": "COP"}),
        )
        .await
        .problem(422, "reference_invalid");
    assert!(p["detail"].as_str().unwrap().contains("10-digit account number"));
    step("Wrong currency.");
    app.post(
        "/v1/payments",
        ANA,
        json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "amount": 18_550_000, "currency": "USD"}),
    )
    .await
    .problem(422, "currency_mismatch");
    step("Another customer's bill is invisible.");
    let luis_bill = app.bill_id("blr_demo_energia", "1002003002").await;
    app.post(
        "/v1/payments",
        ANA,
        json!({"bill_id": luis_bill, "amount": 9_230_000, "currency": "COP"}),
    )
    .await
    .problem(404, "bill_not_found");
    app.get(&format!("/v1/bills/{luis_bill}"), ANA)
        .await
        .problem(404, "bill_not_found");
    step("Not enough money: the tax bill is 987,000.00 COP, Ana holds 1,000,000.00 but Luis's bill is his.");
    let (_, big) = app
        .biller_with_bill(
            "exact",
            json!({"fixed": 0, "bps": 0, "payer": "customer"}),
            "COP",
            500_000_000,
        )
        .await;
    let before = app.balance("cus_demo_ana", "COP").await;
    app.post(
        "/v1/payments",
        ANA,
        json!({"bill_id": big, "amount": 500_000_000, "currency": "COP"}),
    )
    .await
    .problem(422, "insufficient_funds");
    assert_eq!(
        app.balance("cus_demo_ana", "COP").await,
        before,
        "a refused payment moves nothing"
    );
    step("A suspended biller takes nothing.");
    app.raw(
        Method::PATCH,
        "/v1/billers/blr_demo_gasnatural",
        Some(ADMIN),
        &[("content-type", "application/json")],
        Some(json!({"status": "suspended"}).to_string().into_bytes()),
    )
    .await
    .ok(200);
    app.post(
        "/v1/payments",
        ANA,
        json!({"biller_id": "blr_demo_gasnatural", "reference": "40050060", "amount": 100, "currency": "COP"}),
    )
    .await
    .problem(422, "biller_suspended");
    step("A biller-paid fee larger than the amount.");
    let (_, b2) = app
        .biller_with_bill(
            "partial",
            json!({"fixed": 500, "bps": 0, "payer": "biller"}),
            "COP",
            10_000,
        )
        .await;
    app.post(
        "/v1/payments",
        ANA,
        json!({"bill_id": b2, "amount": 400, "currency": "COP"}),
    )
    .await
    .problem(422, "amount_not_allowed");
    step("Partial rule refuses overpayment; overpayment rule accepts it.");
    app.post(
        "/v1/payments",
        ANA,
        json!({"bill_id": b2, "amount": 10_001, "currency": "COP"}),
    )
    .await
    .problem(422, "amount_not_allowed");
    let (_, b3) = app
        .biller_with_bill(
            "overpayment",
            json!({"fixed": 0, "bps": 0, "payer": "customer"}),
            "COP",
            10_000,
        )
        .await;
    app.post(
        "/v1/payments",
        ANA,
        json!({"bill_id": b3, "amount": 12_000, "currency": "COP"}),
    )
    .await
    .ok(201);
    assert_eq!(
        app.get(&format!("/v1/bills/{b3}"), ADMIN).await.ok(200)["amount_outstanding"],
        -2_000
    );
    app.assert_ledger_ok().await;
});

both!(bad_input_is_a_named_4xx, |app: TestApp| async move {
    let send = |body: &'static [u8], ct: &'static str| {
        let app = &app;
        async move {
            app.raw(
                Method::POST,
                "/v1/payments",
                Some(ANA),
                &[("content-type", ct)],
                Some(body.to_vec()),
            )
            .await
        }
    };
    send(b"{not json", "application/json")
        .await
        .problem(400, "malformed_json");
    send(b"{}", "text/plain").await.problem(415, "unsupported_media_type");
    let p = send(
        br#"{"bill_id":"bill_x","amount":"100","currency":"COP"}"#,
        "application/json",
    )
    .await
    .problem(422, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("amount"), "{p}");
    let p = send(
        br#"{"bill_id":"bill_x","amount":100,"currency":"COP","tip":5}"#,
        "application/json",
    )
    .await
    .problem(422, "invalid_body");
    assert!(p["detail"].as_str().unwrap().contains("tip"), "{p}");
    send(
        br#"{"bill_id":"bill_x","amount":0,"currency":"COP"}"#,
        "application/json",
    )
    .await
    .problem(422, "invalid_amount");
    send(
        br#"{"bill_id":"bill_x","amount":-5,"currency":"COP"}"#,
        "application/json",
    )
    .await
    .problem(422, "invalid_amount");
    send(
        br#"{"bill_id":"bill_x","amount":99999999999999999999999,"currency":"COP"}"#,
        "application/json",
    )
    .await
    .problem(422, "invalid_body");
    send(
        br#"{"bill_id":"bill_x","amount":1000000000000000001,"currency":"COP"}"#,
        "application/json",
    )
    .await
    .problem(422, "invalid_amount");
    send(
        br#"{"bill_id":"bill_x","amount":100,"currency":"cop"}"#,
        "application/json",
    )
    .await
    .problem(422, "invalid_currency");
    send(
        br#"{"bill_id":"bill_nope","amount":100,"currency":"COP"}"#,
        "application/json",
    )
    .await
    .problem(404, "bill_not_found");
    send(
        br#"{"bill_id":"pay_wrongkind","amount":100,"currency":"COP"}"#,
        "application/json",
    )
    .await
    .problem(404, "bill_not_found");
    send(br#"{"amount":100,"currency":"COP"}"#, "application/json")
        .await
        .problem(422, "invalid_request");
    let huge = format!(r#"{{"bill_id":"{}","amount":1,"currency":"COP"}}"#, "x".repeat(100_000));
    app.raw(
        Method::POST,
        "/v1/payments",
        Some(ANA),
        &[("content-type", "application/json")],
        Some(huge.into_bytes()),
    )
    .await
    .problem(413, "payload_too_large");
    app.get("/v1/payments?cursor=Zm9yZ2Vk", ADMIN)
        .await
        .problem(400, "invalid_cursor");
    app.get("/v1/payments?cursor=!!!", ADMIN)
        .await
        .problem(400, "invalid_cursor");
    app.get("/v1/payments?limit=1000", ADMIN)
        .await
        .problem(400, "invalid_limit");
    app.get("/v1/payments?colour=red", ADMIN)
        .await
        .problem(400, "invalid_query");
    app.get("/v1/payments/pay_doesnotexist", ADMIN)
        .await
        .problem(404, "payment_not_found");
    app.get("/v1/nothing-here", ADMIN).await.problem(404, "route_not_found");
    app.raw(Method::DELETE, "/v1/payments", Some(ADMIN), &[], None)
        .await
        .problem(405, "method_not_allowed");
    app.raw(Method::TRACE, "/v1/payments", Some(ADMIN), &[], None)
        .await
        .problem(405, "method_not_allowed");
    // 401 and 403 are distinct.
    app.raw(Method::GET, "/v1/payments", None, &[], None)
        .await
        .problem(401, "unauthenticated");
    app.get("/v1/payments", "bpk_wrong")
        .await
        .problem(401, "invalid_api_key");
    app.post("/v1/billers", ANA, json!({})).await.problem(403, "forbidden");
    app.get("/v1/ledger/accounts", ENERGIA).await.problem(403, "forbidden");
    step("Nothing above wrote anything.");
    assert_eq!(
        app.get("/v1/payments", ADMIN).await.ok(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    app.assert_ledger_ok().await;
});

both!(refunds_reverse_and_restore_the_bill, |app: TestApp| async move {
    let (_, bill) = app
        .biller_with_bill(
            "partial",
            json!({"fixed": 100, "bps": 100, "payer": "customer"}),
            "COP",
            50_000,
        )
        .await;
    let before = app.balance("cus_demo_ana", "COP").await;
    let pay = app
        .post(
            "/v1/payments",
            ANA,
            json!({"bill_id": bill, "amount": 20_000, "currency": "COP"}),
        )
        .await
        .ok(201);
    assert_eq!(pay["fee"], 300); // 100 fixed + 1% of 20,000
    let pid = pay["id"].as_str().unwrap();
    let refunds = format!("/v1/payments/{pid}/refunds");
    app.post(&refunds, ANA, json!({"amount": 5_000}))
        .await
        .problem(403, "forbidden");
    app.post(&refunds, ADMIN, json!({"amount": 5_000, "reason": "double charge"}))
        .await
        .ok(201);
    assert_eq!(
        app.get(&format!("/v1/bills/{bill}"), ADMIN).await.ok(200)["amount_outstanding"],
        35_000
    );
    app.post(&refunds, ADMIN, json!({"amount": 15_001}))
        .await
        .problem(422, "refund_exceeds_payment");
    app.post(&refunds, ADMIN, json!({"amount": 15_000})).await.ok(201);
    let p = app.get(&format!("/v1/payments/{pid}"), ADMIN).await.ok(200);
    assert_eq!(p["status"], "refunded");
    assert_eq!(p["refunded_amount"], 20_000);
    app.post(&refunds, ADMIN, json!({"amount": 1}))
        .await
        .problem(422, "refund_exceeds_payment");
    let bill_now = app.get(&format!("/v1/bills/{bill}"), ADMIN).await.ok(200);
    assert_eq!(bill_now["amount_outstanding"], 50_000);
    assert_eq!(bill_now["status"], "open");
    // The fee is not refunded.
    assert_eq!(app.balance("cus_demo_ana", "COP").await, before - 300);
    assert_eq!(
        app.get("/v1/payments?status=refunded", ADMIN).await.ok(200)["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The revenue account's journals, newest first, each with its entries summing to zero.
    let journals = app
        .get("/v1/ledger/journals?account_id=acct_revenue_cop&limit=2", ADMIN)
        .await
        .ok(200);
    let first = &journals["data"][0];
    assert_eq!(first["kind"], "payment");
    let entries = first["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries.iter().map(|e| e["amount"].as_i64().unwrap()).sum::<i64>(), 0);
    assert_eq!(entries[2]["account_id"], "acct_revenue_cop");
    app.assert_ledger_ok().await;
});

both!(bulk_csv_is_all_or_nothing_with_row_errors, |app: TestApp| async move {
    let csv = |body: String| {
        let app = &app;
        async move {
            app.raw(
                Method::POST,
                "/v1/bills/bulk",
                Some(ENERGIA),
                &[("content-type", "text/csv")],
                Some(body.into_bytes()),
            )
            .await
        }
    };
    let good = "reference,customer_name,amount_due,due_date\n5000000001,Eva,100000,2030-01-01\n5000000002,Max,200000,2030-01-01\n";
    let r = csv(good.to_owned()).await.ok(201);
    assert_eq!(r["created"], 2);
    let bad = "reference,customer_name,amount_due,due_date\n5000000003,Ok Row,100,2030-01-01\nABC,Bad Ref,100,2030-01-01\n5000000004,Neg,-1,2030-01-01\n5000000005,Date,100,2030-02-30\n5000000001,Dup,100,2030-01-01\n";
    let p = csv(bad.to_owned()).await.problem(422, "invalid_rows");
    let errors = p["errors"].as_array().unwrap();
    let rows: Vec<&str> = errors.iter().map(|e| e["location"].as_str().unwrap()).collect();
    assert_eq!(rows, ["row 3", "row 4"], "{p}");
    let bad2 = "reference,customer_name,amount_due,due_date\n5000000003,Ok Row,100,2030-01-01\n5000000001,Dup,100,2030-01-01\n";
    let p = csv(bad2.to_owned()).await.problem(422, "invalid_rows");
    assert_eq!(p["errors"][0]["location"], "row 2");
    assert_eq!(p["errors"][0]["code"], "duplicate_bill");
    // Nothing of the refused files was written.
    let listed = app.get("/v1/bills?limit=100", ENERGIA).await.ok(200);
    assert_eq!(listed["data"].as_array().unwrap().len(), 3 + 2);
    let mut big = String::from("reference,customer_name,amount_due,due_date\n");
    for i in 0..10_001 {
        big.push_str(&format!("{:010},N,1,2030-01-01\n", i));
    }
    csv(big).await.problem(413, "too_many_rows");
    let mut ok = String::from("reference,customer_name,amount_due,due_date\n");
    for i in 0..10_000 {
        ok.push_str(&format!("{:010},N,1,2030-01-01\n", 6_000_000_000u64 + i));
    }
    assert_eq!(csv(ok).await.ok(201)["created"], 10_000);
});

both!(lists_page_with_cursors, |app: TestApp| async move {
    for i in 0..5 {
        app.post("/v1/customers", ADMIN, json!({"name": format!("C{i}")}))
            .await
            .ok(201);
    }
    let mut seen = Vec::new();
    let mut path = "/v1/customers?limit=2".to_owned();
    loop {
        let page = app.get(&path, ADMIN).await.ok(200);
        for c in page["data"].as_array().unwrap() {
            seen.push(c["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/customers?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5 + 3, "five new customers and three demo ones");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no repeats");
});

both!(operations_endpoints, |app: TestApp| async move {
    let h = app.raw(Method::GET, "/healthz", None, &[], None).await;
    assert_eq!(h.status, 200);
    assert!(h.headers["x-request-id"].to_str().unwrap().starts_with("req_"));
    let own = app
        .raw(Method::GET, "/healthz", None, &[("x-request-id", "my-trace-1")], None)
        .await;
    assert_eq!(own.headers["x-request-id"], "my-trace-1");
    assert_eq!(app.raw(Method::GET, "/readyz", None, &[], None).await.status, 200);
    let doc = app.raw(Method::GET, "/openapi.json", None, &[], None).await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/v1/payments"]["post"].is_object());
    app.post(
        "/v1/payments",
        ANA,
        json!({"biller_id": "blr_demo_telco", "reference": "300-1234567", "amount": 100, "currency": "USD"}),
    )
    .await
    .ok(201);
    let m = app.raw(Method::GET, "/metrics", None, &[], None).await.text;
    assert!(
        m.contains("billpay_http_requests_total{method=\"POST\",route=\"/v1/payments\",status=\"201\"}"),
        "{m}"
    );
    assert!(m.contains("billpay_http_request_duration_seconds_bucket"));
    assert!(m.contains("billpay_payments_total{status=\"succeeded\"}"));
    assert!(m.contains("billpay_payment_amount_minor_total{currency=\"USD\"}"));
    assert!(m.contains("billpay_db_pool_connections"));
});

both!(ledger_verify_catches_tampering, |app: TestApp| async move {
    app.post(
        "/v1/payments",
        ANA,
        json!({"biller_id": "blr_demo_telco", "reference": "300-1234567", "amount": 100, "currency": "USD"}),
    )
    .await
    .ok(201);
    app.assert_ledger_ok().await;
    let pool = app.store().pool();
    // The append-only triggers refuse edits outright.
    let edit = sqlx::query("UPDATE entries SET amount = amount + 1 WHERE line = 1")
        .execute(pool)
        .await;
    assert!(edit.is_err(), "entries must be append-only");
    // A wallet balance changed behind the ledger's back is caught.
    sqlx::query("UPDATE wallets SET balance = balance + 7 WHERE customer_id = 'cus_demo_ana' AND currency = 'USD'")
        .execute(pool)
        .await
        .unwrap();
    let v = billpay_store::verify_ledger(app.store()).await.unwrap();
    assert!(
        v.iter()
            .any(|v| v.invariant == "a wallet's balance equals the sum of its entries"),
        "{v:?}"
    );
    // A bill whose outstanding amount drifts is caught.
    sqlx::query("UPDATE bills SET outstanding = outstanding - 1 WHERE reference = '300-1234567'")
        .execute(pool)
        .await
        .unwrap();
    let v = billpay_store::verify_ledger(app.store()).await.unwrap();
    assert!(
        v.iter().any(|v| v.invariant.starts_with("a bill's outstanding")),
        "{v:?}"
    );
    // A payment pointing at a bill that does not exist: SQLite's foreign key refuses it; on
    // PostgreSQL, where payments carry no foreign keys, verify reports it.
    let dangling = sqlx::query("UPDATE payments SET bill_id = 'bill_gone'")
        .execute(pool)
        .await;
    match app.store().backend() {
        billpay_store::Backend::Sqlite => assert!(dangling.is_err(), "SQLite keeps the foreign key"),
        billpay_store::Backend::Postgres => {
            dangling.unwrap();
            let v = billpay_store::verify_ledger(app.store()).await.unwrap();
            assert!(
                v.iter().any(|v| v.detail.contains("names unknown bill bill_gone")),
                "{v:?}"
            );
        }
    }
});

both!(idempotency_keys_are_swept_after_retention, |app: TestApp| async move {
    let body = json!({"name": "Kept"});
    app.post_idem("/v1/customers", ADMIN, "sweep-me", body.clone())
        .await
        .ok(201);
    // Records newer than the cut-off stay; the sweeper only removes older ones.
    let kept = app
        .store()
        .idempotency_sweep("2000-01-01T00:00:00.000000Z")
        .await
        .unwrap();
    assert_eq!(kept, 0);
    assert_eq!(
        app.post_idem("/v1/customers", ADMIN, "sweep-me", body.clone())
            .await
            .headers["idempotent-replayed"],
        "true"
    );
    let removed = app
        .store()
        .idempotency_sweep("2999-01-01T00:00:00.000000Z")
        .await
        .unwrap();
    assert!(removed >= 1);
    // Once swept, the key is free again: the same request creates a second customer.
    let again = app.post_idem("/v1/customers", ADMIN, "sweep-me", body).await;
    assert_eq!(again.status, 201);
    assert!(again.headers.get("idempotent-replayed").is_none());
});

both!(
    looks_bills_up_from_the_barcode_on_the_invoice,
    |app: TestApp| async move {
        // As printed under the bars, and as a scanner types it (FNC1 is ASCII 29, %1D).
        let printed = "(415)7709998000018(8020)1002003001(3900)185500(96)20261215";
        let found = app
            .get(
                &format!(
                    "/v1/bills/lookup?barcode={}",
                    printed.replace('(', "%28").replace(')', "%29")
                ),
                ANA,
            )
            .await
            .ok(200);
        assert_eq!(found["data"][0]["reference"], "1002003001");
        assert_eq!(found["data"][0]["biller_id"], "blr_demo_energia");
        let scanned = "415770999800001880201002003001%1D3900185500%1D9620261215";
        let scanned_found = app
            .get(&format!("/v1/bills/lookup?barcode={scanned}"), ANA)
            .await
            .ok(200);
        assert_eq!(scanned_found["data"], found["data"], "both forms find the same bill");

        // What is wrong is named: a bad check digit, an unknown biller, a reference its biller refuses.
        let bad = app
            .get(
                "/v1/bills/lookup?barcode=%28415%297709998000013%288020%291002003001",
                ANA,
            )
            .await
            .problem(422, "invalid_barcode");
        assert!(
            bad["detail"]
                .as_str()
                .unwrap()
                .contains("has check digit 3, but its digits give 8"),
            "{bad}"
        );
        let unknown = app
            .get(
                "/v1/bills/lookup?barcode=%28415%290614141000029%288020%291002003001",
                ANA,
            )
            .await
            .problem(404, "biller_not_found");
        assert!(
            unknown["detail"].as_str().unwrap().contains("(415) 0614141000029"),
            "{unknown}"
        );
        app.get("/v1/bills/lookup?barcode=%28415%297709998000018%288020%29ABC", ANA)
            .await
            .problem(422, "reference_invalid");
        app.get("/v1/bills/lookup?barcode=x&biller_id=blr_demo_energia", ANA)
            .await
            .problem(400, "invalid_query");

        // Billers carry their location number; it is checked, and unique.
        let biller = app.get("/v1/billers/blr_demo_energia", ADMIN).await.ok(200);
        assert_eq!(biller["gln"], "7709998000018");
        let r = app
            .raw(
                Method::PATCH,
                "/v1/billers/blr_demo_acueducto",
                Some(ADMIN),
                &[("content-type", "application/json")],
                Some(json!({"gln": "7709998000013"}).to_string().into_bytes()),
            )
            .await;
        let p = r.problem(422, "invalid_request");
        assert!(
            p["detail"].as_str().unwrap().starts_with("gln: (415) location number"),
            "{p}"
        );
        let r = app
            .raw(
                Method::PATCH,
                "/v1/billers/blr_demo_acueducto",
                Some(ADMIN),
                &[("content-type", "application/json")],
                Some(json!({"gln": "7709998000018"}).to_string().into_bytes()),
            )
            .await;
        let p = r.problem(409, "conflict");
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("7709998000018 is already another biller's"),
            "{p}"
        );
    }
);

both!(
    records_every_admin_and_biller_action_in_the_audit_log,
    |app: TestApp| async move {
        let start = app.get("/v1/audit-events?limit=100", ADMIN).await.ok(200)["data"]
            .as_array()
            .unwrap()
            .len();
        step("An admin creates a biller, with a request id of its own.");
        let created = app
        .raw(
            Method::POST,
            "/v1/billers",
            Some(ADMIN),
            &[("content-type", "application/json"), ("x-request-id", "req-audit-1")],
            Some(
                json!({"name": "Audit Utility", "category": "water", "currency": "COP", "reference_pattern": "[0-9]{6}",
                       "reference_hint": "six digits", "amount_rule": "exact"})
                .to_string()
                .into_bytes(),
            ),
        )
        .await;
        let biller = created.ok(201);
        let biller_id = biller["id"].as_str().unwrap();
        step("A biller presents a bill; a customer pays one (customers are not in this log).");
        let bill = app
        .post_idem(
            "/v1/bills",
            ENERGIA,
            "audit-bill",
            json!({"reference": "7007007007", "customer_name": "Hogar", "amount_due": 100, "currency": "COP", "due_date": "2026-12-31"}),
        )
        .await
        .ok(201);
        step("Replaying the same request changes nothing, and is not recorded twice.");
        app.post_idem(
        "/v1/bills",
        ENERGIA,
        "audit-bill",
        json!({"reference": "7007007007", "customer_name": "Hogar", "amount_due": 100, "currency": "COP", "due_date": "2026-12-31"}),
    )
    .await
    .ok(201);
        app.post_idem(
            "/v1/payments",
            ANA,
            "audit-pay",
            json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "amount": 100, "currency": "COP"}),
        )
        .await;
        step("A refused admin action is recorded too, with its status.");
        app.post("/v1/billers", ADMIN, json!({"name": ""})).await;

        let all = app.get("/v1/audit-events?limit=100", ADMIN).await.ok(200);
        let events = all["data"].as_array().unwrap();
        assert_eq!(events.len(), start + 3, "{all}");
        let made = events
            .iter()
            .find(|e| e["subject"] == biller_id)
            .expect("the biller's creation");
        assert_eq!(made["action"], "POST /v1/billers");
        assert_eq!(made["request_id"], "req-audit-1");
        assert_eq!(made["detail"]["status"], 201);
        assert_eq!(made["detail"]["role"], "admin");
        let presented = events
            .iter()
            .find(|e| e["subject"] == bill["id"])
            .expect("the bill's presentment");
        assert_eq!(presented["detail"]["role"], "biller");
        assert!(
            events
                .iter()
                .any(|e| e["detail"]["status"] == 422 && e["action"] == "POST /v1/billers")
        );
        assert!(
            !events.iter().any(|e| e["action"] == "POST /v1/payments"),
            "customers' payments are not here"
        );

        step("Filters: by actor, by action (exact and prefix), by subject, by time.");
        let admin_actor = made["actor"].as_str().unwrap();
        let by_actor = app
            .get(&format!("/v1/audit-events?actor={admin_actor}&limit=100"), ADMIN)
            .await
            .ok(200);
        assert!(
            by_actor["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["actor"] == admin_actor)
        );
        assert!(
            by_actor["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["subject"] != bill["id"])
        );
        let by_action = app
            .get("/v1/audit-events?action=POST%20%2Fv1%2Fbills&limit=100", ADMIN)
            .await
            .ok(200);
        assert_eq!(by_action["data"].as_array().unwrap().len(), 1, "{by_action}");
        let by_prefix = app
            .get("/v1/audit-events?action=POST%20%2Fv1%2Fbill*&limit=100", ADMIN)
            .await
            .ok(200);
        assert_eq!(by_prefix["data"].as_array().unwrap().len(), 3, "{by_prefix}");
        let by_subject = app
            .get(&format!("/v1/audit-events?subject={biller_id}"), ADMIN)
            .await
            .ok(200);
        assert_eq!(by_subject["data"].as_array().unwrap().len(), 1);
        let later = app.get("/v1/audit-events?from=2999-01-01", ADMIN).await.ok(200);
        assert_eq!(later["data"], json!([]));
        let earlier = app
            .get("/v1/audit-events?until=2000-01-01T00:00:00Z", ADMIN)
            .await
            .ok(200);
        assert_eq!(earlier["data"], json!([]));
        let bad = app
            .get("/v1/audit-events?from=yesterday", ADMIN)
            .await
            .problem(400, "invalid_query");
        assert!(bad["detail"].as_str().unwrap().contains("from `yesterday`"), "{bad}");
        step("Only admins read it.");
        app.get("/v1/audit-events", ENERGIA).await.problem(403, "forbidden");

        // No record, no action: with the audit log unwritable, a change is refused and nothing
        // is created.
        let billers_before = app.get("/v1/billers?limit=100", ADMIN).await.ok(200)["data"]
            .as_array()
            .unwrap()
            .len();
        sqlx::query("ALTER TABLE audit_events RENAME TO audit_events_away")
            .execute(app.store().pool())
            .await
            .unwrap();
        let refused = app
            .post(
                "/v1/billers",
                ADMIN,
                json!({"name": "Unaudited", "category": "water", "currency": "COP", "reference_pattern": "[0-9]{6}",
                       "reference_hint": "six digits", "amount_rule": "exact", "fee": {"fixed": 0, "bps": 0, "payer": "customer"}}),
            )
            .await;
        refused.problem(503, "audit_unavailable");
        sqlx::query("ALTER TABLE audit_events_away RENAME TO audit_events")
            .execute(app.store().pool())
            .await
            .unwrap();
        let billers_after = app.get("/v1/billers?limit=100", ADMIN).await.ok(200)["data"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(billers_after, billers_before);
    }
);
