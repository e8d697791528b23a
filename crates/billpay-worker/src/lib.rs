//! BillPay's background worker.
//!
//! - **Scheduled payments.** Each due payment runs in one transaction that holds its row
//!   (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so any number of workers run each exactly once.
//! - **Webhooks.** Deliveries are claimed from the outbox under a lease, signed, posted, and
//!   retried with exponential backoff for up to three days. A worker killed mid-delivery loses
//!   its lease and another delivers again, with the same event id for the receiver to drop.
//!
//! - **E-mail.** Messages queued with what they announce (sign-in codes) are claimed under a
//!   lease and sent over SMTP (`mail`), tried again a few times when the relay fails.
//!
//! The worker reads the time from a [`Clock`], which tests move by hand.

pub mod fetch;
pub mod mail;
pub mod signature;

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use billpay_core::time::{Clock, business_date, format_date, format_timestamp};
use billpay_store::{Attempt, AttemptOutcome, ClaimedDelivery, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// When a failed delivery is tried again, and when BillPay gives up.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// The wait after the first failure; each later failure doubles it.
    pub base: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
    /// How long after the event BillPay stops trying.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    /// 30 s, 1 min, 2 min, … up to 6 h between attempts, for 3 days: about 20 attempts.
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(30),
            max_delay: Duration::from_secs(6 * 3600),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// When to try again after failed attempt number `attempt` (1 for the first), or `None` when
    /// the event is too old to try again. The last attempt is made at the deadline itself.
    pub fn next_attempt(
        &self,
        attempt: i64,
        now: OffsetDateTime,
        event_created: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        let deadline = event_created + self.give_up_after;
        if now >= deadline {
            return None;
        }
        let doublings = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let delay = self.base.saturating_mul(1u32 << doublings.min(20)).min(self.max_delay);
        Some((now + delay).min(deadline))
    }
}

/// What the worker is set to do.
#[derive(Debug, Clone)]
pub struct Settings {
    pub retry: RetryPolicy,
    /// How long a claimed delivery stays with one worker before another may take it.
    pub lease: Duration,
    /// The longest a receiver may take to answer.
    pub timeout: Duration,
    /// How many deliveries one worker sends at once.
    pub batch: i64,
    /// How long to wait when there is nothing to do.
    pub idle_wait: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            retry: RetryPolicy::default(),
            lease: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            batch: 32,
            idle_wait: Duration::from_millis(500),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub payments_succeeded: u64,
    pub payments_failed: u64,
    pub deliveries_ok: u64,
    pub deliveries_failed: u64,
    pub emails_sent: u64,
    pub emails_failed: u64,
    /// Autopay references asked of fetch billers ahead of their bills.
    pub fetches: u64,
    /// Scheduled payments on fetch billers checked with the biller before paying.
    pub confirmations: u64,
    /// Complaints sent to BillPay's admins because their response deadline passed.
    pub complaints_escalated: u64,
    /// Resolved complaints closed a week after their resolution.
    pub complaints_closed: u64,
}

impl Tally {
    pub fn is_idle(&self) -> bool {
        *self == Tally::default()
    }
    pub fn add(&mut self, o: Tally) {
        self.payments_succeeded += o.payments_succeeded;
        self.payments_failed += o.payments_failed;
        self.deliveries_ok += o.deliveries_ok;
        self.deliveries_failed += o.deliveries_failed;
        self.emails_sent += o.emails_sent;
        self.emails_failed += o.emails_failed;
        self.fetches += o.fetches;
        self.confirmations += o.confirmations;
        self.complaints_escalated += o.complaints_escalated;
        self.complaints_closed += o.complaints_closed;
    }
}

/// The HTTP(S) client BillPay calls out with: webhook receivers here, and the staff's identity
/// provider in the API.
pub type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<bytes::Bytes>,
>;

/// The HTTPS client deliveries go out on: rustls with the ring provider and the system's roots
/// (plain HTTP too: each caller decides where plain HTTP may go).
pub fn http_client() -> HttpClient {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match builder.with_provider_and_native_roots(provider.clone()) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "no system CA certificates: https webhook endpoints will fail until they are installed");
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|c| {
                    c.with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                })
                .unwrap_or_else(|_| unreachable!("ring supports the default protocol versions"));
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    let connector = builder.https_or_http().enable_http1().build();
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector)
}

#[derive(Clone)]
pub struct Worker {
    store: Store,
    clock: Arc<dyn Clock>,
    client: HttpClient,
    settings: Settings,
    mailer: Option<mail::Mailer>,
}

