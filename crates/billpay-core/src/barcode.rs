//! The GS1-128 payment barcode printed on Colombian utility invoices, as its text reads:
//! `(415)7709998000018(8020)0012345678(3900)185500(96)20261215`.
//!
//! Application identifiers:
//! - `(415)` the biller's 13-digit location number (GLN), with its GS1 check digit;
//! - `(8020)` the payment reference, up to 24 characters;
//! - `(3900)` the amount to pay, in whole currency units, up to 14 digits;
//! - `(96)` the due date, `YYYYMMDD`.
//!
//! Both written forms are read: with the identifiers in parentheses (as printed under the bars),
//! and as scanned, where a variable-length field ends at a FNC1 separator (ASCII 29, GS).

use time::{Date, Month};

/// A decoded invoice barcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceBarcode {
    /// The biller's location number (GLN).
    pub gln: String,
    pub reference: String,
    /// In whole currency units, as printed (no decimals).
    pub amount_units: Option<u64>,
    pub due_date: Option<Date>,
}

/// What is wrong with a barcode, in words that say which part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    #[error("the barcode is empty")]
    Empty,
    #[error("the barcode is too long ({0} characters; at most 120)")]
    TooLong(usize),
    #[error("expected an application identifier in parentheses at character {0}, such as (415)")]
    ExpectedIdentifier(usize),
    #[error("application identifier ({0}) is not one an invoice carries: use (415), (8020), (3900) and (96)")]
    UnknownIdentifier(String),
    #[error("application identifier ({0}) appears twice")]
    Repeated(&'static str),
    #[error("the barcode has no ({0}) {1}")]
    Missing(&'static str, &'static str),
    #[error("(415) location number `{0}` must be 13 digits")]
    BadGln(String),
    #[error("(415) location number `{gln}` has check digit {found}, but its digits give {expected}")]
    CheckDigit { gln: String, found: char, expected: char },
    #[error("(8020) payment reference `{0}` must be 1 to 24 letters or digits")]
    BadReference(String),
    #[error("(3900) amount `{0}` must be 1 to 14 digits (whole pesos, no decimals)")]
    BadAmount(String),
    #[error("(96) due date `{0}` must be a date written YYYYMMDD")]
    BadDate(String),
}

const GS: char = '\u{1d}';

/// The GS1 check digit of the first 12 digits of a GLN (weights 3 and 1, from the right).
pub fn gln_check_digit(first12: &str) -> Option<char> {
    if first12.len() != 12 || !first12.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first12
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// Checks a location number: 13 digits whose last is the GS1 check digit of the others.
pub fn check_gln(gln: &str) -> Result<(), BarcodeError> {
    if gln.len() != 13 || !gln.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BarcodeError::BadGln(gln.to_owned()));
    }
    let expected = gln_check_digit(&gln[..12]).ok_or_else(|| BarcodeError::BadGln(gln.to_owned()))?;
    let found = gln.chars().last().unwrap_or('?');
    if found != expected {
        return Err(BarcodeError::CheckDigit {
            gln: gln.to_owned(),
            found,
            expected,
        });
    }
    Ok(())
}

fn fields(text: &str) -> Result<Vec<(String, String)>, BarcodeError> {
    let text: String = text.chars().filter(|c| *c != ' ').collect();
    let mut out = Vec::new();
    if text.starts_with('(') {
        // (AI)value(AI)value…
        let mut rest = text.as_str();
        let mut at = 0;
        while !rest.is_empty() {
            let Some(close) = rest.strip_prefix('(').and_then(|r| r.find(')')) else {
                return Err(BarcodeError::ExpectedIdentifier(at + 1));
            };
            let ai = &rest[1..=close];
            let after = &rest[close + 2..];
            let end = after.find('(').unwrap_or(after.len());
            out.push((ai.to_owned(), after[..end].trim_end_matches(GS).to_owned()));
            at += close + 2 + end;
            rest = &after[end..];
        }
        return Ok(out);
    }
    // As scanned: fixed-length fields run into the next identifier; variable-length ones end at
    // a FNC1 separator or at the end.
    let mut rest = text.trim_start_matches(GS);
    let mut at = 0;
    while !rest.is_empty() {
        let (ai, chars) = if rest.starts_with("415") {
            ("415", Some(13))
        } else if rest.starts_with("8020") {
            ("8020", None)
        } else if rest.starts_with("3900") {
            ("3900", None)
        } else if rest.starts_with("96") {
            ("96", Some(8))
        } else {
            return Err(BarcodeError::ExpectedIdentifier(at + 1));
        };
        let body = &rest[ai.len()..];
        let end = match chars {
            // A fixed-length field: that many characters (not bytes), or what is left.
            Some(n) => body.char_indices().nth(n).map_or(body.len(), |(i, _)| i),
            None => body.find(GS).unwrap_or(body.len()),
        };
        out.push((ai.to_owned(), body[..end].to_owned()));
        let consumed = ai.len() + end;
        rest = rest[consumed..].trim_start_matches(GS);
        at += consumed;
    }
    Ok(out)
}

