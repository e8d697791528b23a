//! `billpay ledger verify`: proves the ledger's invariants on a live database.

use crate::rows::RowExt;
use crate::{Backend, Result, Store};
use billpay_core::posting::digest;

/// One broken invariant, with enough detail for a person to find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.invariant, self.detail)
    }
}

/// Every invariant the ledger promises, each as a query that returns the rows breaking it.
pub async fn verify_ledger(store: &Store) -> Result<Vec<Violation>> {
    let pool = store.pool();
    let mut out = Vec::new();

    for r in sqlx::query("SELECT journal_id, currency, CAST(SUM(amount) AS BIGINT) AS s FROM entries GROUP BY journal_id, currency HAVING CAST(SUM(amount) AS BIGINT) <> 0")
        .fetch_all(pool)
        .await?
    {
        out.push(Violation {
            invariant: "every journal balances per currency",
            detail: format!("journal {} is off by {} {}", r.text("journal_id")?, r.int("s")?, r.text("currency")?),
        });
    }

    for r in
        sqlx::query("SELECT j.id FROM journals j WHERE (SELECT COUNT(*) FROM entries e WHERE e.journal_id = j.id) < 2")
            .fetch_all(pool)
            .await?
    {
        out.push(Violation {
            invariant: "every journal has at least two entries",
            detail: format!("journal {}", r.text("id")?),
        });
    }

    for r in sqlx::query("SELECT currency, CAST(SUM(amount) AS BIGINT) AS s FROM entries GROUP BY currency HAVING CAST(SUM(amount) AS BIGINT) <> 0").fetch_all(pool).await? {
        out.push(Violation {
            invariant: "balances per currency sum to zero",
            detail: format!("{} sums to {}", r.text("currency")?, r.int("s")?),
        });
    }

    for r in sqlx::query(
        "SELECT e.journal_id, e.line, e.account_id FROM entries e \
         WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = e.account_id)",
    )
    .fetch_all(pool)
    .await?
    {
        out.push(Violation {
            invariant: "every entry is on a known account",
            detail: format!(
                "journal {} line {} is on unknown account {}",
                r.text("journal_id")?,
                r.int("line")?,
                r.text("account_id")?
            ),
        });
    }

    // Each reference a payment makes, with what it points at.
    for r in sqlx::query(
        "SELECT p.id, \
         CASE WHEN NOT EXISTS (SELECT 1 FROM billers x WHERE x.id = p.biller_id) THEN 'biller ' || p.biller_id \
              WHEN NOT EXISTS (SELECT 1 FROM customers x WHERE x.id = p.customer_id) THEN 'customer ' || p.customer_id \
              WHEN NOT EXISTS (SELECT 1 FROM bills x WHERE x.id = p.bill_id) THEN 'bill ' || p.bill_id \
              WHEN NOT EXISTS (SELECT 1 FROM accounts x WHERE x.id = p.wallet_account) THEN 'account ' || p.wallet_account \
              ELSE 'journal ' || p.journal_id END AS missing FROM payments p \
         WHERE NOT EXISTS (SELECT 1 FROM billers x WHERE x.id = p.biller_id) \
            OR NOT EXISTS (SELECT 1 FROM customers x WHERE x.id = p.customer_id) \
            OR NOT EXISTS (SELECT 1 FROM bills x WHERE x.id = p.bill_id) \
            OR NOT EXISTS (SELECT 1 FROM accounts x WHERE x.id = p.wallet_account) \
            OR NOT EXISTS (SELECT 1 FROM journals x WHERE x.id = p.journal_id)",
    )
    .fetch_all(pool)
    .await?
    {
        out.push(Violation {
            invariant: "every payment's references exist",
            detail: format!("payment {} names unknown {}", r.text("id")?, r.text("missing")?),
        });
    }

    for r in sqlx::query(
        "SELECT e.journal_id, e.line, e.currency, a.currency AS account_currency FROM entries e \
         JOIN accounts a ON a.id = e.account_id WHERE e.currency <> a.currency",
    )
    .fetch_all(pool)
    .await?
    {
        out.push(Violation {
            invariant: "entries are in their account's currency",
            detail: format!(
                "journal {} line {} is in {} on a {} account",
                r.text("journal_id")?,
                r.int("line")?,
                r.text("currency")?,
                r.text("account_currency")?
            ),
        });
    }

    for r in sqlx::query(
        "SELECT w.account_id, w.balance, COALESCE((SELECT CAST(SUM(e.amount) AS BIGINT) FROM entries e WHERE e.account_id = w.account_id), 0) AS posted \
         FROM wallets w",
    )
    .fetch_all(pool)
    .await?
    {
        let (balance, posted) = (r.int("balance")?, r.int("posted")?);
        if balance < 0 || posted < 0 {
            out.push(Violation {
                invariant: "no wallet goes negative",
                detail: format!("wallet {} holds {balance} (entries sum to {posted})", r.text("account_id")?),
            });
        }
        if balance != posted {
            out.push(Violation {
                invariant: "a wallet's balance equals the sum of its entries",
                detail: format!("wallet {} says {balance}, its entries sum to {posted}", r.text("account_id")?),
            });
        }
    }

    for r in sqlx::query(
        "SELECT b.id, b.amount_due, b.outstanding, \
         COALESCE((SELECT CAST(SUM(p.amount) AS BIGINT) FROM payments p WHERE p.bill_id = b.id), 0) AS paid, \
         COALESCE((SELECT CAST(SUM(f.amount) AS BIGINT) FROM refunds f JOIN payments p ON p.id = f.payment_id WHERE p.bill_id = b.id), 0) AS refunded \
         FROM bills b",
    )
    .fetch_all(pool)
    .await?
    {
        let expected = r.int("amount_due")? - r.int("paid")? + r.int("refunded")?;
        let outstanding = r.int("outstanding")?;
        if expected != outstanding {
            out.push(Violation {
                invariant: "a bill's outstanding amount is due - paid + refunded",
                detail: format!("bill {} shows {outstanding}, its payments and refunds give {expected}", r.text("id")?),
            });
        }
    }

    for r in sqlx::query(
        "SELECT p.id, p.refunded, COALESCE((SELECT CAST(SUM(f.amount) AS BIGINT) FROM refunds f WHERE f.payment_id = p.id), 0) AS s FROM payments p",
    )
    .fetch_all(pool)
    .await?
    {
        if r.int("refunded")? != r.int("s")? {
            out.push(Violation {
                invariant: "a payment's refunded amount is the sum of its refunds",
                detail: format!("payment {} says {}, its refunds sum to {}", r.text("id")?, r.int("refunded")?, r.int("s")?),
            });
        }
    }

    // Entries are never changed: the triggers refuse it, and each journal's digest proves it.
    let journals = sqlx::query("SELECT id, kind, digest FROM journals")
        .fetch_all(pool)
        .await?;
    let entries =
        sqlx::query("SELECT journal_id, line, account_id, currency, amount FROM entries ORDER BY journal_id, line")
            .fetch_all(pool)
            .await?;
    let mut by_journal: std::collections::HashMap<String, Vec<(i64, String, String, i64)>> =
        std::collections::HashMap::new();
    for e in &entries {
        by_journal.entry(e.text("journal_id")?).or_default().push((
            e.int("line")?,
            e.text("account_id")?,
            e.text("currency")?,
            e.int("amount")?,
        ));
    }
    for j in &journals {
        let id = j.text("id")?;
        let lines = by_journal.remove(&id).unwrap_or_default();
        let replayed = digest(
            &j.text("kind")?,
            lines.iter().map(|(l, a, c, m)| (*l, a.as_str(), c.as_str(), *m)),
        );
        if replayed != j.text("digest")? {
            out.push(Violation {
                invariant: "entries are never changed",
                detail: format!("journal {id}'s entries no longer match its digest"),
            });
        }
    }
    for (orphan, _) in by_journal {
        out.push(Violation {
            invariant: "entries are never changed",
            detail: format!("entries point at missing journal {orphan}"),
        });
    }

    let triggers: i64 = match store.backend() {
        Backend::Postgres => sqlx::query(
            "SELECT COUNT(*) AS n FROM pg_trigger WHERE tgname IN ('entries_append_only', 'journals_append_only') AND tgenabled <> 'D'",
        ),
        Backend::Sqlite => sqlx::query(
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'trigger' AND name IN \
             ('entries_no_update', 'entries_no_delete', 'journals_no_update', 'journals_no_delete')",
        ),
    }
    .fetch_one(pool)
    .await?
    .int("n")?;
    let expected = if store.backend() == Backend::Postgres { 2 } else { 4 };
    if triggers != expected {
        out.push(Violation {
            invariant: "entries are never changed",
            detail: format!("{triggers} of the {expected} append-only triggers are in place"),
        });
    }
    Ok(out)
}
