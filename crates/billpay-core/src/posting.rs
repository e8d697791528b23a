//! The posting rules: how each kind of money movement becomes a journal. This is the only place
//! that decides which accounts a payment, a refund, a top-up or a settlement touches and with
//! which signs; both of the store's executors (PostgreSQL's one guarded statement and the
//! step-by-step transaction) write exactly the lines a [`Posting`] holds.
//!
//! A `Posting` cannot be built unbalanced, with a line on the wrong kind of account, or with an
//! amount beyond [`MAX_LINE`]: those are bugs in BillPay, never a client's mistake, so they come
//! back as a [`PostingFault`] and nothing is written.

use sha2::{Digest, Sha256};

use crate::fee::Split;
use crate::money::Currency;

/// The largest amount one entry may carry, in minor units. A payment's wallet debit is its amount
/// plus its fee and a settlement sums many payments, so this is well above
/// [`crate::MAX_AMOUNT`]; it is also far enough below `i64::MAX` that a journal's lines cannot
/// overflow when summed.
pub const MAX_LINE: i64 = 1_000_000_000_000_000_000;

/// What an account holds, and so which postings may touch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// A customer's prepaid balance in one currency.
    CustomerWallet,
    /// What BillPay owes one biller until it is settled.
    BillerPayable,
    /// The fees BillPay earns in one currency.
    PlatformRevenue,
    /// Money arriving from outside BillPay in one currency (card, bank transfer).
    FundingSource,
    /// Money on its way to billers' banks in one currency.
    SettlementClearing,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::CustomerWallet => "customer_wallet",
            AccountKind::BillerPayable => "biller_payable",
            AccountKind::PlatformRevenue => "platform_revenue",
            AccountKind::FundingSource => "funding_source",
            AccountKind::SettlementClearing => "settlement_clearing",
        }
    }

    /// Every account id of this kind starts with this.
    pub fn id_prefix(self) -> &'static str {
        match self {
            AccountKind::CustomerWallet => "acct_wallet_",
            AccountKind::BillerPayable => "acct_payable_",
            AccountKind::PlatformRevenue => "acct_revenue_",
            AccountKind::FundingSource => "acct_funding_",
            AccountKind::SettlementClearing => "acct_clearing_",
        }
    }
}

/// An account a posting names: its id, and the kind the id says it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountId {
    kind: AccountKind,
    id: String,
}

impl AccountId {
    /// A customer's wallet in `currency`.
    pub fn wallet(customer_id: &str, currency: Currency) -> Self {
        Self::of(
            AccountKind::CustomerWallet,
            format!(
                "{}_{}",
                customer_id.trim_start_matches("cus_"),
                currency.code().to_ascii_lowercase()
            ),
        )
    }

    /// A biller's payable account (one per biller, in the biller's currency).
    pub fn payable(biller_id: &str) -> Self {
        Self::of(
            AccountKind::BillerPayable,
            biller_id.trim_start_matches("blr_").to_owned(),
        )
    }

    pub fn revenue(currency: Currency) -> Self {
        Self::of(AccountKind::PlatformRevenue, currency.code().to_ascii_lowercase())
    }

    pub fn funding(currency: Currency) -> Self {
        Self::of(AccountKind::FundingSource, currency.code().to_ascii_lowercase())
    }

    pub fn clearing(currency: Currency) -> Self {
        Self::of(AccountKind::SettlementClearing, currency.code().to_ascii_lowercase())
    }

    /// An account id as stored, with the kind its prefix names; `None` for an id no posting rule
    /// knows.
    pub fn parse(id: &str) -> Option<Self> {
        [
            AccountKind::CustomerWallet,
            AccountKind::BillerPayable,
            AccountKind::PlatformRevenue,
            AccountKind::FundingSource,
            AccountKind::SettlementClearing,
        ]
        .into_iter()
        .find(|k| id.strip_prefix(k.id_prefix()).is_some_and(|rest| !rest.is_empty()))
        .map(|kind| AccountId {
            kind,
            id: id.to_owned(),
        })
    }

    fn of(kind: AccountKind, suffix: String) -> Self {
        AccountId {
            kind,
            id: format!("{}{suffix}", kind.id_prefix()),
        }
    }

    pub fn kind(&self) -> AccountKind {
        self.kind
    }

    pub fn as_str(&self) -> &str {
        &self.id
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id)
    }
}

/// The kinds of journal BillPay writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JournalKind {
    Topup,
    Payment,
    Refund,
    Settlement,
}

impl JournalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JournalKind::Topup => "topup",
            JournalKind::Payment => "payment",
            JournalKind::Refund => "refund",
            JournalKind::Settlement => "settlement",
        }
    }
}

/// One entry of a planned journal: a signed amount on an account (negative leaves it, positive
/// arrives), numbered from 1 in the order the rule lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLine {
    pub line: i64,
    pub account: AccountId,
    pub amount: i64,
}

/// A rule for a posting was broken: a bug in BillPay, not a refused request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing to post a {kind} journal: {reason}")]
pub struct PostingFault {
    pub kind: &'static str,
    pub reason: String,
}