/// Reads an invoice barcode.
pub fn parse(text: &str) -> Result<InvoiceBarcode, BarcodeError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(BarcodeError::Empty);
    }
    if text.chars().count() > 120 {
        return Err(BarcodeError::TooLong(text.chars().count()));
    }
    let (mut gln, mut reference, mut amount, mut due) = (None, None, None, None);
    for (ai, value) in fields(text)? {
        let (slot, name): (&mut Option<String>, &'static str) = match ai.as_str() {
            "415" => (&mut gln, "415"),
            "8020" => (&mut reference, "8020"),
            "3900" => (&mut amount, "3900"),
            "96" => (&mut due, "96"),
            other => return Err(BarcodeError::UnknownIdentifier(other.to_owned())),
        };
        if slot.replace(value).is_some() {
            return Err(BarcodeError::Repeated(name));
        }
    }
    let gln = gln.ok_or(BarcodeError::Missing("415", "location number of the biller"))?;
    check_gln(&gln)?;
    let reference = reference.ok_or(BarcodeError::Missing("8020", "payment reference"))?;
    if reference.is_empty() || reference.len() > 24 || !reference.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(BarcodeError::BadReference(reference));
    }
    let amount_units = match amount {
        None => None,
        Some(a) if !a.is_empty() && a.len() <= 14 && a.bytes().all(|b| b.is_ascii_digit()) => {
            Some(a.parse::<u64>().map_err(|_| BarcodeError::BadAmount(a.clone()))?)
        }
        Some(a) => return Err(BarcodeError::BadAmount(a)),
    };
    let due_date = match due {
        None => None,
        Some(d) => Some(parse_yyyymmdd(&d).ok_or(BarcodeError::BadDate(d))?),
    };
    Ok(InvoiceBarcode {
        gln,
        reference,
        amount_units,
        due_date,
    })
}

fn parse_yyyymmdd(d: &str) -> Option<Date> {
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = d[..4].parse().ok()?;
    let month = Month::try_from(d[4..6].parse::<u8>().ok()?).ok()?;
    let day: u8 = d[6..].parse().ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const GLN: &str = "7709998000018";

    #[test]
    fn check_digits_follow_gs1() {
        // GS1's own example GLN, and a Colombian (770) one.
        assert_eq!(gln_check_digit("061414100002"), Some('9'));
        assert!(check_gln("0614141000029").is_ok());
        assert!(check_gln(GLN).is_ok());
        assert_eq!(
            check_gln("7709998000013").unwrap_err().to_string(),
            "(415) location number `7709998000013` has check digit 3, but its digits give 8"
        );
    }

    #[test]
    fn reads_the_printed_form() {
        let b = parse(&format!("(415){GLN}(8020)0012345678(3900)185500(96)20261215")).unwrap();
        assert_eq!(b.gln, GLN);
        assert_eq!(b.reference, "0012345678");
        assert_eq!(b.amount_units, Some(185_500));
        assert_eq!(b.due_date, Date::from_calendar_date(2026, Month::December, 15).ok());
        // Spaces, as people paste them, change nothing.
        assert_eq!(
            parse(&format!(" (415) {GLN} (8020) 0012345678 (3900) 185500 (96) 20261215 ")).unwrap(),
            b
        );
    }

    #[test]
    fn reads_the_scanned_form_with_fnc1() {
        let scanned = format!("415{GLN}80200012345678\u{1d}3900185500\u{1d}9620261215");
        let b = parse(&scanned).unwrap();
        assert_eq!((b.reference.as_str(), b.amount_units), ("0012345678", Some(185_500)));
        // Only the identifiers a payment needs.
        let short = parse(&format!("(415){GLN}(8020)ABC123")).unwrap();
        assert_eq!((short.amount_units, short.due_date), (None, None));
    }

    #[test]
    fn names_what_is_wrong() {
        let cases = [
            ("", "the barcode is empty"),
            (
                "(415)770999800001(8020)1",
                "(415) location number `770999800001` must be 13 digits",
            ),
            ("(8020)123", "the barcode has no (415) location number of the biller"),
            (&format!("(415){GLN}"), "the barcode has no (8020) payment reference"),
            (
                &format!("(415){GLN}(8020)12-34"),
                "(8020) payment reference `12-34` must be 1 to 24 letters or digits",
            ),
            (
                &format!("(415){GLN}(8020)1(3900)12.50"),
                "(3900) amount `12.50` must be 1 to 14 digits",
            ),
            (
                &format!("(415){GLN}(8020)1(96)20261332"),
                "(96) due date `20261332` must be a date written YYYYMMDD",
            ),
            (
                &format!("(415){GLN}(8020)1(8020)2"),
                "application identifier (8020) appears twice",
            ),
            (
                &format!("(415){GLN}(8020)1(17)261231"),
                "application identifier (17) is not one an invoice carries",
            ),
            ("415x", "(415) location number `x` must be 13 digits"),
            (
                "99123",
                "expected an application identifier in parentheses at character 1",
            ),
            (
                "(415",
                "expected an application identifier in parentheses at character 1",
            ),
        ];
        for (input, expected) in cases {
            let e = parse(input).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{input:?}: {e}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_any_text(s in "\\PC{0,140}") {
            let _ = parse(&s);
        }

        #[test]
        fn never_panics_on_near_misses(s in "[()0-9A-Za-z\u{1d} ]{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn round_trips_every_valid_code(
            body in "[0-9]{12}",
            reference in "[0-9A-Z]{1,24}",
            amount in 1u64..99_999_999_999_999,
            days in 0i64..20_000,
        ) {
            let gln = format!("{body}{}", gln_check_digit(&body).unwrap());
            let due = Date::from_calendar_date(2000, Month::January, 1).unwrap() + time::Duration::days(days);
            let printed = format!("(415){gln}(8020){reference}(3900){amount}(96){:04}{:02}{:02}",
                due.year(), u8::from(due.month()), due.day());
            let b = parse(&printed).unwrap();
            prop_assert_eq!(&b.gln, &gln);
            prop_assert_eq!(&b.reference, &reference);
            prop_assert_eq!(b.amount_units, Some(amount));
            prop_assert_eq!(b.due_date, Some(due));
            let scanned = format!("415{gln}8020{reference}\u{1d}3900{amount}\u{1d}96{:04}{:02}{:02}",
                due.year(), u8::from(due.month()), due.day());
            prop_assert_eq!(parse(&scanned).unwrap(), b);
        }
    }
}
