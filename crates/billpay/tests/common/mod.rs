//! A `billpay serve --demo` on the embedded database, for tests that drive the real binary, and
//! the programs the docs print, for tests that run them as printed.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct DemoServer {
    pub child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl DemoServer {
    /// Starts the server, with `args` added to `billpay serve`, on a free loopback port with its
    /// data in a new temporary folder, and waits until it accepts connections.
    pub fn start(name: &str, args: &[&str]) -> DemoServer {
        let dir = std::env::temp_dir().join(format!("billpay-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_billpay"))
            .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("BILLPAY_DATA_DIR", &dir)
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
        DemoServer { child, port, dir }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The first fenced code block after `<!-- marker -->` in `docs/<doc>`, exactly as printed.
pub fn documented_code(doc: &str, marker: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(doc);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let after = text
        .split(&format!("<!-- {marker} -->"))
        .nth(1)
        .unwrap_or_else(|| panic!("docs/{doc} marks no {marker}"));
    let code = after
        .split_once("```")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .map(|(_, body)| body);
    let code = code.unwrap_or_else(|| panic!("docs/{doc}: no code block after {marker}"));
    code.split("\n```").next().unwrap_or_default().to_owned()
}