/// Which way a line of a rule may move money.
#[derive(Clone, Copy)]
enum Sign {
    /// Strictly negative: money leaves the account.
    Out,
    /// Strictly positive.
    In,
    /// Zero or positive; a zero line is left out (a payment with no fee).
    InOrNothing,
}

/// A journal planned in full before anything is written: kind, currency and lines, with every
/// invariant already checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    kind: JournalKind,
    currency: Currency,
    lines: Vec<PlannedLine>,
}

impl Posting {
    /// A payment: the wallet pays `wallet_debit`; the biller's payable gets `biller_credit`, and
    /// the platform's revenue the fee.
    pub fn payment(
        wallet: &AccountId,
        payable: &AccountId,
        currency: Currency,
        split: &Split,
    ) -> Result<Self, PostingFault> {
        Self::checked(
            JournalKind::Payment,
            currency,
            &[
                (
                    AccountKind::CustomerWallet,
                    Sign::Out,
                    wallet.clone(),
                    split.wallet_debit.checked_neg(),
                ),
                (
                    AccountKind::BillerPayable,
                    Sign::In,
                    payable.clone(),
                    Some(split.biller_credit),
                ),
                (
                    AccountKind::PlatformRevenue,
                    Sign::InOrNothing,
                    AccountId::revenue(currency),
                    Some(split.fee),
                ),
            ],
        )
    }

    /// A refund: the biller's payable pays `amount` back into the wallet the payment came from.
    /// Fees are not refunded.
    pub fn refund(
        payable: &AccountId,
        wallet: &AccountId,
        currency: Currency,
        amount: i64,
    ) -> Result<Self, PostingFault> {
        Self::checked(
            JournalKind::Refund,
            currency,
            &[
                (
                    AccountKind::BillerPayable,
                    Sign::Out,
                    payable.clone(),
                    amount.checked_neg(),
                ),
                (AccountKind::CustomerWallet, Sign::In, wallet.clone(), Some(amount)),
            ],
        )
    }

    /// A top-up: money from outside BillPay arrives in a wallet.
    pub fn topup(wallet: &AccountId, currency: Currency, amount: i64) -> Result<Self, PostingFault> {
        Self::checked(
            JournalKind::Topup,
            currency,
            &[
                (
                    AccountKind::FundingSource,
                    Sign::Out,
                    AccountId::funding(currency),
                    amount.checked_neg(),
                ),
                (AccountKind::CustomerWallet, Sign::In, wallet.clone(), Some(amount)),
            ],
        )
    }

    /// A settlement: what the biller is owed, net of refunds, leaves its payable for the
    /// clearing account, from which the bank transfer is made.
    pub fn settlement(payable: &AccountId, currency: Currency, net: i64) -> Result<Self, PostingFault> {
        Self::checked(
            JournalKind::Settlement,
            currency,
            &[
                (
                    AccountKind::BillerPayable,
                    Sign::Out,
                    payable.clone(),
                    net.checked_neg(),
                ),
                (
                    AccountKind::SettlementClearing,
                    Sign::In,
                    AccountId::clearing(currency),
                    Some(net),
                ),
            ],
        )
    }

    fn checked(
        kind: JournalKind,
        currency: Currency,
        rule: &[(AccountKind, Sign, AccountId, Option<i64>)],
    ) -> Result<Self, PostingFault> {
        let fault = |reason: String| PostingFault {
            kind: kind.as_str(),
            reason,
        };
        let mut lines = Vec::with_capacity(rule.len());
        let mut sum: i128 = 0;
        for (expected, sign, account, amount) in rule {
            let amount = amount.ok_or_else(|| fault("an amount overflows".into()))?;
            if account.kind != *expected {
                return Err(fault(format!(
                    "account {account} is a {}, not a {}",
                    account.kind.as_str(),
                    expected.as_str()
                )));
            }
            if amount.unsigned_abs() > MAX_LINE.unsigned_abs() {
                return Err(fault(format!("{amount} on {account} is beyond the {MAX_LINE} limit")));
            }
            let allowed = match sign {
                Sign::Out => amount < 0,
                Sign::In => amount > 0,
                Sign::InOrNothing => amount >= 0,
            };
            if !allowed {
                return Err(fault(format!("{amount} on {account} moves money the wrong way")));
            }
            if amount == 0 {
                continue;
            }
            if lines.iter().any(|l: &PlannedLine| l.account == *account) {
                return Err(fault(format!("account {account} appears twice")));
            }
            sum += i128::from(amount);
            lines.push(PlannedLine {
                line: lines.len() as i64 + 1,
                account: account.clone(),
                amount,
            });
        }
        if sum != 0 {
            return Err(fault(format!("its lines sum to {sum}, not 0")));
        }
        if lines.len() < 2 {
            return Err(fault("a journal needs at least two lines".into()));
        }
        Ok(Posting { kind, currency, lines })
    }

