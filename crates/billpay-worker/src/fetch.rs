//! Bill fetch: asking a biller's own system for the bills of a reference (docs/bill-fetch.md).
//!
//! BillPay posts `{"request_id", "biller_id", "reference", "purpose"}` signed with the biller's
//! fetch secret exactly as webhooks are signed (`BillPay-Signature`). The biller answers 200 with
//! `{"request_id", "bills": [...]}`, the bills still owed for that reference, signed the same way
//! over the answer's body; or 404 when it knows no such reference. An answer that is not signed
//! with the secret, does not echo the request id, or is not well formed is refused: BillPay stores
//! nothing from it. Connection failures, time-outs, 5xx and 429 are tried again, up to the
//! biller's attempts, each within the biller's timeout.

use std::time::Duration;

use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};

use crate::{HttpClient, signature};

/// The most an answer may hold. Anything longer is refused, unread.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// The most bills one answer may list.
pub const MAX_BILLS: usize = 100;
/// How far the answer's signature time may be from BillPay's clock.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// Where and how to ask one biller.
#[derive(Debug, Clone)]
pub struct FetchEndpoint {
    pub biller_id: String,
    pub url: String,
    pub secret: String,
    /// Per attempt.
    pub timeout: Duration,
    pub attempts: u32,
}

/// Why BillPay is asking: a customer's look-up, the worker fetching ahead for autopay, or the
/// worker confirming a bill is still owed before autopay pays it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Lookup,
    Autopay,
    Confirm,
}

#[derive(Serialize)]
struct FetchRequest<'a> {
    request_id: &'a str,
    biller_id: &'a str,
    reference: &'a str,
    purpose: Purpose,
}

/// One bill as the biller reports it, still owed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchedBill {
    pub reference: String,
    pub customer_name: String,
    /// Minor units of `currency`.
    pub amount_due: i64,
    pub currency: String,
    /// `YYYY-MM-DD`.
    pub due_date: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    request_id: String,
    bills: Vec<FetchedBill>,
}

/// Why a fetch gave no answer BillPay can use. Nothing is stored from any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the biller's system did not answer within {timeout_ms} ms ({attempts} attempt(s))")]
    Timeout { timeout_ms: u128, attempts: u32 },
    #[error("the biller's system cannot be reached ({attempts} attempt(s)): {why}")]
    Unreachable { attempts: u32, why: String },
    #[error("the biller's system answered {status}")]
    Status { status: u16 },
    #[error("the biller's answer is not signed with its fetch secret: {0}")]
    BadSignature(String),
    #[error("the biller's answer is malformed: {0}")]
    Malformed(String),
}

impl FetchError {
    /// Whether another attempt might get a different answer.
    fn transient(&self) -> bool {
        match self {
            FetchError::Timeout { .. } | FetchError::Unreachable { .. } => true,
            FetchError::Status { status } => *status >= 500 || *status == 429,
            FetchError::BadSignature(_) | FetchError::Malformed(_) => false,
        }
    }
}

/// Checks a fetch endpoint's URL: HTTPS anywhere, plain HTTP only on this machine (a biller's
/// adapter beside BillPay, or a test).
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("fetch_url {url:?} is not a URL: {e}"))?;
    let host = uri.host().ok_or_else(|| format!("fetch_url {url:?} has no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1") => Ok(()),
        Some("http") => Err(format!(
            "fetch_url {url:?} must use https; plain http is only allowed on localhost"
        )),
        _ => Err(format!("fetch_url {url:?} must be an https URL")),
    }
}

impl From<&billpay_store::fetch::FetchConfig> for FetchEndpoint {
    fn from(c: &billpay_store::fetch::FetchConfig) -> Self {
        FetchEndpoint {
            biller_id: c.biller_id.clone(),
            url: c.url.clone(),
            secret: c.secret.clone(),
            timeout: Duration::from_millis(u64::try_from(c.timeout_ms).unwrap_or(2000)),
            attempts: u32::try_from(c.attempts).unwrap_or(1),
        }
    }
}

/// Why a fetch stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum FetchFailed {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The answer was well formed and signed, but breaks the biller's own rules.
    #[error("the biller's answer is not a bill BillPay can present: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] billpay_store::StoreError),
}

/// Asks the biller for the bills of `reference` and stores them (nothing, if anything in the
/// answer is wrong). Returns every bill of the answer as BillPay now holds it.
pub async fn fetch_and_store(
    client: &HttpClient,
    store: &billpay_store::Store,
    config: &billpay_store::fetch::FetchConfig,
    reference: &str,
    purpose: Purpose,
) -> Result<Vec<billpay_store::Bill>, FetchFailed> {
    let fetched = fetch_bills(client, &config.into(), reference, purpose).await?;
    let biller = store.get_biller(&config.biller_id).await?;
    let reported: Vec<billpay_store::fetch::ReportedBill> = fetched
        .into_iter()
        .map(|b| billpay_store::fetch::ReportedBill {
            reference: b.reference,
            customer_name: b.customer_name,
            amount_due: b.amount_due,
            currency: b.currency,
            due_date: b.due_date,
        })
        .collect();
    let bills = billpay_store::fetch::check_reported(&biller, &reported).map_err(FetchFailed::Invalid)?;
    Ok(store.store_fetched_bills(&config.biller_id, &bills).await?)
}

