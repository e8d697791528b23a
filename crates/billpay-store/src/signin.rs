//! Customer accounts, one-time sign-in codes, server-side sessions, and the e-mail outbox that
//! carries the codes. Codes and session tokens are random; only their SHA-256 is stored.

use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection};

use billpay_core::id::{self, Kind};

use crate::rows::RowExt;
use crate::{Result, Store, StoreError};

/// Codes an address may be sent within [`CODE_WINDOW_MINUTES`].
pub const CODES_PER_WINDOW: i64 = 5;
pub const CODE_WINDOW_MINUTES: i64 = 15;
/// Wrong guesses that burn a code.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// Why a sign-in was refused. Each is a decision about this request, never a fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInRefusal {
    #[error("the code is wrong, or no code was sent to this address")]
    CodeInvalid,
    #[error("the code has expired or was already used; ask for a new one")]
    CodeExpired,
    #[error("too many wrong codes; ask for a new one")]
    TooManyAttempts,
    #[error("too many codes were sent to this address; try again in {retry_after} seconds")]
    TooManyCodes { retry_after: u64 },
}

/// An e-mail to queue.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// An e-mail claimed for sending.
#[derive(Debug, Clone)]
pub struct QueuedEmail {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attempts: i64,
}

/// A session as the server knows it; never its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    /// Whose session it is: a customer's or a staff member's, never both.
    pub customer_id: Option<String>,
    pub staff_id: Option<String>,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub user_agent: String,
    pub ip: String,
}

/// Where a session was opened from, and how long it may live.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub user_agent: &'a str,
    pub ip: &'a str,
    /// When the session ends however busy it is (RFC 3339).
    pub expires_at: &'a str,
}

/// SHA-256 of a secret with what it belongs to, hex.
pub fn hash_with(salt: &str, secret: &str) -> String {
    hex::encode(Sha256::digest(format!("{salt}:{secret}").as_bytes()))
}

/// Equality that takes the same time wherever the inputs differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn session_from_row(r: &AnyRow) -> Result<SessionRecord> {
    Ok(SessionRecord {
        id: r.text("id")?,
        customer_id: r.opt_text("customer_id")?,
        staff_id: r.opt_text("staff_id")?,
        created_at: r.text("created_at")?,
        last_seen_at: r.text("last_seen_at")?,
        expires_at: r.text("expires_at")?,
        user_agent: r.text("user_agent")?,
        ip: r.text("ip")?,
    })
}

pub(crate) async fn queue_email(conn: &mut AnyConnection, mail: &OutgoingEmail, now: &str) -> Result<String> {
    let id = id::new(Kind::Email);
    sqlx::query(
        "INSERT INTO emails (id, to_address, subject, text_body, html_body, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6)",
    )
    .bind(&id)
    .bind(&mail.to)
    .bind(&mail.subject)
    .bind(&mail.text)
    .bind(&mail.html)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Whom a new session is for.
#[derive(Debug, Clone, Copy)]
pub enum SessionOwner<'a> {
    Customer(&'a str),
    Staff(&'a str),
}

pub(crate) async fn insert_session(
    conn: &mut AnyConnection,
    owner: SessionOwner<'_>,
    token_hash: &str,
    session: &NewSession<'_>,
    now: &str,
) -> Result<SessionRecord> {
    let (customer_id, staff_id) = match owner {
        SessionOwner::Customer(c) => (Some(c.to_owned()), None),
        SessionOwner::Staff(s) => (None, Some(s.to_owned())),
    };
    let record = SessionRecord {
        id: id::new(Kind::Session),
        customer_id,
        staff_id,
        created_at: now.to_owned(),
        last_seen_at: now.to_owned(),
        expires_at: session.expires_at.to_owned(),
        user_agent: session.user_agent.chars().take(200).collect(),
        ip: session.ip.chars().take(64).collect(),
    };
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, customer_id, staff_id, created_at, last_seen_at, expires_at, user_agent, ip) \
         VALUES ($1, $2, $3, $8, $4, $4, $5, $6, $7)",
    )
    .bind(&record.id)
    .bind(token_hash)
    .bind(&record.customer_id)
    .bind(now)
    .bind(&record.expires_at)
    .bind(&record.user_agent)
    .bind(&record.ip)
    .bind(&record.staff_id)
    .execute(&mut *conn)
    .await?;
    Ok(record)
}