    pub fn kind(&self) -> JournalKind {
        self.kind
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The non-zero lines, numbered from 1.
    pub fn lines(&self) -> &[PlannedLine] {
        &self.lines
    }

    /// The most lines any rule writes; executors size their statements by it.
    pub const MAX_LINES: usize = 3;

    /// The amount on `account`, or 0 when the posting does not touch it.
    pub fn amount_on(&self, account: &AccountId) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.account == *account)
            .map(|l| l.amount)
            .sum()
    }

    /// The journal's digest, stored with it so `ledger verify` can prove its entries unchanged.
    pub fn digest(&self) -> String {
        digest(
            self.kind.as_str(),
            self.lines
                .iter()
                .map(|l| (l.line, l.account.as_str(), self.currency.code(), l.amount)),
        )
    }
}

/// SHA-256 over a journal's kind and every entry, in line order.
pub fn digest<'a>(kind: &str, entries: impl IntoIterator<Item = (i64, &'a str, &'a str, i64)>) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    for (line, account, currency, amount) in entries {
        h.update(format!("\n{line}|{account}|{currency}|{amount}").as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::fee::{Fee, FeePayer};

    fn cop() -> Currency {
        Currency::parse("COP").expect("COP")
    }

    #[test]
    fn a_payment_moves_the_debit_to_the_biller_and_the_fee_to_revenue() {
        let wallet = AccountId::wallet("cus_1", cop());
        let payable = AccountId::payable("blr_1");
        let split = Split {
            wallet_debit: 1_050,
            biller_credit: 1_000,
            fee: 50,
        };
        let p = Posting::payment(&wallet, &payable, cop(), &split).expect("balanced");
        assert_eq!(wallet.as_str(), "acct_wallet_1_cop");
        assert_eq!(payable.as_str(), "acct_payable_1");
        assert_eq!(
            p.lines()
                .iter()
                .map(|l| (l.line, l.account.as_str(), l.amount))
                .collect::<Vec<_>>(),
            vec![
                (1, "acct_wallet_1_cop", -1_050),
                (2, "acct_payable_1", 1_000),
                (3, "acct_revenue_cop", 50)
            ]
        );
        let free = Posting::payment(
            &wallet,
            &payable,
            cop(),
            &Split {
                wallet_debit: 10,
                biller_credit: 10,
                fee: 0,
            },
        )
        .expect("no fee");
        assert_eq!(free.lines().len(), 2, "a zero fee line is left out");
    }

    #[test]
    fn an_unbalanced_or_misdirected_plan_is_a_fault() {
        let wallet = AccountId::wallet("cus_1", cop());
        let payable = AccountId::payable("blr_1");
        let unbalanced = Split {
            wallet_debit: 100,
            biller_credit: 100,
            fee: 1,
        };
        let e = Posting::payment(&wallet, &payable, cop(), &unbalanced).expect_err("unbalanced");
        assert!(e.to_string().contains("sum to 1"), "{e}");
        let e = Posting::payment(&payable, &wallet, cop(), &unbalanced).expect_err("swapped");
        assert!(
            e.to_string().contains("is a biller_payable, not a customer_wallet"),
            "{e}"
        );
        let e = Posting::refund(&payable, &wallet, cop(), -5).expect_err("negative refund");
        assert!(e.to_string().contains("wrong way"), "{e}");
        let e = Posting::topup(&wallet, cop(), i64::MIN).expect_err("overflow");
        assert!(e.to_string().contains("overflows"), "{e}");
        let e = Posting::settlement(&payable, cop(), MAX_LINE + 1).expect_err("too large");
        assert!(e.to_string().contains("beyond"), "{e}");
    }

    #[test]
    fn account_ids_parse_back_to_their_kind() {
        for a in [
            AccountId::wallet("cus_9", cop()),
            AccountId::payable("blr_9"),
            AccountId::revenue(cop()),
            AccountId::funding(cop()),
            AccountId::clearing(cop()),
        ] {
            assert_eq!(AccountId::parse(a.as_str()), Some(a.clone()));
        }
        assert_eq!(AccountId::parse("acct_wallet_"), None);
        assert_eq!(AccountId::parse("cus_1"), None);
    }

    proptest! {
        /// Every payment the fee rules can produce plans a balanced journal whose wallet line is
        /// the debit the customer is told about.
        #[test]
        fn every_fee_split_posts_balanced(
            amount in 1i64..=crate::MAX_AMOUNT,
            fixed in 0i64..=10_000,
            bps in 0i64..=crate::fee::MAX_BPS,
            customer_pays in any::<bool>(),
        ) {
            let payer = if customer_pays { FeePayer::Customer } else { FeePayer::Biller };
            let Ok(split) = (Fee { fixed, bps, payer }).split(amount) else {
                return Ok(());
            };
            let wallet = AccountId::wallet("cus_1", cop());
            let p = Posting::payment(&wallet, &AccountId::payable("blr_1"), cop(), &split)
                .expect("a fee split always balances");
            prop_assert_eq!(p.lines().iter().map(|l| i128::from(l.amount)).sum::<i128>(), 0);
            prop_assert_eq!(p.amount_on(&wallet), -split.wallet_debit);
        }
    }
}
