-- People sign in as people. A customer account is a verified e-mail address bound to one
-- customer; it proves itself with a one-time code sent to that address, and gets a server-side
-- session whose token lives only in an HttpOnly cookie.

-- One verified address per customer, one customer per address (stored lower-case).
CREATE TABLE customer_logins (
    email        TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL UNIQUE REFERENCES customers (id),
    created_at   TEXT NOT NULL
);

-- One-time codes. Only a hash is kept; a code is used at most once, dies at expires_at, and
-- after five wrong guesses.
CREATE TABLE sign_in_codes (
    id          TEXT PRIMARY KEY,
    email       TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    used_at     TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX sign_in_codes_by_email ON sign_in_codes (email, created_at);

-- Server-side sessions. The cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT,
    user_agent    TEXT NOT NULL,
    ip            TEXT NOT NULL
);
CREATE INDEX sessions_by_customer ON sessions (customer_id, created_at);

-- E-mail waiting to go out, written in the transaction of whatever it announces (a code), and
-- sent by the worker over SMTP.
CREATE TABLE emails (
    id               TEXT PRIMARY KEY,
    to_address       TEXT NOT NULL,
    subject          TEXT NOT NULL,
    text_body        TEXT NOT NULL,
    html_body        TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    locked_until     TEXT,
    last_error       TEXT,
    sent_at          TEXT,
    created_at       TEXT NOT NULL
);
CREATE INDEX emails_due ON emails (status, next_attempt_at);
