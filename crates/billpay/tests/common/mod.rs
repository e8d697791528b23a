//! A `billpay serve --demo` on the embedded database, for tests that drive the real binary.

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
