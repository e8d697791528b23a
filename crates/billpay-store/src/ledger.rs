//! Writing planned journals, and the admin's read-only view of the ledger.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use billpay_core::Currency;
use billpay_core::id::{self, Kind};
use billpay_core::posting::{AccountId, PostingFault};

pub use billpay_core::posting::Posting;

use crate::models::{Account, Entry, Journal};
use crate::rows::RowExt;
use crate::{Page, Result, Store, StoreError};

impl From<PostingFault> for StoreError {
    fn from(e: PostingFault) -> Self {
        StoreError::Fault(e.to_string())
    }
}

/// A currency code read back from the database: one BillPay does not know is a fault.
pub(crate) fn stored_currency(code: &str) -> Result<Currency> {
    Currency::parse(code).map_err(|e| StoreError::Fault(format!("stored currency: {e}")))
}

pub(crate) async fn ensure_account(
    conn: &mut AnyConnection,
    account: &AccountId,
    owner: &str,
    currency: Currency,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO accounts (id, kind, owner_id, currency, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(account.as_str())
    .bind(account.kind().as_str())
    .bind(owner)
    .bind(currency.code())
    .bind(billpay_core::time::now())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The step-by-step executor of a [`Posting`]: writes its journal and entries in the caller's
/// transaction, then checks that the database took every planned line.
pub(crate) async fn post(conn: &mut AnyConnection, posting: &Posting, memo: &str, now: &str) -> Result<String> {
    let journal_id = id::new(Kind::Journal);
    let kind = posting.kind().as_str();
    sqlx::query("INSERT INTO journals (id, kind, memo, digest, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&journal_id)
        .bind(kind)
        .bind(memo)
        .bind(posting.digest())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let lines = posting.lines();
    let sql = match lines.len() {
        2 => {
            "INSERT INTO entries (journal_id, line, account_id, currency, amount) VALUES ($1, $2, $3, $4, $5), ($1, $6, $7, $4, $8)"
        }
        3 => {
            "INSERT INTO entries (journal_id, line, account_id, currency, amount) VALUES ($1, $2, $3, $4, $5), ($1, $6, $7, $4, $8), ($1, $9, $10, $4, $11)"
        }
        n => {
            return Err(StoreError::Fault(format!(
                "a {kind} journal of {n} lines has no statement"
            )));
        }
    };
    let mut q = sqlx::query(sql).bind(&journal_id);
    for (i, l) in lines.iter().enumerate() {
        q = q.bind(l.line).bind(l.account.as_str());
        if i == 0 {
            q = q.bind(posting.currency().code());
        }
        q = q.bind(l.amount);
    }
    let written = q.execute(&mut *conn).await?.rows_affected();
    if written != lines.len() as u64 {
        return Err(StoreError::Fault(format!(
            "a {kind} journal planned {} lines and the database took {written}",
            lines.len()
        )));
    }
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
             WHERE (CAST($1 AS TEXT) IS NULL OR a.kind = $1) AND (CAST($2 AS TEXT) IS NULL OR a.id > $2) ORDER BY a.id LIMIT $3";
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
        const SQL: &str = "SELECT j.id, j.kind, j.memo, j.digest, j.created_at, e.line, e.account_id, e.currency, e.amount \
             FROM (SELECT id, kind, memo, digest, created_at FROM journals j WHERE (CAST($1 AS TEXT) IS NULL OR EXISTS \
                   (SELECT 1 FROM entries e WHERE e.journal_id = j.id AND e.account_id = $1)) \
                   AND (CAST($2 AS TEXT) IS NULL OR j.id < $2) ORDER BY j.id DESC LIMIT $3) j \
             LEFT JOIN entries e ON e.journal_id = j.id ORDER BY j.id DESC, e.line";
        let rows = sqlx::query(SQL)
            .bind(account_id)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        Ok(Page::from_rows(journals_from_rows(&rows)?, limit, |j| &j.id))
    }

    pub async fn get_journal(&self, journal_id: &str) -> Result<Journal> {
        const SQL: &str = "SELECT j.id, j.kind, j.memo, j.digest, j.created_at, e.line, e.account_id, e.currency, e.amount \
             FROM journals j LEFT JOIN entries e ON e.journal_id = j.id WHERE j.id = $1 ORDER BY e.line";
        let rows = sqlx::query(SQL).bind(journal_id).fetch_all(&self.pool).await?;
        journals_from_rows(&rows)?
            .pop()
            .ok_or(StoreError::NotFound(Kind::Journal))
    }
}

/// Journals with their entries, from rows of a journal-to-entries join ordered by journal.
fn journals_from_rows(rows: &[AnyRow]) -> Result<Vec<Journal>> {
    let mut out: Vec<Journal> = Vec::new();
    for r in rows {
        let id = r.text("id")?;
        if out.last().is_none_or(|j| j.id != id) {
            out.push(Journal {
                id,
                kind: r.text("kind")?,
                memo: r.text("memo")?,
                digest: r.text("digest")?,
                created_at: r.text("created_at")?,
                entries: Vec::new(),
            });
        }
        let line: Option<i64> = r.try_get("line")?;
        if let (Some(line), Some(journal)) = (line, out.last_mut()) {
            journal.entries.push(Entry {
                line,
                account_id: r.text("account_id")?,
                currency: r.text("currency")?,
                amount: r.int("amount")?,
            });
        }
    }
    Ok(out)
}
