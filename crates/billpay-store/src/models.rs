//! What the store reads and writes. These are also the API's JSON shapes: amounts are integers of
//! minor units next to their ISO 4217 currency.

use billpay_core::bill::{BillStatus, PaymentStatus};
use billpay_core::biller::{AmountRule, BillerStatus};
use billpay_core::fee::FeePayer;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeeView {
    /// Fixed part of the fee, in minor units of the biller's currency.
    pub fixed: i64,
    /// Variable part, in basis points (1/100 of a percent) of the amount paid.
    pub bps: i64,
    pub payer: FeePayer,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Biller {
    #[schema(example = "blr_01jdx5v9k3m0000000000000ee")]
    pub id: String,
    pub name: String,
    #[schema(example = "electricity")]
    pub category: String,
    #[schema(example = "COP")]
    pub currency: String,
    /// Regular expression every reference must match in full.
    pub reference_pattern: String,
    /// What a person should type as the reference.
    pub reference_hint: String,
    /// The biller's GS1 location number (GLN), printed as (415) in its invoices' barcodes.
    #[schema(example = "7709998000018")]
    pub gln: Option<String>,
    pub amount_rule: AmountRule,
    pub fee: FeeView,
    pub status: BillerStatus,
    /// The ledger account that holds what BillPay owes this biller.
    pub payable_account_id: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bill {
    pub id: String,
    pub biller_id: String,
    pub reference: String,
    pub customer_name: String,
    /// Set when the bill belongs to one BillPay customer; only that customer can see or pay it.
    pub customer_id: Option<String>,
    pub currency: String,
    pub amount_due: i64,
    /// What is still owed: amount due, less payments, plus refunds. Negative after an overpayment.
    pub amount_outstanding: i64,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    pub status: BillStatus,
    /// True when the due date has passed and something is still owed.
    pub overdue: bool,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WalletBalance {
    pub account_id: String,
    pub currency: String,
    /// Balance in minor units; never negative.
    pub balance: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Wallet {
    pub customer_id: String,
    /// One balance per currency the customer has topped up.
    pub balances: Vec<WalletBalance>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Topup {
    pub journal_id: String,
    pub customer_id: String,
    pub account_id: String,
    pub currency: String,
    pub amount: i64,
    /// The wallet balance after the top-up.
    pub balance: i64,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Payment {
    pub id: String,
    /// Read it aloud: `BP-7K3M-9QXA`.
    pub confirmation_number: String,
    pub customer_id: String,
    pub biller_id: String,
    pub bill_id: String,
    pub currency: String,
    /// What was applied to the bill, in minor units.
    pub amount: i64,
    pub fee: i64,
    pub fee_payer: FeePayer,
    /// What left the customer's wallet: amount plus the fee when the customer pays it.
    pub total_debited: i64,
    pub refunded_amount: i64,
    pub status: PaymentStatus,
    pub journal_id: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub currency: String,
    pub amount: i64,
    pub reason: String,
    pub journal_id: String,
    pub created_at: String,
}

/// A payment with what a receipt shows about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Receipt {
    pub payment: Payment,
    pub biller_name: String,
    pub biller_category: String,
    pub bill_reference: String,
    pub bill_due_date: String,
    pub customer_name: String,
    pub refunds: Vec<Refund>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Account {
    pub id: String,
    /// `customer_wallet`, `biller_payable`, `platform_revenue` or `funding_source`.
    pub kind: String,
    pub owner_id: String,
    pub currency: String,
    /// Sum of the account's entries, in minor units. Wallets are positive; the funding source is
    /// negative by what has come in from outside.
    pub balance: i64,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Entry {
    pub line: i64,
    pub account_id: String,
    pub currency: String,
    /// Signed minor units; a journal's entries sum to zero per currency.
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Journal {
    pub id: String,
    /// `topup`, `payment` or `refund`.
    pub kind: String,
    pub memo: String,
    /// SHA-256 over the journal's entries, checked by `billpay ledger verify`.
    pub digest: String,
    pub created_at: String,
    pub entries: Vec<Entry>,
}
