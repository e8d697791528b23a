//! Business-rule rejections. Each has a stable, machine-readable code that clients can match on.

/// Why BillPay refused a request that was well-formed but broke a business rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the wallet does not hold enough {currency} to pay {needed} minor units (amount plus fee)")]
    InsufficientFunds { currency: String, needed: i64 },
    #[error("the bill is already paid")]
    BillAlreadyPaid,
    #[error("the bill is cancelled")]
    BillCancelled,
    #[error("amount not allowed: {0}")]
    AmountNotAllowed(String),
    #[error("the biller is suspended and cannot take payments or new bills")]
    BillerSuspended,
    #[error("reference {reference:?} does not match the biller's format: {hint}")]
    ReferenceInvalid { reference: String, hint: String },
    #[error("currency {given} does not match {expected}")]
    CurrencyMismatch { given: String, expected: String },
    #[error("refund of {requested} exceeds the refundable {refundable} minor units")]
    RefundExceedsPayment { requested: i64, refundable: i64 },
    #[error("the bill has payments and cannot be cancelled; refund them first")]
    BillHasPayments,
    #[error("a bill for reference {reference:?} due {due_date} already exists at this biller")]
    DuplicateBill { reference: String, due_date: String },
    #[error("the wallet would exceed the maximum balance of {max} minor units")]
    WalletLimitExceeded { max: i64 },
}

impl Rejection {
    /// The stable code that goes in the problem document's `code` member.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InsufficientFunds { .. } => "insufficient_funds",
            Self::BillAlreadyPaid => "bill_already_paid",
            Self::BillCancelled => "bill_cancelled",
            Self::AmountNotAllowed(_) => "amount_not_allowed",
            Self::BillerSuspended => "biller_suspended",
            Self::ReferenceInvalid { .. } => "reference_invalid",
            Self::CurrencyMismatch { .. } => "currency_mismatch",
            Self::RefundExceedsPayment { .. } => "refund_exceeds_payment",
            Self::BillHasPayments => "bill_has_payments",
            Self::DuplicateBill { .. } => "duplicate_bill",
            Self::WalletLimitExceeded { .. } => "wallet_limit_exceeded",
        }
    }

    /// Rejections of a request that conflicts with the current state of a resource.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            Self::BillAlreadyPaid | Self::BillCancelled | Self::BillHasPayments | Self::DuplicateBill { .. }
        )
    }
}
