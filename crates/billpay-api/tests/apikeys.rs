//! Machines' API keys over HTTP, on SQLite and PostgreSQL: admins make them with a scope and an
//! expiry, see them without secrets, rotate them with an overlap, and revoke them; a read-only key
//! cannot change anything, and expired or revoked keys are refused.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ADMIN, ANA, TestApp, step};
use reqwest::Method;
use serde_json::json;

both!(
    keys_have_a_scope_an_expiry_and_can_be_rotated_and_revoked,
    |app: TestApp| async move {
        step("An admin makes a read-only key for Energía's reporting, good for 30 days.");
        let made = app
        .post(
            "/v1/api-keys",
            ADMIN,
            json!({"role": "biller", "biller_id": "blr_demo_energia", "label": "reporting", "scope": "read_only", "expires_in_days": 30}),
        )
        .await
        .ok(201);
        let key = made["secret"].as_str().unwrap().to_owned();
        assert_eq!(made["scope"], "read_only");
        assert!(made["expires_at"].as_str().unwrap() > "2026", "{made}");

        step("It reads, and it cannot change anything.");
        app.get("/v1/bills?limit=1", &key).await.ok(200);
        app.post(
        "/v1/bills",
        &key,
        json!({"biller_id": "blr_demo_energia", "reference": "1002009999", "customer_name": "X", "amount_due": 1000, "due_date": "2030-01-01"}),
    )
    .await
    .problem(403, "scope_forbidden");

        step("The list shows it, without any secret.");
        let list = app.get("/v1/api-keys", ADMIN).await;
        assert!(!list.text.contains(&key), "no secret in the list");
        let list = list.ok(200);
        let listed = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == made["id"])
            .unwrap()
            .clone();
        assert_eq!(listed["label"], "reporting");
        assert_eq!(listed["revoked_at"], serde_json::Value::Null);

        step("Rotation gives a new secret; with no overlap the old one stops at once.");
        let id = made["id"].as_str().unwrap();
        let rotated = app
            .post(&format!("/v1/api-keys/{id}/rotate"), ADMIN, json!({"overlap_hours": 0}))
            .await
            .ok(201);
        let new_key = rotated["secret"].as_str().unwrap().to_owned();
        assert_eq!(rotated["scope"], "read_only", "the scope carries over");
        app.get("/v1/bills?limit=1", &new_key).await.ok(200);
        app.get("/v1/bills?limit=1", &key).await.problem(401, "invalid_api_key");

        step("With an overlap, both work until it ends.");
        let overlapping = app
            .post(
                &format!("/v1/api-keys/{}/rotate", rotated["id"].as_str().unwrap()),
                ADMIN,
                json!({}),
            )
            .await
            .ok(201);
        app.get("/v1/bills?limit=1", &new_key).await.ok(200);
        app.get("/v1/bills?limit=1", overlapping["secret"].as_str().unwrap())
            .await
            .ok(200);

        step("Revoked, a key is refused at once.");
        let r = app
            .raw(
                Method::DELETE,
                &format!("/v1/api-keys/{}", rotated["id"].as_str().unwrap()),
                Some(ADMIN),
                &[],
                None,
            )
            .await;
        assert_eq!(r.status, 204);
        app.get("/v1/bills?limit=1", &new_key)
            .await
            .problem(401, "invalid_api_key");
        let again = app
            .raw(
                Method::DELETE,
                &format!("/v1/api-keys/{}", rotated["id"].as_str().unwrap()),
                Some(ADMIN),
                &[],
                None,
            )
            .await;
        again.problem(404, "api_key_not_found");

        step("An expired key is refused.");
        let short = app
            .post(
                "/v1/api-keys",
                ADMIN,
                json!({"role": "admin", "label": "short", "expires_in_days": 1}),
            )
            .await
            .ok(201);
        sqlx::query("UPDATE api_keys SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = $1")
            .bind(short["id"].as_str().unwrap())
            .execute(app.store().pool())
            .await
            .unwrap();
        app.get("/v1/bills?limit=1", short["secret"].as_str().unwrap())
            .await
            .problem(401, "invalid_api_key");

        step("An admin cannot lock themself out with the key they are using.");
        let mine = app
            .post("/v1/api-keys", ADMIN, json!({"role": "admin", "label": "mine"}))
            .await
            .ok(201);
        let (mine_id, mine_key) = (mine["id"].as_str().unwrap(), mine["secret"].as_str().unwrap());
        app.raw(
            Method::DELETE,
            &format!("/v1/api-keys/{mine_id}"),
            Some(mine_key),
            &[],
            None,
        )
        .await
        .problem(409, "conflict");
        app.post(
            &format!("/v1/api-keys/{mine_id}/rotate"),
            mine_key,
            json!({"overlap_hours": 0}),
        )
        .await
        .problem(409, "conflict");
        app.get("/v1/api-keys", mine_key).await.ok(200);

        step("Bad requests are named, and only admins manage keys.");
        for (body, what) in [
            (json!({"role": "root", "label": "x"}), "role"),
            (json!({"role": "admin", "label": "x", "scope": "everything"}), "scope"),
            (
                json!({"role": "admin", "label": "x", "expires_in_days": 0}),
                "expires_in_days",
            ),
            (json!({"role": "biller", "label": "x"}), "biller"),
        ] {
            let p = app
                .post("/v1/api-keys", ADMIN, body)
                .await
                .problem(422, "invalid_request");
            assert!(p["detail"].as_str().unwrap().contains(what), "{p}");
        }
        app.get("/v1/api-keys", ANA).await.problem(403, "forbidden");
        app.post("/v1/api-keys", ANA, json!({"role": "admin", "label": "x"}))
            .await
            .problem(403, "forbidden");

        step("Every change to keys is in the audit log.");
        let events = app.get("/v1/audit-events?limit=100", ADMIN).await.ok(200);
        let on_keys = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"].as_str().unwrap().contains("/v1/api-keys"))
            .count();
        assert!(on_keys >= 5, "{events}");
    }
);
