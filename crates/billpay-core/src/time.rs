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
}
