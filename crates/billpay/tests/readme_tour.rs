//! The README's tour, run exactly as written (but for the path of the `billpay` binary) against a
//! freshly started `billpay serve --demo`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    let dir = std::env::temp_dir().join(format!("billpay-tour-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let bin = env!("CARGO_BIN_EXE_billpay");
    let mut server = Command::new(bin)
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .env("BILLPAY_DATA_DIR", &dir)
        .env_remove("DATABASE_URL")
        .env("BILLPAY_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start billpay");
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t.elapsed() < Duration::from_secs(30), "billpay did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let script = tour().replace("./target/debug/billpay", bin);
    let out = Command::new("bash")
        .args(["-eo", "pipefail", "-c", &script])
        .current_dir(&dir)
        .env("BP", format!("http://127.0.0.1:{port}"))
        .env("BILLPAY_DATA_DIR", &dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run the tour");
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let _ = std::fs::remove_dir_all(&dir);
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
        "3.1.0",
        "billpay_payments_total{status=\"succeeded\"} 1",
    ] {
        assert!(
            stdout.contains(expected),
            "the tour's output lacks {expected:?}:\n{stdout}"
        );
    }
}
