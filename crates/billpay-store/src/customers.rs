//! Customers, their wallets, and top-ups from outside BillPay.

use sqlx::Connection;
use sqlx::any::AnyRow;

use billpay_core::id::{self, Kind};
use billpay_core::posting::{AccountId, Posting};
use billpay_core::{Currency, MAX_AMOUNT, Rejection};

use crate::idempotency::{self, Replay};
use crate::ledger::{ensure_account, post};
use crate::models::{Customer, Topup, Wallet, WalletBalance};
use crate::rows::RowExt;
use crate::{Page, Result, Store, StoreError};

/// The most a wallet may hold, in minor units. Keeps every sum of balances far from overflow.
pub const MAX_WALLET_BALANCE: i64 = 10 * MAX_AMOUNT;

fn customer_from_row(r: &AnyRow) -> Result<Customer> {
    Ok(Customer {
        id: r.text("id")?,
        name: r.text("name")?,
        email: r.opt_text("email")?,
        created_at: r.text("created_at")?,
    })
}

impl Store {
    pub async fn create_customer(
        &self,
        name: &str,
        email: Option<&str>,
        replay: Replay<'_, Customer>,
    ) -> Result<Customer> {
        self.create_customer_with_id(id::new(Kind::Customer), name, email, replay)
            .await
    }

    pub async fn create_customer_with_id(
        &self,
        customer_id: String,
        name: &str,
        email: Option<&str>,
        replay: Replay<'_, Customer>,
    ) -> Result<Customer> {
        let customer = Customer {
            id: customer_id,
            name: name.to_owned(),
            email: email.map(str::to_owned),
            created_at: billpay_core::time::now(),
        };
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("INSERT INTO customers (id, name, email, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&customer.id)
            .bind(&customer.name)
            .bind(&customer.email)
            .bind(&customer.created_at)
            .execute(&mut *tx)
            .await?;
        idempotency::record(&mut tx, replay, &customer).await?;
        tx.commit().await?;
        Ok(customer)
    }

    pub async fn get_customer(&self, customer_id: &str) -> Result<Customer> {
        let row = sqlx::query("SELECT id, name, email, created_at FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref()
            .map(customer_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound(Kind::Customer))
    }

    pub async fn list_customers(&self, after: Option<&str>, limit: i64) -> Result<Page<Customer>> {
        let rows = sqlx::query(
            "SELECT id, name, email, created_at FROM customers WHERE (CAST($1 AS TEXT) IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
        )
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.iter().map(customer_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |c| &c.id))
    }

    pub async fn wallet(&self, customer_id: &str) -> Result<Wallet> {
        self.get_customer(customer_id).await?;
        let rows =
            sqlx::query("SELECT account_id, currency, balance FROM wallets WHERE customer_id = $1 ORDER BY currency")
                .bind(customer_id)
                .fetch_all(&self.pool)
                .await?;
        let balances = rows
            .iter()
            .map(|r| {
                Ok(WalletBalance {
                    account_id: r.text("account_id")?,
                    currency: r.text("currency")?,
                    balance: r.int("balance")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Wallet {
            customer_id: customer_id.to_owned(),
            balances,
        })
    }

    /// Money in from an external funding source (a card, a bank transfer): the funding account is
    /// debited and the wallet credited, in one journal.
    pub async fn top_up(
        &self,
        customer_id: &str,
        currency: &str,
        amount: i64,
        replay: Replay<'_, Topup>,
    ) -> Result<Topup> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let exists = sqlx::query("SELECT id FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(Kind::Customer));
        }
        let code = currency;
        let currency = Currency::parse(code).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let wallet = AccountId::wallet(customer_id, currency);
        let posting = Posting::topup(&wallet, currency, amount)?;
        ensure_account(&mut tx, &wallet, customer_id, currency).await?;
        ensure_account(&mut tx, &AccountId::funding(currency), "external", currency).await?;
        sqlx::query(
            "INSERT INTO wallets (account_id, customer_id, currency, balance) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING",
        )
        .bind(wallet.as_str())
        .bind(customer_id)
        .bind(code)
        .execute(&mut *tx)
        .await?;
        let balance = sqlx::query(
            "UPDATE wallets SET balance = balance + $1 WHERE account_id = $2 AND balance <= CAST($3 AS BIGINT) - $1 RETURNING balance",
        )
        .bind(posting.amount_on(&wallet))
        .bind(wallet.as_str())
        .bind(MAX_WALLET_BALANCE)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Rejection::WalletLimitExceeded {
            max: MAX_WALLET_BALANCE,
        })?
        .int("balance")?;
        let journal_id = post(
            &mut tx,
            &posting,
            &format!("top-up of {customer_id}'s {code} wallet"),
            &now,
        )
        .await?;
        let topup = Topup {
            journal_id,
            customer_id: customer_id.to_owned(),
            account_id: wallet.as_str().to_owned(),
            currency: code.to_owned(),
            amount,
            balance,
            created_at: now,
        };
        idempotency::record(&mut tx, replay, &topup).await?;
        tx.commit().await?;
        Ok(topup)
    }
}
