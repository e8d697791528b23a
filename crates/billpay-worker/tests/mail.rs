//! Sign-in codes reach an inbox: a real SMTP server (aiosmtpd) on loopback receives what the
//! worker sends from the outbox, as text and HTML; while the relay is down the e-mail waits and
//! is tried again, and it is sent once the relay is back. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use billpay_core::time::TestClock;
use billpay_store::testing::TestDb;
use billpay_store::{Backend, OutgoingEmail};
use billpay_worker::mail::Mailer;
use billpay_worker::{Settings, Worker};

/// aiosmtpd, storing every message it receives in a maildir.
struct Smtp {
    child: Child,
    port: u16,
}

impl Smtp {
    fn start(maildir: &Path) -> Smtp {
        let python =
            std::env::var("BILLPAY_PYTHON").expect("BILLPAY_PYTHON: a Python with aiosmtpd (./dev test installs it)");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Smtp { child, port };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("aiosmtpd did not listen on {port}");
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn messages(maildir: &Path) -> Vec<String> {
    let new = maildir.join("new");
    let Ok(entries) = std::fs::read_dir(new) else {
        return Vec::new();
    };
    entries
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

fn code_mail(to: &str) -> OutgoingEmail {
    OutgoingEmail {
        to: to.to_owned(),
        subject: "Tu código de BillPay: 042917".into(),
        text: "Usa este código para entrar a BillPay:\n\n    042917\n".into(),
        html: "<p>Usa este código para entrar a BillPay:</p><p><strong>042917</strong></p>".into(),
    }
}

async fn codes_reach_the_inbox(backend: Backend) {
    let db = TestDb::new(backend).await;
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("mail");
    // A free port with nothing on it yet: the relay is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = Mailer::new(
        &format!("smtp://127.0.0.1:{port}"),
        "BillPay <no-reply@billpay.example>",
    )
    .unwrap();
    let clock = Arc::new(TestClock::new());
    let worker = Worker::new(db.store.clone(), clock.clone(), Settings::default()).with_mailer(mailer);
    let window = billpay_core::time::from_now(-time::Duration::minutes(15));
    let expires = billpay_core::time::from_now(time::Duration::minutes(10));
    db.store
        .issue_sign_in_code(
            "ana@example.com",
            "042917",
            &expires,
            &window,
            &code_mail("ana@example.com"),
        )
        .await
        .unwrap();

    // Relay down: the attempt fails, the e-mail waits with the reason, nothing is lost.
    let t = worker.send_emails().await.unwrap();
    assert_eq!((t.emails_sent, t.emails_failed), (0, 1));
    let (_, _, status) = db.store.emails_to("ana@example.com").await.unwrap().remove(0);
    assert_eq!(status, "pending");
    assert!(
        worker.send_emails().await.unwrap().is_idle(),
        "not tried again before its time"
    );

    // Relay up, ten seconds later: it goes out, once.
    let smtp = Smtp::start(&maildir);
    let mailer = Mailer::new(
        &format!("smtp://127.0.0.1:{}", smtp.port),
        "BillPay <no-reply@billpay.example>",
    )
    .unwrap();
    let worker = Worker::new(db.store.clone(), clock.clone(), Settings::default()).with_mailer(mailer);
    clock.advance(time::Duration::seconds(11));
    let t = worker.tick().await.unwrap();
    assert_eq!((t.emails_sent, t.emails_failed), (1, 0));
    assert!(worker.tick().await.unwrap().is_idle());
    let (_, _, status) = db.store.emails_to("ana@example.com").await.unwrap().remove(0);
    assert_eq!(status, "sent");

    let mut got = Vec::new();
    for _ in 0..50 {
        got = messages(&maildir);
        if !got.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(got.len(), 1, "one message in the inbox");
    let m = &got[0];
    assert!(m.contains("To: ana@example.com"), "{m}");
    assert!(m.contains("From: BillPay <no-reply@billpay.example>"), "{m}");
    // "código" travels as an RFC 2047 encoded word.
    assert!(
        m.contains("Subject: Tu =?utf-8?b?Y8OzZGlnbw==?= de BillPay: 042917"),
        "{m}"
    );
    assert!(m.contains("multipart/alternative"), "{m}");
    assert!(m.contains("text/plain") && m.contains("text/html"), "{m}");
    assert!(m.contains("042917"), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_reach_the_inbox_sqlite() {
    codes_reach_the_inbox(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_reach_the_inbox_postgres() {
    codes_reach_the_inbox(Backend::Postgres).await;
}
