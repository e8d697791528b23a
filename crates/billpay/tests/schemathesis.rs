//! Schema-driven fuzzing: schemathesis generates valid and invalid requests for every operation in
//! BillPay's own OpenAPI document and checks that none gets a 5xx, that every status and content
//! type is the documented one, that bodies match their schemas, that invalid data is refused,
//! and that undeclared methods (TRACE included) get 405.
//!
//! The schemathesis binary comes from `$BILLPAY_SCHEMATHESIS`, which `./dev test` sets after
//! installing it into a virtualenv.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "bpk_demo_admin_do_not_use_in_production";

#[test]
fn openapi_document_survives_schemathesis() {
    let schemathesis = std::env::var("BILLPAY_SCHEMATHESIS")
        .expect("BILLPAY_SCHEMATHESIS is not set: run the suite with ./dev test, which installs schemathesis");
    let dir = std::env::temp_dir().join(format!("billpay-schemathesis-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_billpay"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&dir)
        .env_remove("DATABASE_URL")
        .env("BILLPAY_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .expect("start billpay");
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(30), "billpay did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(&schemathesis)
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
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("passed"), "{report}");
}
