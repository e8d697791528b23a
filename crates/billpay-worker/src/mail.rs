//! E-mail out of the outbox, over SMTP. A message was queued in the transaction of what it
//! announces (a sign-in code); the worker claims it under a lease, sends it as text and HTML,
//! and records the outcome. A failed send is tried again a few times, soon: what BillPay e-mails
//! is short-lived.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use billpay_store::QueuedEmail;

/// How many times an e-mail is tried before BillPay gives up on it.
pub const MAX_ATTEMPTS: i64 = 5;

/// An SMTP relay and the address BillPay writes from.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// `url`: `smtps://user:password@host:465` (TLS from the start),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS, required), or `smtp://host:port`
    /// without TLS, which is accepted only for a relay on this machine's loopback.
    /// `from`: `BillPay <no-reply@example.com>`.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        if let Some(rest) = url.strip_prefix("smtp://")
            && !rest.contains("tls=required")
        {
            let authority = rest.split(['/', '?']).next().unwrap_or_default();
            let host_port = authority.rsplit('@').next().unwrap_or_default();
            let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h);
            if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
                return Err(format!(
                    "plain SMTP to {host:?} would send codes in the clear: use smtps://, or smtp://…?tls=required"
                ));
            }
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("the SMTP URL cannot be used: {e}"))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("the sender {from:?} is not an e-mail address: {e}"))?;
        Ok(Mailer { transport, from })
    }

    /// Sends one message; `Err` says why it did not go.
    pub async fn send(&self, mail: &QueuedEmail) -> Result<(), String> {
        let to = mail
            .to
            .parse::<Mailbox>()
            .map_err(|e| format!("the address {:?} cannot be written to: {e}", mail.to))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .map_err(|e| format!("the message cannot be built: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("the SMTP relay refused or did not answer: {e}"))
    }
}

/// When to try a failed e-mail again after attempt `attempt` (1 for the first): 10 s, 20 s,
/// 40 s, 80 s; `None` after [`MAX_ATTEMPTS`].
pub fn retry_delay(attempt: i64) -> Option<Duration> {
    (attempt < MAX_ATTEMPTS).then(|| Duration::from_secs(10 << attempt.clamp(1, 10).saturating_sub(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_few_and_soon() {
        assert_eq!(retry_delay(1), Some(Duration::from_secs(10)));
        assert_eq!(retry_delay(4), Some(Duration::from_secs(80)));
        assert_eq!(retry_delay(5), None);
    }

    #[test]
    fn bad_configuration_is_named() {
        assert!(Mailer::new("http://x", "a@b.co").unwrap_err().contains("SMTP URL"));
        assert!(
            Mailer::new("smtp://127.0.0.1:25", "not an address")
                .unwrap_err()
                .contains("sender")
        );
        assert!(Mailer::new("smtp://127.0.0.1:25", "BillPay <no-reply@example.com>").is_ok());
        assert!(
            Mailer::new("smtp://u:p@mail.example.com:587", "a@b.co")
                .unwrap_err()
                .contains("in the clear")
        );
        assert!(Mailer::new("smtp://u:p@mail.example.com:587?tls=required", "a@b.co").is_ok());
        assert!(Mailer::new("smtps://u:p@mail.example.com", "a@b.co").is_ok());
    }
}
