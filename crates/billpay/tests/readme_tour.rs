//! The README's tour, run exactly as written (but for the path of the `billpay` binary) against a
//! freshly started `billpay serve --demo`.

mod common;

use std::process::Command;

fn tour() -> String {
    let readme = include_str!("../../../README.md");
    let start = readme.find("<!-- tour:start -->").expect("tour start marker");
    let end = readme.find("<!-- tour:end -->").expect("tour end marker");
    let block = &readme[start..end];
    let body = block.split_once("```sh\n").expect("sh fence").1;
    body.rsplit_once("```").expect("closing fence").0.to_owned()
}

#[test]
fn readme_tour_works_as_written() {
    // The tour is not about the limits, which have their own tests.
    let server = common::DemoServer::start("tour", &["--no-rate-limits"]);
    let bin = env!("CARGO_BIN_EXE_billpay");
    let script = tour().replace("./target/debug/billpay", bin);
    let out = Command::new("bash")
        .args(["-eo", "pipefail", "-c", &script])
        .current_dir(&server.dir)
        .env("BP", server.base())
        .env("BILLPAY_DATA_DIR", &server.dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run the tour");
    let stdout = String::from_utf8_lossy(&out.stdout);
    drop(server);
    assert!(
        out.status.success(),
        "the tour failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "ok\nready",
        "\"reference\":\"1002003001\"",
        "\"confirmation_number\":\"BP-",
        "idempotent-replayed: true",
        "idempotency_key_reused",
        "reference_invalid",
        "\"biller_name\":\"Energía del Valle\"",
        "receipt.html written",
        "\"reason\":\"meter misread\"",
        "acct_funding_cop",
        "ledger ok",
        "\"key\":\"frontend-variant\",\"reason\":\"SPLIT\"",
        "\"summary\":\"disabled flag wallet-topups\"",
        "\"location\":\"/flags/wallet-topups/defaultVariant\"",
        "3.1.0",
        "billpay_payments_total{status=\"succeeded\"} 1",
    ] {
        assert!(
            stdout.contains(expected),
            "the tour's output lacks {expected:?}:\n{stdout}"
        );
    }
}
