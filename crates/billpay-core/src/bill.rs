//! A bill's life: open, partially paid, paid, or cancelled. "Overdue" is not stored; it follows
//! from the due date.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BillStatus {
    Open,
    PartiallyPaid,
    Paid,
    Cancelled,
}

impl BillStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BillStatus::Open => "open",
            BillStatus::PartiallyPaid => "partially_paid",
            BillStatus::Paid => "paid",
            BillStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(BillStatus::Open),
            "partially_paid" => Some(BillStatus::PartiallyPaid),
            "paid" => Some(BillStatus::Paid),
            "cancelled" => Some(BillStatus::Cancelled),
            _ => None,
        }
    }

    /// The status of a live bill with `outstanding` left of `amount_due`.
    pub fn from_outstanding(amount_due: i64, outstanding: i64) -> Self {
        if outstanding <= 0 {
            BillStatus::Paid
        } else if outstanding >= amount_due {
            BillStatus::Open
        } else {
            BillStatus::PartiallyPaid
        }
    }
}

/// Payment statuses. A payment exists only once money moved; refused attempts are errors, not rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Succeeded,
    PartiallyRefunded,
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "succeeded" => Some(PaymentStatus::Succeeded),
            "partially_refunded" => Some(PaymentStatus::PartiallyRefunded),
            "refunded" => Some(PaymentStatus::Refunded),
            _ => None,
        }
    }
    pub fn after_refunds(amount: i64, refunded: i64) -> Self {
        if refunded == 0 {
            PaymentStatus::Succeeded
        } else if refunded >= amount {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::PartiallyRefunded
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_outstanding() {
        assert_eq!(BillStatus::from_outstanding(100, 100), BillStatus::Open);
        assert_eq!(BillStatus::from_outstanding(100, 1), BillStatus::PartiallyPaid);
        assert_eq!(BillStatus::from_outstanding(100, 0), BillStatus::Paid);
        assert_eq!(BillStatus::from_outstanding(100, -5), BillStatus::Paid);
        assert_eq!(PaymentStatus::after_refunds(100, 40), PaymentStatus::PartiallyRefunded);
    }
}
