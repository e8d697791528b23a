//! Staff members and their roles, customers' passkeys, and sign-in ceremonies in flight.
//!
//! Staff are BillPay's data: an admin (or, for the first one, the CLI) names a person by e-mail
//! and gives them a role. Their first single sign-on binds the issuer's subject to them, and from
//! then on that subject, not the e-mail, is who they are. Removing a member ends their sessions.

use sqlx::Connection;
use sqlx::any::AnyRow;

use billpay_core::id::{self, Kind};

use crate::rows::RowExt;
use crate::{Result, Role, Store, StoreError};

/// A person who works for BillPay (an admin) or for one biller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: String,
    pub email: String,
    pub name: String,
    /// `Admin`, or `Biller` with `biller_id`.
    pub role: Role,
    pub biller_id: Option<String>,
    /// The identity provider and subject bound at the first sign-in; `None` until then.
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub created_at: String,
    pub created_by: String,
}

/// A customer's passkey as they see it; the credential itself stays in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRecord {
    pub id: String,
    pub customer_id: String,
    /// The WebAuthn credential id, base64url.
    pub credential_id: String,
    pub user_handle: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// What a sign-in ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    PasskeyRegister,
    PasskeySignIn,
    Oidc,
}

impl CeremonyKind {
    fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::PasskeyRegister => "passkey_register",
            CeremonyKind::PasskeySignIn => "passkey_sign_in",
            CeremonyKind::Oidc => "oidc",
        }
    }
}

/// A ceremony taken back: whom it was for, and the state it was started with.
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub customer_id: Option<String>,
    pub binding: String,
    pub state: String,
}

