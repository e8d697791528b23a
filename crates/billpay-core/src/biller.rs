//! Billers' rules: what a reference looks like, and which amounts a bill accepts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which amounts a biller accepts against a bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AmountRule {
    /// Only the full outstanding amount.
    Exact,
    /// Any amount up to the outstanding amount.
    Partial,
    /// Any amount, including more than is outstanding (the rest is a credit on the bill).
    Overpayment,
}

impl AmountRule {
    pub fn as_str(self) -> &'static str {
        match self {
            AmountRule::Exact => "exact",
            AmountRule::Partial => "partial",
            AmountRule::Overpayment => "overpayment",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "exact" => Some(AmountRule::Exact),
            "partial" => Some(AmountRule::Partial),
            "overpayment" => Some(AmountRule::Overpayment),
            _ => None,
        }
    }

    /// Whether `amount` may be paid against a bill with `outstanding` left.
    pub fn check(self, amount: i64, outstanding: i64) -> Result<(), String> {
        match self {
            AmountRule::Exact if amount != outstanding => Err(format!(
                "this biller takes only the exact outstanding amount of {outstanding}, got {amount}"
            )),
            AmountRule::Partial if amount > outstanding => Err(format!(
                "amount {amount} exceeds the outstanding {outstanding}; this biller does not take overpayments"
            )),
            _ => Ok(()),
        }
    }
}

/// Whether a biller takes payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillerStatus {
    Active,
    Suspended,
}

impl BillerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BillerStatus::Active => "active",
            BillerStatus::Suspended => "suspended",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(BillerStatus::Active),
            "suspended" => Some(BillerStatus::Suspended),
            _ => None,
        }
    }
}

/// The categories of biller BillPay presents to customers.
pub const CATEGORIES: &[&str] = &[
    "electricity",
    "water",
    "gas",
    "telecom",
    "internet",
    "tax",
    "insurance",
    "education",
    "other",
];

/// A reference rule: a regular expression every reference must match in full, and a hint that
/// tells a person what to type ("the 10-digit account number on your bill").
#[derive(Debug, Clone)]
pub struct ReferenceRule {
    regex: regex::Regex,
}

impl ReferenceRule {
    pub fn new(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() || pattern.len() > 200 {
            return Err("reference pattern must be 1 to 200 characters".into());
        }
        let regex = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
            .size_limit(1 << 16)
            .build()
            .map_err(|e| format!("reference pattern is not a valid regular expression: {e}"))?;
        Ok(Self { regex })
    }

    pub fn matches(&self, reference: &str) -> bool {
        reference.len() <= 64 && self.regex.is_match(reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_rule_matches_whole_reference() {
        let rule = ReferenceRule::new("[0-9]{10}").unwrap();
        assert!(rule.matches("1234567890"));
        assert!(!rule.matches("12345678901"));
        assert!(!rule.matches("x1234567890"));
        assert!(ReferenceRule::new("(").is_err());
    }

    #[test]
    fn amount_rules() {
        assert!(AmountRule::Exact.check(100, 100).is_ok());
        assert!(AmountRule::Exact.check(99, 100).is_err());
        assert!(AmountRule::Partial.check(99, 100).is_ok());
        assert!(AmountRule::Partial.check(101, 100).is_err());
        assert!(AmountRule::Overpayment.check(101, 100).is_ok());
    }
}
