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
    // A bill look-up asks the biller's own system when BillPay holds nothing for the reference.
    // The fuzzer may register a fetch endpoint on a demo biller at a host that does not exist;
    // from then on that biller's look-ups answer the documented 502/504 `biller_unreachable`,
    // which is the right answer there. Any other 5xx from a look-up still fails the run.
    let config = server.dir.join("schemathesis.toml");
    std::fs::write(
        &config,
        "[[operations]]\n\
         include-path = \"/v1/bills/lookup\"\n\
         checks.not_a_server_error.expected-statuses = [\"2xx\", \"3xx\", \"4xx\", \"502\", \"504\"]\n",
    )
    .unwrap();
    // Run from the server's temporary folder, where schemathesis may keep its caches.
    let out = Command::new(&schemathesis)
        .current_dir(&server.dir)
        .arg("--config-file")
        .arg(&config)
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
