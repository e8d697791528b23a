//! Schema-driven fuzzing: schemathesis generates valid and invalid requests for every operation in
//! BillPay's own OpenAPI document and checks that none gets a 5xx, that every status and content
//! type is the documented one, that bodies match their schemas, that invalid data is refused,
//! and that undeclared methods (TRACE included) get 405.
//!
//! The schemathesis binary comes from `$BILLPAY_SCHEMATHESIS`, which `./dev test` sets after
//! installing it into a virtualenv.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

const ADMIN: &str = "bpk_demo_admin_do_not_use_in_production";

#[test]
fn openapi_document_survives_schemathesis() {
    let schemathesis = std::env::var("BILLPAY_SCHEMATHESIS")
        .expect("BILLPAY_SCHEMATHESIS is not set: run the suite with ./dev test, which installs schemathesis");
    // schemathesis sends hundreds of requests a second; the limits have their own tests.
    let server = common::DemoServer::start("schemathesis", &["--no-rate-limits"]);
    let base = server.base();
    // Run from the server's temporary folder, where schemathesis may keep its caches.
    let out = Command::new(&schemathesis)
        .current_dir(&server.dir)
        .args([
            "run",
            &format!("{base}/openapi.json"),
            "-H",
            &format!("Authorization: Bearer {ADMIN}"),
        ])
        .args([
            "--max-examples",
            "25",
            "--generation-database",
            "none",
            "--max-failures",
            "20",
            "--no-color",
        ])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,\
             negative_data_rejection,unsupported_method",
        ])
        .output()
        .expect("run schemathesis");
    drop(server);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("passed"), "{report}");
}