impl Worker {
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: Settings) -> Self {
        Worker {
            store,
            clock,
            client: http_client(),
            settings,
            mailer: None,
        }
    }

    /// Sends queued e-mail through `mailer`. Without one, e-mail waits in the outbox.
    pub fn with_mailer(mut self, mailer: mail::Mailer) -> Self {
        self.mailer = Some(mailer);
        self
    }

    /// Claims one batch of due e-mails and sends them; `Tally::default()` without a mailer.
    pub async fn send_emails(&self) -> Result<Tally, WorkerError> {
        let Some(mailer) = &self.mailer else {
            return Ok(Tally::default());
        };
        let now = self.clock.now();
        let claimed = self
            .store
            .claim_emails(
                &format_timestamp(now),
                &format_timestamp(now + self.settings.lease),
                self.settings.batch,
            )
            .await?;
        let mut t = Tally::default();
        for m in claimed {
            match mailer.send(&m).await {
                Ok(()) => {
                    self.store.email_sent(&m.id).await?;
                    t.emails_sent += 1;
                }
                Err(why) => {
                    let retry = mail::retry_delay(m.attempts).map(|d| format_timestamp(self.clock.now() + d));
                    tracing::warn!(email = %m.id, attempt = m.attempts, error = %why, gave_up = retry.is_none(), "e-mail not sent");
                    self.store.email_failed(&m.id, &why, retry.as_deref()).await?;
                    t.emails_failed += 1;
                }
            }
        }
        metrics::counter!("billpay_emails_total", "outcome" => "sent").increment(t.emails_sent);
        metrics::counter!("billpay_emails_total", "outcome" => "failed").increment(t.emails_failed);
        Ok(t)
    }

    /// Posts a body; `Ok(status)` when the receiver answered, `Err(why)` when it did not.
    async fn post(&self, d: &ClaimedDelivery, signature: &str) -> Result<u16, String> {
        let req = http::Request::post(&d.url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("BillPay-Webhooks/", env!("CARGO_PKG_VERSION")))
            .header(signature::EVENT_ID_HEADER, &d.event_id)
            .header(signature::EVENT_TYPE_HEADER, &d.event_type)
            .header(signature::SIGNATURE_HEADER, signature)
            .body(http_body_util::Full::new(bytes::Bytes::from(d.payload.clone())))
            .map_err(|e| format!("the endpoint URL cannot be used: {e}"))?;
        let sent = tokio::time::timeout(self.settings.timeout, async {
            let resp = self.client.request(req).await?;
            let status = resp.status().as_u16();
            // Read (and drop) the answer so the connection can be reused.
            let _ = http_body_util::BodyExt::collect(resp.into_body()).await;
            Ok::<u16, hyper_util::client::legacy::Error>(status)
        })
        .await;
        match sent {
            Err(_) => Err(format!(
                "the receiver did not answer within {:?}",
                self.settings.timeout
            )),
            Ok(Err(e)) => Err(describe(&e)),
            Ok(Ok(status)) => Ok(status),
        }
    }

    /// Asks fetch billers for the bills of autopay references whose predicted billing date is
    /// near (one batch). A bill that comes back is stored and autopay schedules it.
    pub async fn fetch_ahead(&self) -> Result<Tally, WorkerError> {
        let today = format_date(business_date(self.clock.now()));
        let due = self.store.fetches_due(&today, self.settings.batch).await?;
        let mut t = Tally::default();
        for f in due {
            t.fetches += 1;
            let Some(config) = self.store.fetch_config(&f.biller_id).await? else {
                continue;
            };
            let latest = match fetch::fetch_and_store(
                &self.client,
                &self.store,
                &config,
                &f.reference,
                fetch::Purpose::Autopay,
            )
            .await
            {
                Ok(bills) => bills
                    .iter()
                    .filter(|b| b.amount_outstanding > 0)
                    .map(|b| b.due_date.clone())
                    .max(),
                Err(fetch::FetchFailed::Store(e)) => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(autopay = %f.autopay_id, biller = %f.biller_id, error = %e, "fetch ahead failed; trying again tomorrow");
                    None
                }
            };
            let next = self
                .store
                .fetched_ahead(&f.autopay_id, latest.as_deref(), &today)
                .await?;
            tracing::info!(autopay = %f.autopay_id, latest_due = ?latest, next_fetch_on = %next, "fetched ahead for autopay");
        }
        metrics::counter!("billpay_bill_fetches_total", "purpose" => "autopay").increment(t.fetches);
        Ok(t)
    }

    /// Checks with fetch billers that the bills of today's scheduled payments are still owed,
    /// before `run_scheduled` pays them: a bill paid at another channel is not paid again.
    pub async fn confirm_scheduled(&self) -> Result<Tally, WorkerError> {
        let today = format_date(business_date(self.clock.now()));
        let due = self.store.confirmations_due(&today, self.settings.batch).await?;
        let mut t = Tally::default();
        for c in due {
            t.confirmations += 1;
            let s = &c.scheduled;
            let Some(config) = self.store.fetch_config(&s.biller_id).await? else {
                continue;
            };
            match fetch::fetch_bills(&self.client, &(&config).into(), &c.reference, fetch::Purpose::Confirm).await {
                Ok(owed) if owed.iter().any(|b| b.due_date == c.due_date) => {
                    self.store.confirm_scheduled(&s.id, &today).await?;
                }
                Ok(_) => {
                    self.store.withdraw_scheduled(&s.id).await?;
                    tracing::info!(scheduled_payment = %s.id, bill = %s.bill_id, "the biller reports the bill paid; not paying it");
                }
                Err(e) => {
                    let after = self.store.unconfirmed_scheduled(&s.id, &today, &e.to_string()).await?;
                    tracing::warn!(scheduled_payment = %s.id, status = %after.status, error = %e, "the biller could not confirm a scheduled payment's bill");
                }
            }
        }
        metrics::counter!("billpay_bill_fetches_total", "purpose" => "confirm").increment(t.confirmations);
        Ok(t)
    }

    /// Escalates complaints whose response deadline passed, and closes those resolved a week ago.
    pub async fn complaint_deadlines(&self) -> Result<Tally, WorkerError> {
        let (escalated, closed) = self.store.complaint_deadlines(self.clock.now()).await?;
        if escalated > 0 {
            tracing::warn!(escalated, "complaints past their response deadline went to the admins");
        }
        metrics::counter!("billpay_complaints_escalated_total").increment(escalated);
        Ok(Tally {
            complaints_escalated: escalated,
            complaints_closed: closed,
            ..Tally::default()
        })
    }

    /// Runs every scheduled payment due today (business date) or earlier.
    pub async fn run_scheduled(&self) -> Result<Tally, WorkerError> {
        let today = format_date(business_date(self.clock.now()));
        let mut t = Tally::default();
        while let Some(s) = self.store.execute_next_scheduled(&today).await? {
            metrics::counter!("billpay_scheduled_payments_total", "outcome" => s.status.clone()).increment(1);
            if s.status == "succeeded" {
                t.payments_succeeded += 1;
            } else {
                t.payments_failed += 1;
                tracing::info!(scheduled_payment = %s.id, reason = ?s.failure_code, "scheduled payment failed");
            }
        }
        Ok(t)
    }

    /// Claims one batch of due deliveries and sends them all at once.
    pub async fn deliver_batch(&self) -> Result<Tally, WorkerError> {
        let now = self.clock.now();
        let lease_until = now + self.settings.lease;
        let claimed = self
            .store
            .claim_deliveries(
                &format_timestamp(now),
                &format_timestamp(lease_until),
                self.settings.batch,
            )
            .await?;
        let mut tasks = tokio::task::JoinSet::new();
        for d in claimed {
            let w = self.clone();
            tasks.spawn(async move { w.attempt(d).await });
        }
        let mut done = Vec::with_capacity(tasks.len());
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(a) => done.push(a),
                Err(e) => tracing::error!(error = %e, "a delivery task panicked"),
            }
        }
        // One commit for the batch. A worker that dies before it loses its lease on the whole
        // batch, which is delivered again with the same event ids.
        self.store
            .record_attempts(&done, &format_timestamp(self.clock.now()))
            .await?;
        let ok = done
            .iter()
            .filter(|a| matches!(a.outcome, AttemptOutcome::Delivered { .. }))
            .count() as u64;
        let gave_up = done
            .iter()
            .filter(|a| matches!(a.outcome, AttemptOutcome::Failed { .. }) && a.retry_at.is_none())
            .count() as u64;
        metrics::counter!("billpay_webhook_attempts_total", "outcome" => "delivered").increment(ok);
        metrics::counter!("billpay_webhook_attempts_total", "outcome" => "failed")
            .increment(done.len() as u64 - ok - gave_up);
        metrics::counter!("billpay_webhook_attempts_total", "outcome" => "gave_up").increment(gave_up);
        Ok(Tally {
            deliveries_ok: ok,
            deliveries_failed: done.len() as u64 - ok,
            ..Tally::default()
        })
    }

    /// Posts one delivery; what came of it, and when to try again if it failed.
    async fn attempt(&self, d: ClaimedDelivery) -> Attempt {
        let sent_at = self.clock.now();
        let header = signature::header(&d.secrets, sent_at.unix_timestamp(), d.payload.as_bytes());
        let started = Instant::now();
        let sent = self.post(&d, &header).await;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let outcome = match sent {
            Ok(status) if (200..300).contains(&status) => AttemptOutcome::Delivered { status },
            Ok(status) => AttemptOutcome::Failed {
                status: Some(status),
                error: format!("the receiver answered {status}"),
            },
            Err(error) => AttemptOutcome::Failed { status: None, error },
        };
        let retry_at = match &outcome {
            AttemptOutcome::Delivered { .. } => None,
            AttemptOutcome::Failed { .. } => {
                let now = self.clock.now();
                let created =
                    OffsetDateTime::parse(&d.event_created_at, &time::format_description::well_known::Rfc3339)
                        .unwrap_or(now);
                let at = self.settings.retry.next_attempt(d.attempt, now, created);
                tracing::info!(endpoint = %d.endpoint_id, event = %d.event_id, attempt = d.attempt,
                    retry_at = ?at.map(format_timestamp), outcome = ?outcome, "webhook delivery failed");
                at
            }
        };
        Attempt {
            delivery: d,
            outcome,
            duration_ms,
            retry_at: retry_at.map(format_timestamp),
        }
    }

    /// One pass: fetches ahead for autopay, confirmations with fetch billers, scheduled payments,
    /// complaint deadlines, e-mail, then deliveries until none is due.
    pub async fn tick(&self) -> Result<Tally, WorkerError> {
        let mut t = self.fetch_ahead().await?;
        t.add(self.confirm_scheduled().await?);
        t.add(self.run_scheduled().await?);
        t.add(self.complaint_deadlines().await?);
        t.add(self.send_emails().await?);
        loop {
            let d = self.deliver_batch().await?;
            let idle = d.is_idle();
            t.add(d);
            if idle {
                break;
            }
        }
        Ok(t)
    }

    /// Works until `shutdown` resolves, waiting `idle_wait` whenever there is nothing to do. A
    /// database outage is logged and retried rather than ending the worker.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> Tally {
        tokio::pin!(shutdown);
        let mut total = Tally::default();
        // After a failed pass (the database is away, say), wait 1 s, then twice as long each
        // time up to 30 s; the first pass that works resets it.
        let mut failures: u32 = 0;
        loop {
            let wait = match self.tick().await {
                Ok(t) => {
                    if failures > 0 {
                        tracing::info!(failed_passes = failures, "worker passes work again");
                    }
                    failures = 0;
                    total.add(t);
                    if t.is_idle() {
                        self.settings.idle_wait
                    } else {
                        Duration::ZERO
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let wait = failure_backoff(failures).max(self.settings.idle_wait);
                    tracing::warn!(error = %e, retry_in = ?wait, "worker pass failed; backing off");
                    wait
                }
            };
            tokio::select! {
                () = &mut shutdown => return total,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// How long the worker waits after its `failures`-th failed pass in a row: 1 s, doubling, at
/// most 30 s.
fn failure_backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(5)).min(Duration::from_secs(30))
}

/// A transport error, with its causes, in words a receiver's operator can act on.
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut msg = if e.is_connect() {
        "could not connect to the receiver".to_owned()
    } else {
        e.to_string()
    };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_pass_backs_off_doubling_to_thirty_seconds() {
        let waits: Vec<u64> = (1..=8).map(|n| super::failure_backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn backoff_doubles_caps_and_stops_after_three_days() {
        let p = RetryPolicy::default();
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(p.next_attempt(1, t0, t0), Some(t0 + Duration::from_secs(30)));
        assert_eq!(p.next_attempt(2, t0, t0), Some(t0 + Duration::from_secs(60)));
        assert_eq!(p.next_attempt(5, t0, t0), Some(t0 + Duration::from_secs(480)));
        assert_eq!(p.next_attempt(40, t0, t0), Some(t0 + Duration::from_secs(6 * 3600)));
        // Near the deadline the last attempt lands on it, then BillPay gives up.
        let late = t0 + Duration::from_secs(3 * 24 * 3600 - 10);
        assert_eq!(
            p.next_attempt(19, late, t0),
            Some(t0 + Duration::from_secs(3 * 24 * 3600))
        );
        assert_eq!(p.next_attempt(20, t0 + Duration::from_secs(3 * 24 * 3600), t0), None);
        // Walking the whole schedule: every attempt is inside the three days, and it ends.
        let (mut now, mut n) = (t0, 1);
        while let Some(next) = p.next_attempt(n, now, t0) {
            assert!(next > now && next <= t0 + p.give_up_after);
            now = next;
            n += 1;
        }
        assert!((15..=25).contains(&n), "{n} attempts");
    }
}
