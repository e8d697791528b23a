//! Fees: a fixed part plus basis points of the amount, paid by the customer or by the biller.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Who bears the fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeePayer {
    /// The fee is added on top: the wallet pays amount + fee, the biller gets the amount.
    Customer,
    /// The fee is taken out: the wallet pays the amount, the biller gets amount - fee.
    Biller,
}

impl FeePayer {
    pub fn as_str(self) -> &'static str {
        match self {
            FeePayer::Customer => "customer",
            FeePayer::Biller => "biller",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(FeePayer::Customer),
            "biller" => Some(FeePayer::Biller),
            _ => None,
        }
    }
}

/// The largest basis-point fee: 10,000 bps is 100%.
pub const MAX_BPS: i64 = 10_000;

/// A fee rule: `fixed` minor units plus `bps` hundredths of a percent of the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fee {
    pub fixed: i64,
    pub bps: i64,
    pub payer: FeePayer,
}

/// How a payment's amount splits between the wallet, the biller and the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// What leaves the customer's wallet.
    pub wallet_debit: i64,
    /// What the biller is owed.
    pub biller_credit: i64,
    /// What the platform earns.
    pub fee: i64,
}

impl Fee {
    /// Checks the rule itself when a biller is created or edited.
    pub fn validate(&self) -> Result<(), String> {
        if !(0..=crate::MAX_AMOUNT).contains(&self.fixed) {
            return Err(format!("fee fixed must be between 0 and {}", crate::MAX_AMOUNT));
        }
        if !(0..=MAX_BPS).contains(&self.bps) {
            return Err(format!("fee bps must be between 0 and {MAX_BPS}"));
        }
        Ok(())
    }

    /// The fee on `amount`, rounding the basis-point part half up. Exact integer arithmetic.
    pub fn on(&self, amount: i64) -> i64 {
        let variable = (i128::from(amount) * i128::from(self.bps) + 5_000) / 10_000;
        // amount <= MAX_AMOUNT and bps <= 10_000, so variable <= MAX_AMOUNT and the sum fits.
        self.fixed + i64::try_from(variable).unwrap_or(i64::MAX - self.fixed)
    }

    /// Splits a payment of `amount` (already validated to be in 1..=MAX_AMOUNT).
    pub fn split(&self, amount: i64) -> Result<Split, String> {
        let fee = self.on(amount);
        match self.payer {
            FeePayer::Customer => Ok(Split {
                wallet_debit: amount + fee,
                biller_credit: amount,
                fee,
            }),
            FeePayer::Biller if fee >= amount => Err(format!(
                "amount {amount} does not cover the biller's fee of {fee} minor units"
            )),
            FeePayer::Biller => Ok(Split {
                wallet_debit: amount,
                biller_credit: amount - fee,
                fee,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounds_half_up() {
        let fee = Fee {
            fixed: 100,
            bps: 150,
            payer: FeePayer::Customer,
        };
        // 1.5% of 10_033 = 150.495 -> 150
        assert_eq!(fee.on(10_033), 250);
        // 1.5% of 10_100 = 151.5 -> 152
        assert_eq!(fee.on(10_100), 252);
    }

    #[test]
    fn biller_paid_fee_must_leave_something() {
        let fee = Fee {
            fixed: 500,
            bps: 0,
            payer: FeePayer::Biller,
        };
        assert!(fee.split(500).is_err());
        assert_eq!(fee.split(501).unwrap().biller_credit, 1);
    }

    proptest! {
        #[test]
        fn split_always_balances(amount in 1..=crate::MAX_AMOUNT, fixed in 0..100_000i64, bps in 0..=MAX_BPS, biller in any::<bool>()) {
            let payer = if biller { FeePayer::Biller } else { FeePayer::Customer };
            let fee = Fee { fixed, bps, payer };
            if let Ok(s) = fee.split(amount) {
                prop_assert_eq!(s.wallet_debit, s.biller_credit + s.fee);
                prop_assert!(s.biller_credit > 0);
                prop_assert!(s.fee >= fixed);
            }
        }
    }
}
