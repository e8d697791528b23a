//! Money is an integer count of minor units plus an ISO 4217 currency. There is no floating point
//! anywhere in BillPay's money path.

use serde::{Deserialize, Serialize};

/// The largest amount BillPay accepts in one request, in minor units (10^15: ten trillion dollars,
/// or ten trillion pesos). Keeping amounts this far below `i64::MAX` means a sum of many of them
/// cannot overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

/// An ISO 4217 currency that BillPay settles in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

/// ISO 4217 codes with their minor-unit exponent.
const CURRENCIES: &[(&str, u8)] = &[
    ("ARS", 2),
    ("AUD", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("DOP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("GTQ", 2),
    ("HNL", 2),
    ("INR", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("NIO", 2),
    ("PAB", 2),
    ("PEN", 2),
    ("PYG", 0),
    ("USD", 2),
    ("UYU", 2),
    ("VES", 2),
    ("ZAR", 2),
];

impl Currency {
    /// Looks up an ISO 4217 code, upper case.
    pub fn parse(code: &str) -> Result<Self, UnknownCurrency> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or_else(|| UnknownCurrency(code.to_owned()))
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Number of digits after the decimal point: 2 for USD and COP, 0 for CLP.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }

    pub fn all() -> impl Iterator<Item = &'static str> {
        CURRENCIES.iter().map(|(c, _)| *c)
    }

    /// The web apps' copy of this table (`web/src/lib/currencies.ts`), which a test keeps equal.
    pub fn web_table() -> String {
        let mut out = String::from(
            "// Generated from billpay-core's currency table (crates/billpay-core/src/money.rs); a test keeps\n\
             // it equal. Do not edit: add a currency there, then run\n\
             // BILLPAY_UPDATE_SNAPSHOTS=1 cargo test -p billpay-core --test web_currencies\n\n\
             /** ISO 4217 code → digits after the decimal point, for every currency BillPay settles in. */\n\
             export const EXPONENTS: Readonly<Record<string, number>> = {\n",
        );
        for (code, exponent) in CURRENCIES {
            out.push_str(&format!("  {code}: {exponent},\n"));
        }
        out.push_str("};\n");
        out
    }

    /// Formats minor units for people: `150000` COP is `COP 1,500.00`.
    pub fn format(&self, minor: i64) -> String {
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        let div = 10u64.pow(u32::from(self.exponent));
        let (major, frac) = (abs / div, abs % div);
        let digits = major.to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        if self.exponent == 0 {
            format!("{} {sign}{grouped}", self.code)
        } else {
            format!(
                "{} {sign}{grouped}.{frac:0width$}",
                self.code,
                width = usize::from(self.exponent)
            )
        }
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

impl TryFrom<String> for Currency {
    type Error = UnknownCurrency;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code.to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown currency {0:?}: use an upper-case ISO 4217 code such as COP or USD")]
pub struct UnknownCurrency(pub String);

/// Checks that an amount given by a client is a positive number of minor units within limits.
pub fn validate_amount(amount: i64) -> Result<(), String> {
    if amount <= 0 {
        Err(format!(
            "amount must be a positive integer of minor units, got {amount}"
        ))
    } else if amount > MAX_AMOUNT {
        Err(format!(
            "amount {amount} exceeds the maximum of {MAX_AMOUNT} minor units"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_for_people() {
        let cop = Currency::parse("COP").unwrap();
        assert_eq!(cop.format(15_000_050), "COP 150,000.50");
        assert_eq!(Currency::parse("CLP").unwrap().format(1234567), "CLP 1,234,567");
        assert_eq!(Currency::parse("KWD").unwrap().format(-1005), "KWD -1.005");
        assert_eq!(cop.format(5), "COP 0.05");
    }

    #[test]
    fn rejects_unknown_and_lower_case_codes() {
        assert!(Currency::parse("usd").is_err());
        assert!(Currency::parse("XXX").is_err());
    }

    #[test]
    fn amount_limits() {
        assert!(validate_amount(0).is_err());
        assert!(validate_amount(-1).is_err());
        assert!(validate_amount(MAX_AMOUNT + 1).is_err());
        assert!(validate_amount(MAX_AMOUNT).is_ok());
    }
}
