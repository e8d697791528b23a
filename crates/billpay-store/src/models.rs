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

/// A payment a customer asked BillPay to make on a later date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduledPayment {
    #[schema(example = "spm_01jdx5v9k3m0000000000000ee")]
    pub id: String,
    pub customer_id: String,
    pub biller_id: String,
    pub bill_id: String,
    #[schema(example = "COP")]
    pub currency: String,
    pub amount: i64,
    /// The business date (Bogotá) on which the worker pays it.
    #[schema(example = "2026-12-05")]
    pub execute_on: String,
    /// `pending` until the worker runs it, then `succeeded` or `failed`; or `cancelled`.
    #[schema(example = "pending")]
    pub status: String,
    /// The autopay enrollment that scheduled it, if any.
    pub autopay_id: Option<String>,
    /// The payment it made.
    pub payment_id: Option<String>,
    /// Why it failed, as a stable code such as `insufficient_funds`, and in words.
    pub failure_code: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// A standing instruction to pay each new bill of a biller and reference.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AutopayEnrollment {
    #[schema(example = "apy_01jdx5v9k3m0000000000000ee")]
    pub id: String,
    pub customer_id: String,
    pub biller_id: String,
    pub reference: String,
    pub currency: String,
    /// How many days before the due date to pay (0: on the due date).
    pub days_before: i64,
    /// `full`: the bill's amount; `fixed`: `fixed_amount`.
    #[schema(example = "full")]
    pub amount_mode: String,
    pub fixed_amount: Option<i64>,
    /// A bill that would take more than this is not paid; the customer is told instead.
    pub max_amount: Option<i64>,
    #[schema(example = "active")]
    pub status: String,
    pub created_at: String,
}

/// Something BillPay tells a customer: a scheduled payment failed, autopay skipped a bill.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: String,
    pub customer_id: String,
    /// `scheduled_payment.failed` or `autopay.skipped`.
    pub kind: String,
    /// The scheduled payment or bill it is about.
    pub subject_id: String,
    pub message: String,
    pub created_at: String,
}

/// Where BillPay posts events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookEndpoint {
    #[schema(example = "we_01jdx5v9k3m0000000000000ee")]
    pub id: String,
    /// The biller whose events it receives; absent for a platform endpoint, which receives all.
    pub biller_id: Option<String>,
    pub url: String,
    pub description: String,
    /// Event types it receives; `*` for all.
    pub event_types: Vec<String>,
    #[schema(example = "enabled")]
    pub status: String,
    /// While this is in the future, deliveries are also signed with the secret before the last
    /// rotation.
    pub previous_secret_expires_at: Option<String>,
    pub created_at: String,
    /// The signing secret: shown only when the endpoint is created and when it is rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    pub endpoint_id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending` (waiting or retrying), `delivered`, or `failed` (retries ran out).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    /// The HTTP status of the last attempt, if the receiver answered.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
    pub created_at: String,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryAttempt {
    pub attempt: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: String,
}

/// One payment or refund in a settlement report or batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SettlementItem {
    /// `payment` or `refund`.
    pub kind: String,
    /// The payment's id or the refund's id.
    pub id: String,
    /// The payment's confirmation number; for a refund, its payment's.
    pub confirmation_number: String,
    pub bill_id: String,
    /// What the customer paid toward the bill, or what was refunded.
    pub amount: i64,
    /// The fee the biller bears on this payment (0 when the customer pays the fee).
    pub biller_fee: i64,
    /// What this item adds to (payment) or takes from (refund) what is due to the biller.
    pub net: i64,
    pub created_at: String,
}

/// Totals of a set of settlement items.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SettlementTotals {
    pub payments_count: i64,
    pub payments_amount: i64,
    /// Fees the customers paid on top, which go to BillPay.
    pub customer_fees: i64,
    /// Fees deducted from the biller's share.
    pub biller_fees: i64,
    pub refunds_count: i64,
    pub refunds_amount: i64,
    /// Payments less biller fees less refunds: what BillPay owes the biller for these items.
    pub net_amount: i64,
}

/// A biller's payments, refunds and fees of one business day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SettlementReport {
    pub biller_id: String,
    pub currency: String,
    /// The business date (Bogotá).
    pub date: String,
    /// The day's bounds as stored timestamps: `from` inclusive, `to` exclusive.
    pub from: String,
    pub to: String,
    pub totals: SettlementTotals,
    pub items: Vec<SettlementItem>,
}

/// Money moved from a biller's payable to the settlement clearing account, for one bank transfer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SettlementBatch {
    #[schema(example = "stl_01jdx5v9k3m0000000000000ee")]
    pub id: String,
    pub biller_id: String,
    pub currency: String,
    /// Payments and refunds made before this time and not in an earlier batch are in it.
    pub cutoff: String,
    pub totals: SettlementTotals,
    /// The reference the bank transfer carries.
    #[schema(example = "BP-20261128-7Q2M9K4D")]
    pub bank_reference: String,
    /// The balanced journal: payable debited, clearing credited, by `net_amount`.
    pub journal_id: String,
    pub created_at: String,
}

/// A confirmation file checked against a settlement batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reconciliation {
    #[schema(example = "rec_01jdx5v9k3m0000000000000ee")]
    pub id: String,
    pub batch_id: String,
    /// `biller`: one line per payment (confirmation number) or refund (id). `bank`: one line per
    /// transfer (bank reference).
    pub source: String,
    /// Ids on both sides with the same amount.
    pub matched: Vec<String>,
    pub exceptions: Vec<ReconciliationException>,
    pub created_at: String,
}

/// A difference between BillPay's records and a confirmation file, to be worked through.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReconciliationException {
    #[schema(example = "rex_01jdx5v9k3m0000000000000ee")]
    pub id: String,
    pub reconciliation_id: String,
    pub batch_id: String,
    pub biller_id: String,
    /// `amount_mismatch`, `missing_in_file`, `missing_in_billpay` or `duplicate_in_file`.
    pub kind: String,
    pub item_id: String,
    /// BillPay's amount, when BillPay has the item.
    pub expected_amount: Option<i64>,
    /// The file's amount, when the file has the item.
    pub reported_amount: Option<i64>,
    /// `open` or `closed`.
    pub status: String,
    pub note: Option<String>,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
    pub created_at: String,
}