/// Asks the biller for the bills still owed for `reference`. `Ok(vec![])` when it has none.
/// Every bill in the answer is for `reference`; the caller checks them against the biller's
/// rules before storing anything.
pub async fn fetch_bills(
    client: &HttpClient,
    ep: &FetchEndpoint,
    reference: &str,
    purpose: Purpose,
) -> Result<Vec<FetchedBill>, FetchError> {
    let request_id = billpay_core::id::new(billpay_core::id::Kind::FetchRequest);
    let body = serde_json::to_vec(&FetchRequest {
        request_id: &request_id,
        biller_id: &ep.biller_id,
        reference,
        purpose,
    })
    .map_err(|e| FetchError::Malformed(e.to_string()))?;
    let attempts = ep.attempts.max(1);
    let mut last = None;
    for attempt in 1..=attempts {
        if attempt > 1 {
            // 50 ms, 100 ms, 200 ms…: a customer is waiting.
            tokio::time::sleep(Duration::from_millis(50u64 << (attempt - 2).min(4))).await;
        }
        let outcome = match tokio::time::timeout(ep.timeout, once(client, ep, &body, &request_id)).await {
            Err(_) => Err(FetchError::Timeout {
                timeout_ms: ep.timeout.as_millis(),
                attempts: attempt,
            }),
            Ok(r) => r.map_err(|e| match e {
                FetchError::Unreachable { why, .. } => FetchError::Unreachable { attempts: attempt, why },
                other => other,
            }),
        };
        match outcome {
            Ok(bills) => {
                check_bills(&bills, reference)?;
                return Ok(bills);
            }
            Err(e) if e.transient() => {
                tracing::info!(biller = %ep.biller_id, attempt, error = %e, "bill fetch attempt failed");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(FetchError::Unreachable {
        attempts,
        why: "no attempt was made".into(),
    }))
}

fn check_bills(bills: &[FetchedBill], reference: &str) -> Result<(), FetchError> {
    if bills.len() > MAX_BILLS {
        return Err(FetchError::Malformed(format!(
            "{} bills; an answer lists at most {MAX_BILLS}",
            bills.len()
        )));
    }
    for (i, b) in bills.iter().enumerate() {
        if b.reference != reference {
            return Err(FetchError::Malformed(format!(
                "bills[{i}] is for reference {:?}, not the {reference:?} asked for",
                b.reference
            )));
        }
    }
    Ok(())
}

async fn once(
    client: &HttpClient,
    ep: &FetchEndpoint,
    body: &[u8],
    request_id: &str,
) -> Result<Vec<FetchedBill>, FetchError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let header = signature::header(std::slice::from_ref(&ep.secret), now, body);
    let req = http::Request::post(&ep.url)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("user-agent", concat!("BillPay-Fetch/", env!("CARGO_PKG_VERSION")))
        .header(signature::SIGNATURE_HEADER, header)
        .body(http_body_util::Full::new(bytes::Bytes::copy_from_slice(body)))
        .map_err(|e| FetchError::Unreachable {
            attempts: 1,
            why: format!("the fetch URL cannot be used: {e}"),
        })?;
    let resp = client.request(req).await.map_err(|e| FetchError::Unreachable {
        attempts: 1,
        why: crate::describe(&e),
    })?;
    let status = resp.status().as_u16();
    let signed = resp
        .headers()
        .get(signature::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let limited = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER_BYTES);
    let answer = limited
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                FetchError::Malformed(format!("the answer is longer than {MAX_ANSWER_BYTES} bytes"))
            } else {
                FetchError::Unreachable {
                    attempts: 1,
                    why: format!("the answer broke off: {e}"),
                }
            }
        })?
        .to_bytes();
    match status {
        200 => {}
        404 => return Ok(Vec::new()),
        s => return Err(FetchError::Status { status: s }),
    }
    let signed =
        signed.ok_or_else(|| FetchError::BadSignature(format!("no {} header", signature::SIGNATURE_HEADER)))?;
    signature::verify(&signed, &answer, &ep.secret, now, SIGNATURE_TOLERANCE_SECS)
        .map_err(|e| FetchError::BadSignature(e.to_string()))?;
    let parsed: Answer = serde_json::from_slice(&answer).map_err(|e| FetchError::Malformed(e.to_string()))?;
    if parsed.request_id != request_id {
        return Err(FetchError::Malformed(format!(
            "request_id {:?} is not the {request_id:?} asked with",
            parsed.request_id
        )));
    }
    Ok(parsed.bills)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_urls_are_https_or_loopback_http() {
        assert!(check_url("https://bills.energia.example/fetch").is_ok());
        assert!(check_url("http://127.0.0.1:9000/fetch").is_ok());
        assert!(check_url("http://localhost:9000/fetch").is_ok());
        assert!(check_url("http://[::1]:9000/fetch").is_ok());
        let e = check_url("http://bills.energia.example/fetch").unwrap_err();
        assert!(e.contains("must use https"), "{e}");
        assert!(check_url("ftp://bills.energia.example/").is_err());
        assert!(check_url("not a url").is_err());
        assert!(check_url("/relative").unwrap_err().contains("no host"));
    }

    #[test]
    fn an_answer_for_another_reference_is_malformed() {
        let b = FetchedBill {
            reference: "999".into(),
            customer_name: "Ana".into(),
            amount_due: 100,
            currency: "COP".into(),
            due_date: "2026-12-15".into(),
        };
        assert!(matches!(check_bills(&[b], "111"), Err(FetchError::Malformed(_))));
    }
}
