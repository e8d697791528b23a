//! Complaints over HTTP, on SQLite and PostgreSQL: filed by a customer, worked by the biller,
//! resolved with a refund through the ledger, escalated by the worker on a test clock when the
//! deadline passes, and closed; who may do what; history, notifications and the audit log.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use billpay_core::time::TestClock;
use billpay_worker::{Settings, Worker};
use common::{ADMIN, ANA, ENERGIA, LUIS, TestApp, step};
use serde_json::{Value, json};

const TELCO: &str = "bpk_demo_biller_telco";

async fn pay_demo_bill(app: &TestApp) -> Value {
    app.post_idem(
        "/v1/payments",
        ANA,
        "pay-complained",
        json!({"biller_id": "blr_demo_energia", "reference": "1002003001", "amount": 18_550_000, "currency": "COP"}),
    )
    .await
    .ok(201)
}

fn actions(c: &Value) -> Vec<String> {
    c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn notified(app: &TestApp, kind: &str) -> Vec<Value> {
    let n = app.get("/v1/notifications", ANA).await.ok(200);
    n["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .cloned()
        .collect()
}

both!(
    a_complaint_is_worked_and_resolved_with_a_refund,
    |app: TestApp| async move {
        let payment = pay_demo_bill(&app).await;
        let pid = payment["id"].as_str().unwrap();

        step("Bad complaints are refused by name, and only the customer files one.");
        let r = app
            .post(
                "/v1/complaints",
                ANA,
                json!({"payment_id": pid, "type": "angry", "description": "x"}),
            )
            .await;
        assert!(
            r.problem(422, "invalid_request")["detail"]
                .as_str()
                .unwrap()
                .contains("paid_not_credited")
        );
        app.post("/v1/complaints", ANA, json!({"type": "other", "description": "x"}))
            .await
            .problem(422, "invalid_request");
        app.post(
            "/v1/complaints",
            LUIS,
            json!({"payment_id": pid, "type": "other", "description": "not mine"}),
        )
        .await
        .problem(404, "payment_not_found");
        app.post(
            "/v1/complaints",
            ENERGIA,
            json!({"payment_id": pid, "type": "other", "description": "x"}),
        )
        .await
        .problem(403, "forbidden");
        let types = app.get("/v1/complaint-types", ANA).await.ok(200);
        assert_eq!(types[0], json!({"type": "paid_not_credited", "response_hours": 48}));

        step("Ana files one: it is Energía's, due in 48 hours, and Energía hears of it.");
        let c = app
        .post_idem(
            "/v1/complaints",
            ANA,
            "complaint-1",
            json!({"payment_id": pid, "type": "paid_not_credited", "description": "Pagué y la factura sigue pendiente"}),
        )
        .await
        .ok(201);
        let id = c["id"].as_str().unwrap().to_owned();
        assert_eq!(c["status"], "open");
        assert_eq!(c["biller_id"], "blr_demo_energia");
        assert_eq!(c["bill_id"], payment["bill_id"]);
        let hours =
            billpay_core::time::seconds_between(c["created_at"].as_str().unwrap(), c["respond_by"].as_str().unwrap());
        assert_eq!(hours, Some(48 * 3600));
        let listed = app.get("/v1/complaints", ENERGIA).await.ok(200);
        assert_eq!(listed["data"][0]["id"], id.as_str());
        let again = app
        .post_idem(
            "/v1/complaints",
            ANA,
            "complaint-1",
            json!({"payment_id": pid, "type": "paid_not_credited", "description": "Pagué y la factura sigue pendiente"}),
        )
        .await
        .ok(201);
        assert_eq!(again["id"], id.as_str(), "a retry with the same key files nothing new");

        step("Nobody else sees it.");
        let path = format!("/v1/complaints/{id}");
        app.get(&path, LUIS).await.problem(404, "complaint_not_found");
        app.get(&path, TELCO).await.problem(404, "complaint_not_found");
        assert_eq!(app.get("/v1/complaints", TELCO).await.ok(200)["data"], json!([]));
        app.post(&format!("{path}/respond"), ANA, json!({"message": "I answer myself"}))
            .await
            .problem(403, "forbidden");
        app.post(&format!("{path}/resolve"), TELCO, json!({"resolution": "x"}))
            .await
            .problem(404, "complaint_not_found");

        step("Energía assigns it and answers; Ana is told.");
        let a = app
            .post(
                &format!("{path}/assign"),
                ENERGIA,
                json!({"assignee": "soporte@energia.example"}),
            )
            .await
            .ok(200);
        assert_eq!(a["status"], "assigned");
        let r = app
            .post(
                &format!("{path}/respond"),
                ENERGIA,
                json!({"message": "Lo revisamos: el pago se aplicó dos veces"}),
            )
            .await
            .ok(200);
        assert_eq!(r["status"], "responded");
        let told = notified(&app, "complaint.responded").await;
        assert!(told[0]["message"].as_str().unwrap().contains("dos veces"), "{told:?}");

        step("A refund larger than the payment is refused, and nothing changes.");
        app.post_idem(
            &format!("{path}/resolve"),
            ENERGIA,
            "resolve-too-much",
            json!({"resolution": "refund", "refund_amount": 99_000_000}),
        )
        .await
        .problem(422, "refund_exceeds_payment");
        assert_eq!(app.get(&path, ANA).await.ok(200)["status"], "responded");

        step("Resolved with a refund: through the refund path, with the ledger.");
        let before = app.balance("cus_demo_ana", "COP").await;
        let done = app
            .post_idem(
                &format!("{path}/resolve"),
                ENERGIA,
                "resolve-1",
                json!({"resolution": "Devolvemos el cobro", "refund_amount": 1_000_000}),
            )
            .await
            .ok(200);
        assert_eq!(done["status"], "resolved");
        let refund_id = done["refund_id"].as_str().unwrap();
        assert!(refund_id.starts_with("rfd_"));
        assert_eq!(app.balance("cus_demo_ana", "COP").await, before + 1_000_000);
        let p = app.get(&format!("/v1/payments/{pid}"), ADMIN).await.ok(200);
        assert_eq!(p["refunded_amount"], 1_000_000, "{p}");
        let replay = app
            .post_idem(
                &format!("{path}/resolve"),
                ENERGIA,
                "resolve-1",
                json!({"resolution": "Devolvemos el cobro", "refund_amount": 1_000_000}),
            )
            .await
            .ok(200);
        assert_eq!(replay["refund_id"], refund_id, "a retry refunds nothing more");
        assert_eq!(app.balance("cus_demo_ana", "COP").await, before + 1_000_000);
        app.post(&format!("{path}/respond"), ENERGIA, json!({"message": "more"}))
            .await
            .problem(409, "conflict");

        step("The biller cannot close it; Ana does; then nothing more can happen.");
        app.post(&format!("{path}/close"), ENERGIA, json!({}))
            .await
            .problem(403, "forbidden");
        let closed = app
            .post(&format!("{path}/close"), ANA, json!({"note": "Gracias"}))
            .await
            .ok(200);
        assert_eq!(closed["status"], "closed");
        assert_eq!(
            actions(&closed),
            ["opened", "assigned", "responded", "resolved", "closed"]
        );
        app.post(&format!("{path}/close"), ANA, json!({}))
            .await
            .problem(409, "conflict");

        step("Every step is in the audit log.");
        let audit = app.get(&format!("/v1/audit-events?subject={id}"), ADMIN).await.ok(200);
        let mut logged: Vec<String> = audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| {
                e["action"]
                    .as_str()
                    .filter(|a| a.starts_with("complaint."))
                    .map(str::to_owned)
            })
            .collect();
        logged.sort();
        assert_eq!(
            logged,
            [
                "complaint.assigned",
                "complaint.closed",
                "complaint.opened",
                "complaint.resolved",
                "complaint.responded"
            ]
        );
        app.assert_ledger_ok().await;
    }
);

both!(
    an_unanswered_complaint_escalates_at_its_deadline,
    |app: TestApp| async move {
        let clock = Arc::new(TestClock::new());
        let worker = Worker::new(app.store().clone(), clock.clone(), Settings::default());
        let bill = app.bill_id("blr_demo_energia", "1002003001").await;
        let c = app
            .post(
                "/v1/complaints",
                ANA,
                json!({"bill_id": bill, "type": "wrong_amount", "description": "El valor no es el de mi consumo"}),
            )
            .await
            .ok(201);
        let id = c["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/complaints/{id}");

        step("Before the deadline (120 hours) nothing happens.");
        clock.advance(time::Duration::hours(119));
        assert_eq!(worker.tick().await.unwrap().complaints_escalated, 0);
        assert_eq!(app.get(&path, ANA).await.ok(200)["escalated_at"], Value::Null);

        step("Past it, the worker escalates it once: history, Ana told, admins' queue.");
        clock.advance(time::Duration::hours(2));
        assert_eq!(worker.tick().await.unwrap().complaints_escalated, 1);
        assert_eq!(worker.tick().await.unwrap().complaints_escalated, 0, "once");
        let e = app.get(&path, ANA).await.ok(200);
        assert!(e["escalated_at"].is_string());
        assert_eq!(actions(&e), ["opened", "escalated"]);
        assert_eq!(e["history"][1]["actor"], "worker");
        assert_eq!(notified(&app, "complaint.escalated").await.len(), 1);
        let queue = app.get("/v1/complaints?escalated=true", ADMIN).await.ok(200);
        assert_eq!(queue["data"][0]["id"], id.as_str());
        assert_eq!(
            app.get("/v1/complaints?escalated=false", ADMIN).await.ok(200)["data"],
            json!([])
        );
        let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE type = 'complaint.escalated'")
            .fetch_one(app.store().pool())
            .await
            .unwrap();
        assert_eq!(events, 1);

        step("An admin resolves it; a complaint about a bill cannot carry a refund.");
        app.post(
            &format!("{path}/resolve"),
            ADMIN,
            json!({"resolution": "x", "refund_amount": 100}),
        )
        .await
        .problem(422, "invalid_request");
        app.post(
            &format!("{path}/resolve"),
            ADMIN,
            json!({"resolution": "Corregimos la lectura del medidor"}),
        )
        .await
        .ok(200);
        assert_eq!(notified(&app, "complaint.resolved").await.len(), 1);

        step("A week after its resolution it closes by itself.");
        clock.advance(time::Duration::days(8));
        assert_eq!(worker.tick().await.unwrap().complaints_closed, 1);
        let closed = app.get(&path, ANA).await.ok(200);
        assert_eq!(closed["status"], "closed");
        assert_eq!(
            app.get("/v1/complaints?status=bogus", ADMIN)
                .await
                .problem(422, "invalid_request")["code"],
            "invalid_request"
        );
    }
);
