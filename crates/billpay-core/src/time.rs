//! Timestamps are stored and served as fixed-width RFC 3339 UTC text with microseconds, so they
//! sort the same as text and as time on both databases. Dates are `YYYY-MM-DD`.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

const TIMESTAMP: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

pub fn format_timestamp(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC).format(TIMESTAMP).unwrap_or_default()
}

pub fn now() -> String {
    format_timestamp(OffsetDateTime::now_utc())
}

/// The stored form of the time `offset` from now (negative: in the past).
pub fn from_now(offset: time::Duration) -> String {
    format_timestamp(OffsetDateTime::now_utc() + offset)
}

/// Whole seconds from one stored timestamp to another; `None` when either does not parse.
pub fn seconds_between(from: &str, to: &str) -> Option<i64> {
    let rfc = &time::format_description::well_known::Rfc3339;
    let (a, b) = (
        OffsetDateTime::parse(from, rfc).ok()?,
        OffsetDateTime::parse(to, rfc).ok()?,
    );
    Some((b - a).whole_seconds())
}

pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Parses any RFC 3339 timestamp a client sends and normalises it to BillPay's stored form.
pub fn parse_timestamp(s: &str) -> Result<String, String> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(format_timestamp)
        .map_err(|_| format!("{s:?} is not an RFC 3339 timestamp such as 2026-11-28T00:00:00Z"))
}

pub fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse(s, DATE).map_err(|_| format!("{s:?} is not a date of the form YYYY-MM-DD"))
}

pub fn format_date(d: Date) -> String {
    d.format(DATE).unwrap_or_default()
}

/// Where the worker reads the time: the system clock in production, a clock the tests move.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that runs with the system clock, plus however far a test has moved it forward: what
/// the system writes "now" stays in step with it, and a test can still jump days ahead.
#[derive(Debug, Default)]
pub struct TestClock(std::sync::Mutex<time::Duration>);

impl TestClock {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn advance(&self, by: time::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        let shift = self.0.lock().map(|t| *t).unwrap_or_else(|e| *e.into_inner());
        OffsetDateTime::now_utc() + shift
    }
}

/// BillPay's business day is Colombia's (UTC-5, no daylight saving): a payment scheduled for a
/// date runs on that date in Bogotá, and a settlement day starts at 05:00 UTC.
pub const BUSINESS_OFFSET: UtcOffset = match UtcOffset::from_hms(-5, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The business date at an instant.
pub fn business_date(t: OffsetDateTime) -> Date {
    t.to_offset(BUSINESS_OFFSET).date()
}

/// Today's business date, `YYYY-MM-DD`.
pub fn business_today() -> String {
    format_date(business_date(OffsetDateTime::now_utc()))
}

/// The stored-form timestamps at which a business date starts and the next one starts.
pub fn business_day_bounds(d: Date) -> (String, String) {
    let start = d.midnight().assume_offset(BUSINESS_OFFSET);
    (
        format_timestamp(start),
        format_timestamp(start + time::Duration::days(1)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_offsets() {
        assert_eq!(
            parse_timestamp("2026-11-28T05:00:00-05:00").unwrap(),
            "2026-11-28T10:00:00.000000Z"
        );
        assert!(parse_timestamp("yesterday").is_err());
        assert_eq!(format_date(parse_date("2026-02-28").unwrap()), "2026-02-28");
        assert!(parse_date("2026-02-30").is_err());
    }

    #[test]
    fn business_days_are_bogota_days() {
        let t = OffsetDateTime::parse("2026-11-28T03:00:00Z", &time::format_description::well_known::Rfc3339).unwrap();
        assert_eq!(format_date(business_date(t)), "2026-11-27");
        let (from, to) = business_day_bounds(parse_date("2026-11-27").unwrap());
        assert_eq!(from, "2026-11-27T05:00:00.000000Z");
        assert_eq!(to, "2026-11-28T05:00:00.000000Z");
        let clock = TestClock::new();
        let before = business_date(clock.now());
        clock.advance(time::Duration::days(2));
        assert_eq!(business_date(clock.now()) - before, time::Duration::days(2));
    }
}
