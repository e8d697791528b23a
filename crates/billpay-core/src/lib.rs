//! BillPay's domain: money, identifiers, fees, and the rules that decide whether a payment or a
//! refund is allowed. Nothing here does I/O; the store and the API call into it.

pub mod barcode;
pub mod bill;
pub mod biller;
pub mod error;
pub mod fee;
pub mod id;
pub mod money;
pub mod posting;
pub mod time;

pub use error::Rejection;
pub use money::{Currency, MAX_AMOUNT};
