//! Posting journals, and the admin's read-only view of the ledger.

use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use billpay_core::id::{self, Kind};

use crate::models::{Account, Entry, Journal};
use crate::rows::RowExt;
use crate::{Page, Result, Store, StoreError};

/// One line of a journal: a signed amount on an account.
pub(crate) struct Line<'a> {
    pub account: &'a str,
    pub amount: i64,
}

/// The id of the platform's revenue account in `currency`.
pub(crate) fn revenue_account(currency: &str) -> String {
    format!("acct_revenue_{}", currency.to_ascii_lowercase())
}

/// The id of the account that stands for money arriving from outside BillPay in `currency`.
pub(crate) fn funding_account(currency: &str) -> String {
    format!("acct_funding_{}", currency.to_ascii_lowercase())
}

pub(crate) async fn ensure_account(
    conn: &mut AnyConnection,
    id: &str,
    kind: &str,
    owner: &str,
    currency: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO accounts (id, kind, owner_id, currency, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(kind)
    .bind(owner)
    .bind(currency)
    .bind(billpay_core::time::now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The journal digest: SHA-256 over its kind and every entry, in line order. `ledger verify`
/// recomputes it, so an entry changed behind the triggers' back is caught.
pub fn digest(kind: &str, entries: &[(i64, String, String, i64)]) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    for (line, account, currency, amount) in entries {
        h.update(format!("\n{line}|{account}|{currency}|{amount}").as_bytes());
    }
    hex::encode(h.finalize())
}

/// Writes one balanced journal. Lines with a zero amount are left out.
pub(crate) async fn post(
    conn: &mut AnyConnection,
    kind: &str,
    memo: &str,
    currency: &str,
    lines: &[Line<'_>],
    now: &str,
) -> Result<String> {
    let lines: Vec<&Line> = lines.iter().filter(|l| l.amount != 0).collect();
    let sum: i128 = lines.iter().map(|l| i128::from(l.amount)).sum();
    if sum != 0 || lines.len() < 2 {
        // A bug in a posting rule, never a client's mistake: refuse to write it.
        return Err(StoreError::Invalid(format!(
            "refusing to post an unbalanced {kind} journal"
        )));
    }
    let journal_id = id::new(Kind::Journal);
    let entries: Vec<(i64, String, String, i64)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i as i64 + 1, l.account.to_owned(), currency.to_owned(), l.amount))
        .collect();
    sqlx::query("INSERT INTO journals (id, kind, memo, digest, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&journal_id)
        .bind(kind)
        .bind(memo)
        .bind(digest(kind, &entries))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let sql = match entries.len() {
        2 => {
            "INSERT INTO entries (journal_id, line, account_id, currency, amount) VALUES ($1, $2, $3, $4, $5), ($1, $6, $7, $4, $8)"
        }
        3 => {
            "INSERT INTO entries (journal_id, line, account_id, currency, amount) VALUES ($1, $2, $3, $4, $5), ($1, $6, $7, $4, $8), ($1, $9, $10, $4, $11)"
        }
        n => {
            return Err(StoreError::Invalid(format!("journals have 2 or 3 lines, not {n}")));
        }
    };
    let mut q = sqlx::query(sql).bind(&journal_id);
    for (i, (line, account, cur, amount)) in entries.into_iter().enumerate() {
        q = q.bind(line).bind(account);
        if i == 0 {
            q = q.bind(cur);
        }
        q = q.bind(amount);
    }
    q.execute(&mut *conn).await?;
    Ok(journal_id)
}

fn account_from_row(r: &AnyRow) -> Result<Account> {
    Ok(Account {
        id: r.text("id")?,
        kind: r.text("kind")?,
        owner_id: r.text("owner_id")?,
        currency: r.text("currency")?,
        balance: r.int("balance")?,
        created_at: r.text("created_at")?,
    })
}

impl Store {
    pub async fn list_accounts(&self, kind: Option<&str>, after: Option<&str>, limit: i64) -> Result<Page<Account>> {
        const SQL: &str = "SELECT a.id, a.kind, a.owner_id, a.currency, a.created_at, \
             COALESCE((SELECT CAST(SUM(e.amount) AS BIGINT) FROM entries e WHERE e.account_id = a.id), 0) AS balance FROM accounts a \
             WHERE ($1 IS NULL OR a.kind = $1) AND ($2 IS NULL OR a.id > $2) ORDER BY a.id LIMIT $3";
        let rows = sqlx::query(SQL)
            .bind(kind)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(account_from_row).collect::<Result<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |a| &a.id))
    }

    pub async fn get_account(&self, account_id: &str) -> Result<Account> {
        const SQL: &str = "SELECT a.id, a.kind, a.owner_id, a.currency, a.created_at, \
             COALESCE((SELECT CAST(SUM(e.amount) AS BIGINT) FROM entries e WHERE e.account_id = a.id), 0) AS balance FROM accounts a \
             WHERE a.id = $1";
        let row = sqlx::query(SQL).bind(account_id).fetch_optional(&self.pool).await?;
        row.as_ref()
            .map(account_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound(Kind::Account))
    }

    pub async fn list_journals(
        &self,
        account_id: Option<&str>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Page<Journal>> {
        const SQL: &str = "SELECT j.id FROM journals j WHERE ($1 IS NULL OR EXISTS \
             (SELECT 1 FROM entries e WHERE e.journal_id = j.id AND e.account_id = $1)) \
             AND ($2 IS NULL OR j.id < $2) ORDER BY j.id DESC LIMIT $3";
        let rows = sqlx::query(SQL)
            .bind(account_id)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            items.push(self.get_journal(&r.text("id")?).await?);
        }
        Ok(Page::from_rows(items, limit, |j| &j.id))
    }

    pub async fn get_journal(&self, journal_id: &str) -> Result<Journal> {
        let row = sqlx::query("SELECT id, kind, memo, digest, created_at FROM journals WHERE id = $1")
            .bind(journal_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound(Kind::Journal))?;
        let entries =
            sqlx::query("SELECT line, account_id, currency, amount FROM entries WHERE journal_id = $1 ORDER BY line")
                .bind(journal_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|e| {
                    Ok(Entry {
                        line: e.int("line")?,
                        account_id: e.text("account_id")?,
                        currency: e.text("currency")?,
                        amount: e.int("amount")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        Ok(Journal {
            id: row.text("id")?,
            kind: row.text("kind")?,
            memo: row.text("memo")?,
            digest: row.text("digest")?,
            created_at: row.text("created_at")?,
            entries,
        })
    }
}