impl Store {
    /// Stores a new code for `email` (its hash) and queues `mail`, which carries it, in one
    /// transaction: the code exists exactly when its e-mail is on its way. Refused when the
    /// address was sent [`CODES_PER_WINDOW`] codes in the last [`CODE_WINDOW_MINUTES`].
    pub async fn issue_sign_in_code(
        &self,
        email: &str,
        code: &str,
        expires_at: &str,
        window_start: &str,
        mail: &OutgoingEmail,
    ) -> Result<()> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        if self.backend == crate::Backend::Postgres {
            // Codes for one address are issued one at a time, so the count below is exact.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(email)
                .execute(&mut *tx)
                .await?;
        }
        let recent = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM sign_in_codes WHERE email = $1 AND created_at >= $2",
        )
        .bind(email)
        .bind(window_start)
        .fetch_one(&mut *tx)
        .await?;
        if recent.int("n")? >= CODES_PER_WINDOW {
            let oldest = recent.opt_text("oldest")?.unwrap_or_default();
            let retry_after = billpay_core::time::seconds_between(window_start, &oldest)
                .unwrap_or(60)
                .max(1);
            return Err(StoreError::SignIn(SignInRefusal::TooManyCodes {
                retry_after: u64::try_from(retry_after).unwrap_or(60),
            }));
        }
        let code_id = id::new(Kind::SignInCode);
        sqlx::query(
            "INSERT INTO sign_in_codes (id, email, code_hash, expires_at, attempts, created_at) VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(&code_id)
        .bind(email)
        .bind(hash_with(&code_id, code))
        .bind(expires_at)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
        queue_email(&mut tx, mail, &now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks `code` against the newest code sent to `email` and, when it matches, uses it up,
    /// creates the customer on a first sign-in (named `name`), and opens a session whose token
    /// hashes to `token_hash`. A wrong code counts against the code; the fifth burns it.
    pub async fn redeem_sign_in_code(
        &self,
        email: &str,
        code: &str,
        name: &str,
        token_hash: &str,
        session: &NewSession<'_>,
    ) -> Result<(SessionRecord, bool)> {
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let row = sqlx::query(crate::locking!(
            self,
            "SELECT id, code_hash, expires_at, attempts, used_at FROM sign_in_codes WHERE email = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(email)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::SignIn(SignInRefusal::CodeInvalid))?;
        let code_id = row.text("id")?;
        if row.opt_text("used_at")?.is_some() || row.text("expires_at")? <= now {
            return Err(StoreError::SignIn(SignInRefusal::CodeExpired));
        }
        if row.int("attempts")? >= MAX_CODE_ATTEMPTS {
            return Err(StoreError::SignIn(SignInRefusal::TooManyAttempts));
        }
        if !same(&hash_with(&code_id, code), &row.text("code_hash")?) {
            let attempts = row.int("attempts")? + 1;
            sqlx::query("UPDATE sign_in_codes SET attempts = $2 WHERE id = $1")
                .bind(&code_id)
                .bind(attempts)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Err(StoreError::SignIn(if attempts >= MAX_CODE_ATTEMPTS {
                SignInRefusal::TooManyAttempts
            } else {
                SignInRefusal::CodeInvalid
            }));
        }
        let used = sqlx::query("UPDATE sign_in_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL")
            .bind(&code_id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() != 1 {
            return Err(StoreError::SignIn(SignInRefusal::CodeExpired));
        }
        let existing = sqlx::query("SELECT customer_id FROM customer_logins WHERE email = $1")
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
        // A customer the back office recorded with this address, who has never signed in, is
        // the one the code proves: the address's owner now controls it.
        let recorded = match existing {
            Some(_) => None,
            None => sqlx::query(
                "SELECT id FROM customers WHERE lower(email) = $1 \
                 AND NOT EXISTS (SELECT 1 FROM customer_logins l WHERE l.customer_id = customers.id) \
                 ORDER BY created_at, id LIMIT 1",
            )
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.text("id"))
            .transpose()?,
        };
        // (customer, whether this sign-in created it, whether the address still needs binding)
        let (customer_id, created, bind) = match (existing, recorded) {
            (Some(r), _) => (r.text("customer_id")?, false, false),
            (None, Some(customer_id)) => (customer_id, false, true),
            (None, None) => {
                let customer_id = id::new(Kind::Customer);
                sqlx::query("INSERT INTO customers (id, name, email, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(&customer_id)
                    .bind(name)
                    .bind(email)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
                (customer_id, true, true)
            }
        };
        if bind {
            sqlx::query("INSERT INTO customer_logins (email, customer_id, created_at) VALUES ($1, $2, $3)")
                .bind(email)
                .bind(&customer_id)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
        }
        let record = insert_session(&mut tx, SessionOwner::Customer(&customer_id), token_hash, session, &now).await?;
        tx.commit().await?;
        Ok((record, created))
    }

    /// Opens a session for `owner`, who has proved who they are some other way than a code (a
    /// passkey, single sign-on, or the demo's one-click sign-in).
    pub async fn open_session(
        &self,
        owner: SessionOwner<'_>,
        token_hash: &str,
        session: &NewSession<'_>,
    ) -> Result<SessionRecord> {
        let mut conn = self.pool.acquire().await?;
        insert_session(&mut conn, owner, token_hash, session, &billpay_core::time::now()).await
    }

    /// The live session whose token hashes to `token_hash`: not revoked, not past its absolute
    /// expiry, and seen since `idle_cutoff` (`staff_idle_cutoff` for a staff session). Marks it seen when it was last seen before
    /// `touch_before`, so a busy session costs one write a minute, not one per request.
    pub async fn live_session(
        &self,
        token_hash: &str,
        now: &str,
        idle_cutoff: &str,
        staff_idle_cutoff: &str,
        touch_before: &str,
    ) -> Result<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT id, customer_id, staff_id, created_at, last_seen_at, expires_at, user_agent, ip FROM sessions \
             WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 \
             AND last_seen_at > CASE WHEN staff_id IS NULL THEN $3 ELSE $4 END",
        )
        .bind(token_hash)
        .bind(now)
        .bind(idle_cutoff)
        .bind(staff_idle_cutoff)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut s = session_from_row(&row)?;
        if s.last_seen_at.as_str() < touch_before {
            sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
                .bind(&s.id)
                .bind(now)
                .execute(&self.pool)
                .await?;
            s.last_seen_at = now.to_owned();
        }
        Ok(Some(s))
    }

    /// The sessions of a customer or staff member (`owner_id`) that are still open, newest first.
    pub async fn sessions_of(&self, owner_id: &str, now: &str) -> Result<Vec<SessionRecord>> {
        let rows = sqlx::query(
            "SELECT id, customer_id, staff_id, created_at, last_seen_at, expires_at, user_agent, ip FROM sessions \
             WHERE (customer_id = $1 OR staff_id = $1) AND revoked_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(owner_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(session_from_row).collect()
    }

    /// Ends one of the sessions of a customer or staff member (`owner_id`); `NotFound` when it is
    /// not theirs or already ended.
    pub async fn revoke_session(&self, owner_id: &str, session_id: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $3 WHERE id = $1 AND (customer_id = $2 OR staff_id = $2) \
             AND revoked_at IS NULL",
        )
        .bind(session_id)
        .bind(owner_id)
        .bind(billpay_core::time::now())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Kind::Session));
        }
        Ok(())
    }

    /// Ends every session of a customer or staff member (`owner_id`); returns how many were open.
    pub async fn revoke_sessions_of(&self, owner_id: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE (customer_id = $1 OR staff_id = $1) AND revoked_at IS NULL",
        )
        .bind(owner_id)
        .bind(billpay_core::time::now())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The id of the customer signed in with `email`, if any.
    pub async fn customer_by_login(&self, email: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT customer_id FROM customer_logins WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.text("customer_id")).transpose()?)
    }

    /// Claims up to `limit` e-mails due at `now` until `lease_until`. A sender that dies loses its
    /// lease and the e-mail is claimed again: at least once.
    pub async fn claim_emails(&self, now: &str, lease_until: &str, limit: i64) -> Result<Vec<QueuedEmail>> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let rows = sqlx::query(match self.backend {
            crate::Backend::Postgres => {
                "SELECT id, to_address, subject, text_body, html_body, attempts FROM emails WHERE status = 'pending' \
                 AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1) \
                 ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED"
            }
            crate::Backend::Sqlite => {
                "SELECT id, to_address, subject, text_body, html_body, attempts FROM emails WHERE status = 'pending' \
                 AND next_attempt_at <= $1 AND (locked_until IS NULL OR locked_until <= $1) \
                 ORDER BY next_attempt_at LIMIT $2"
            }
        })
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id = r.text("id")?;
            sqlx::query("UPDATE emails SET locked_until = $2, attempts = attempts + 1 WHERE id = $1")
                .bind(&id)
                .bind(lease_until)
                .execute(&mut *tx)
                .await?;
            out.push(QueuedEmail {
                id,
                to: r.text("to_address")?,
                subject: r.text("subject")?,
                text: r.text("text_body")?,
                html: r.text("html_body")?,
                attempts: r.int("attempts")? + 1,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Records an e-mail as sent.
    pub async fn email_sent(&self, id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE emails SET status = 'sent', sent_at = $2, locked_until = NULL, last_error = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(billpay_core::time::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a failed attempt: tried again at `retry_at`, or given up when it is `None`.
    pub async fn email_failed(&self, id: &str, error: &str, retry_at: Option<&str>) -> Result<()> {
        let (status, next) = match retry_at {
            Some(at) => ("pending", at.to_owned()),
            None => ("failed", billpay_core::time::now()),
        };
        sqlx::query(
            "UPDATE emails SET status = $2, next_attempt_at = $3, locked_until = NULL, last_error = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(next)
        .bind(error.chars().take(500).collect::<String>())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// E-mails to `to`, newest first, as (subject, text, status): what a support person may check.
    pub async fn emails_to(&self, to: &str) -> Result<Vec<(String, String, String)>> {
        let rows = sqlx::query(
            "SELECT subject, text_body, status FROM emails WHERE to_address = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.text("subject")?, r.text("text_body")?, r.text("status")?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn comparison_is_exact() {
        assert!(super::same("abc", "abc"));
        assert!(!super::same("abc", "abd"));
        assert!(!super::same("abc", "ab"));
    }
}