fn staff_from_row(r: &AnyRow) -> Result<StaffMember> {
    let role = r.text("role")?;
    Ok(StaffMember {
        id: r.text("id")?,
        email: r.text("email")?,
        name: r.text("name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Fault(format!("staff role {role:?}")))?,
        biller_id: r.opt_text("biller_id")?,
        issuer: r.opt_text("issuer")?,
        subject: r.opt_text("subject")?,
        created_at: r.text("created_at")?,
        created_by: r.text("created_by")?,
    })
}

fn passkey_from_row(r: &AnyRow) -> Result<PasskeyRecord> {
    Ok(PasskeyRecord {
        id: r.text("id")?,
        customer_id: r.text("customer_id")?,
        credential_id: r.text("credential_id")?,
        user_handle: r.text("user_handle")?,
        name: r.text("name")?,
        created_at: r.text("created_at")?,
        last_used_at: r.opt_text("last_used_at")?,
    })
}

impl Store {
    /// Names `email` a staff member with `role` (`Admin`, or `Biller` of `biller_id`). A member
    /// removed earlier comes back with the new role and must sign in again to be bound.
    /// `Conflict` when the address already belongs to a current member.
    pub async fn add_staff(
        &self,
        email: &str,
        name: &str,
        role: Role,
        biller_id: Option<&str>,
        created_by: &str,
    ) -> Result<StaffMember> {
        match (role, biller_id) {
            (Role::Admin, None) => {}
            (Role::Biller, Some(b)) => {
                self.get_biller(b).await?;
            }
            (Role::Biller, None) => {
                return Err(StoreError::Invalid("a biller's staff member needs a biller_id".into()));
            }
            (Role::Admin, Some(_)) => return Err(StoreError::Invalid("an admin belongs to no biller".into())),
            (Role::Customer, _) => return Err(StoreError::Invalid("role must be admin or biller".into())),
        }
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let existing = sqlx::query("SELECT id, removed_at FROM staff_members WHERE email = $1")
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match existing {
            Some(r) if r.opt_text("removed_at")?.is_none() => {
                return Err(StoreError::Conflict(format!("{email} is already a staff member")));
            }
            Some(r) => {
                let id = r.text("id")?;
                sqlx::query(
                    "UPDATE staff_members SET name = $2, role = $3, biller_id = $4, issuer = NULL, subject = NULL, \
                     created_at = $5, created_by = $6, removed_at = NULL WHERE id = $1",
                )
                .bind(&id)
                .bind(name)
                .bind(role.as_str())
                .bind(biller_id)
                .bind(&now)
                .bind(created_by)
                .execute(&mut *tx)
                .await?;
                id
            }
            None => {
                let id = id::new(Kind::Staff);
                sqlx::query(
                    "INSERT INTO staff_members (id, email, name, role, biller_id, created_at, created_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&id)
                .bind(email)
                .bind(name)
                .bind(role.as_str())
                .bind(biller_id)
                .bind(&now)
                .bind(created_by)
                .execute(&mut *tx)
                .await?;
                id
            }
        };
        let row = sqlx::query(
            "SELECT id, email, name, role, biller_id, issuer, subject, created_at, created_by FROM staff_members \
             WHERE id = $1",
        )
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        staff_from_row(&row)
    }

    /// The current staff members, by e-mail.
    pub async fn list_staff(&self) -> Result<Vec<StaffMember>> {
        let rows = sqlx::query(
            "SELECT id, email, name, role, biller_id, issuer, subject, created_at, created_by FROM staff_members \
             WHERE removed_at IS NULL ORDER BY email",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(staff_from_row).collect()
    }

    /// A current staff member; `NotFound` when there is none or they were removed.
    pub async fn staff_member(&self, id: &str) -> Result<StaffMember> {
        let row = sqlx::query(
            "SELECT id, email, name, role, biller_id, issuer, subject, created_at, created_by FROM staff_members \
             WHERE id = $1 AND removed_at IS NULL",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound(Kind::Staff))?;
        staff_from_row(&row)
    }

    /// Removes a staff member and ends their sessions, in one transaction.
    pub async fn remove_staff(&self, id: &str) -> Result<StaffMember> {
        let member = self.staff_member(id).await?;
        let now = billpay_core::time::now();
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        sqlx::query("UPDATE staff_members SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL")
            .bind(id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(member)
    }

    /// The staff member a verified ID token speaks for: the one bound to (`issuer`, `subject`),
    /// or else the invited member with `email` not yet bound, who is bound now. An address
    /// counts only when the issuer says it is verified. `None` when the person is not staff.
    pub async fn staff_for_sign_in(
        &self,
        issuer: &str,
        subject: &str,
        email: Option<&str>,
    ) -> Result<Option<StaffMember>> {
        if let Some(m) = self.staff_by_subject(issuer, subject).await? {
            return Ok(Some(m));
        }
        let Some(email) = email else { return Ok(None) };
        let bind = sqlx::query(
            "UPDATE staff_members SET issuer = $2, subject = $3 \
             WHERE email = $1 AND issuer IS NULL AND removed_at IS NULL",
        )
        .bind(email)
        .bind(issuer)
        .bind(subject)
        .execute(&self.pool)
        .await?;
        if bind.rows_affected() == 0 {
            return Ok(None);
        }
        self.staff_by_subject(issuer, subject).await
    }

    /// The current staff member bound to `subject` at `issuer`.
    async fn staff_by_subject(&self, issuer: &str, subject: &str) -> Result<Option<StaffMember>> {
        let row = sqlx::query(
            "SELECT id, email, name, role, biller_id, issuer, subject, created_at, created_by FROM staff_members \
             WHERE issuer = $1 AND subject = $2 AND removed_at IS NULL",
        )
        .bind(issuer)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(staff_from_row).transpose()
    }

    /// Stores a customer's new passkey. `credential` is the library's serialised credential.
    pub async fn add_passkey(
        &self,
        customer_id: &str,
        credential_id: &str,
        user_handle: &str,
        name: &str,
        credential: &str,
    ) -> Result<PasskeyRecord> {
        let record = PasskeyRecord {
            id: id::new(Kind::Passkey),
            customer_id: customer_id.to_owned(),
            credential_id: credential_id.to_owned(),
            user_handle: user_handle.to_owned(),
            name: name.to_owned(),
            created_at: billpay_core::time::now(),
            last_used_at: None,
        };
        let done = sqlx::query(
            "INSERT INTO passkeys (id, customer_id, credential_id, user_handle, name, passkey, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (credential_id) DO NOTHING",
        )
        .bind(&record.id)
        .bind(customer_id)
        .bind(credential_id)
        .bind(user_handle)
        .bind(name)
        .bind(credential)
        .bind(&record.created_at)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("this passkey is already registered".into()));
        }
        Ok(record)
    }

    /// The customer's passkeys, oldest first, each with its serialised credential.
    pub async fn customer_passkeys(&self, customer_id: &str) -> Result<Vec<(PasskeyRecord, String)>> {
        let rows = sqlx::query(
            "SELECT id, customer_id, credential_id, user_handle, name, passkey, created_at, last_used_at FROM passkeys \
             WHERE customer_id = $1 ORDER BY created_at, id",
        )
        .bind(customer_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((passkey_from_row(r)?, r.text("passkey")?)))
            .collect()
    }

    /// The passkey with this credential id, with its serialised credential.
    pub async fn passkey_by_credential(&self, credential_id: &str) -> Result<Option<(PasskeyRecord, String)>> {
        let row = sqlx::query(
            "SELECT id, customer_id, credential_id, user_handle, name, passkey, created_at, last_used_at FROM passkeys \
             WHERE credential_id = $1",
        )
        .bind(credential_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((passkey_from_row(&r)?, r.text("passkey")?))).transpose()
    }

    /// Records a sign-in with a passkey: when, and its credential as updated (its counter).
    pub async fn passkey_used(&self, id: &str, credential: &str) -> Result<()> {
        sqlx::query("UPDATE passkeys SET passkey = $2, last_used_at = $3 WHERE id = $1")
            .bind(id)
            .bind(credential)
            .bind(billpay_core::time::now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Removes one of the customer's passkeys; `NotFound` when it is not theirs.
    pub async fn remove_passkey(&self, customer_id: &str, id: &str) -> Result<PasskeyRecord> {
        let row = sqlx::query(
            "DELETE FROM passkeys WHERE id = $1 AND customer_id = $2 \
             RETURNING id, customer_id, credential_id, user_handle, name, created_at, last_used_at",
        )
        .bind(id)
        .bind(customer_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound(Kind::Passkey))?;
        passkey_from_row(&row)
    }

    /// Starts a ceremony: stores `state` under `id` until `expires_at`, bound to `binding` (a
    /// hash of what the browser that started it holds). Expired ceremonies are cleared here.
    pub async fn begin_ceremony(
        &self,
        id: &str,
        kind: CeremonyKind,
        customer_id: Option<&str>,
        binding: &str,
        state: &str,
        expires_at: &str,
    ) -> Result<()> {
        let now = billpay_core::time::now();
        sqlx::query("DELETE FROM auth_ceremonies WHERE expires_at <= $1")
            .bind(&now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO auth_ceremonies (id, kind, customer_id, binding, state, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(customer_id)
        .bind(binding)
        .bind(state)
        .bind(expires_at)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes a ceremony back, once: it is deleted as it is read. `None` when there is no such
    /// ceremony of this kind, it was already taken, or it has expired.
    pub async fn take_ceremony(&self, id: &str, kind: CeremonyKind) -> Result<Option<Ceremony>> {
        let row = sqlx::query(
            "DELETE FROM auth_ceremonies WHERE id = $1 AND kind = $2 AND expires_at > $3 \
             RETURNING customer_id, binding, state",
        )
        .bind(id)
        .bind(kind.as_str())
        .bind(billpay_core::time::now())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Ceremony {
                customer_id: r.opt_text("customer_id")?,
                binding: r.text("binding")?,
                state: r.text("state")?,
            })
        })
        .transpose()
    }
}
