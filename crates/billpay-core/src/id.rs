//! Prefixed, time-ordered identifiers: `pay_01jd…`, `blr_01jd…`. The prefix says what the id
//! names; the ULID underneath sorts by creation time, which is what cursor pagination relies on.

/// The kinds of thing BillPay names, with their id prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Biller,
    Bill,
    Customer,
    Account,
    Payment,
    Refund,
    Journal,
    ApiKey,
    FlagSet,
    Flag,
    FlagSetVersion,
    Audit,
    Exposure,
    Decline,
    ScheduledPayment,
    Autopay,
    Notification,
    WebhookEndpoint,
    Event,
    SettlementBatch,
    Reconciliation,
    ReconciliationException,
    SignInCode,
    Session,
    Email,
    Staff,
    Passkey,
    Complaint,
    FetchRequest,
}

impl Kind {
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Biller => "blr",
            Kind::Bill => "bill",
            Kind::Customer => "cus",
            Kind::Account => "acct",
            Kind::Payment => "pay",
            Kind::Refund => "rfd",
            Kind::Journal => "jrnl",
            Kind::ApiKey => "key",
            Kind::FlagSet => "fset",
            Kind::Flag => "flag",
            Kind::FlagSetVersion => "fver",
            Kind::Audit => "aud",
            Kind::Exposure => "exp",
            Kind::Decline => "dcl",
            Kind::ScheduledPayment => "spm",
            Kind::Autopay => "apy",
            Kind::Notification => "ntf",
            Kind::WebhookEndpoint => "we",
            Kind::Event => "evt",
            Kind::SettlementBatch => "stl",
            Kind::Reconciliation => "rec",
            Kind::ReconciliationException => "rex",
            Kind::SignInCode => "sic",
            Kind::Session => "ses",
            Kind::Email => "eml",
            Kind::Staff => "stf",
            Kind::Passkey => "pk",
            Kind::Complaint => "cmp",
            Kind::FetchRequest => "bfr",
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Kind::Biller => "biller",
            Kind::Bill => "bill",
            Kind::Customer => "customer",
            Kind::Account => "account",
            Kind::Payment => "payment",
            Kind::Refund => "refund",
            Kind::Journal => "journal",
            Kind::ApiKey => "API key",
            Kind::FlagSet => "flag set",
            Kind::Flag => "flag",
            Kind::FlagSetVersion => "flag-set version",
            Kind::Audit => "audit event",
            Kind::Exposure => "exposure",
            Kind::Decline => "declined payment",
            Kind::ScheduledPayment => "scheduled payment",
            Kind::Autopay => "autopay enrollment",
            Kind::Notification => "notification",
            Kind::WebhookEndpoint => "webhook endpoint",
            Kind::Event => "event",
            Kind::SettlementBatch => "settlement batch",
            Kind::Reconciliation => "reconciliation",
            Kind::ReconciliationException => "reconciliation exception",
            Kind::SignInCode => "sign-in code",
            Kind::Session => "session",
            Kind::Email => "e-mail",
            Kind::Staff => "staff member",
            Kind::Passkey => "passkey",
            Kind::Complaint => "complaint",
            Kind::FetchRequest => "bill-fetch request",
        }
    }
}

/// One generator per process, so that ids made in the same millisecond still sort in the order
/// they were made (cursors and "newest first" lists rely on it).
static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());

/// A new id of the given kind: prefix, underscore, lower-case ULID, increasing within a process.
pub fn new(kind: Kind) -> String {
    let ulid = GENERATOR
        .lock()
        .ok()
        .and_then(|mut g| g.generate().ok())
        .unwrap_or_else(ulid::Ulid::generate);
    format!("{}_{}", kind.prefix(), ulid.to_string().to_ascii_lowercase())
}

/// A request id for logs and the `X-Request-Id` header.
pub fn request_id() -> String {
    format!("req_{}", ulid::Ulid::generate().to_string().to_ascii_lowercase())
}

/// Whether `s` is shaped like an id of `kind`. Ids of system accounts (`acct_revenue_cop`) are
/// readable words rather than ULIDs, so the part after the prefix is any short run of
/// `[a-z0-9_]`.
pub fn is_valid(kind: Kind, s: &str) -> bool {
    let Some(rest) = s.strip_prefix(kind.prefix()).and_then(|r| r.strip_prefix('_')) else {
        return false;
    };
    !rest.is_empty()
        && rest.len() <= 64
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A confirmation number a person can read aloud over the phone: `BP-7K3M-9QXA`. The alphabet
/// leaves out letters that sound or look alike (I, L, O, U, 0, 1).
pub fn confirmation_number() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = String::from("BP-");
    for i in 0..8 {
        if i == 4 {
            out.push('-');
        }
        let idx = rand::random_range(0..ALPHABET.len());
        out.push(char::from(ALPHABET[idx]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_sort_by_time() {
        let a = new(Kind::Payment);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new(Kind::Payment);
        assert!(a.starts_with("pay_") && a.len() == 30);
        assert!(a < b);
        assert!(is_valid(Kind::Payment, &a));
        assert!(!is_valid(Kind::Biller, &a));
        assert!(!is_valid(Kind::Payment, "pay_"));
        assert!(!is_valid(Kind::Payment, "pay_ABC"));
        assert!(!is_valid(Kind::Payment, "pay_x'; drop table"));
    }

    #[test]
    fn confirmation_numbers_are_speakable() {
        let c = confirmation_number();
        assert_eq!(c.len(), 12);
        assert!(c.starts_with("BP-"));
        assert!(!c[3..].contains(['I', 'L', 'O', 'U', '0', '1']));
    }
}
