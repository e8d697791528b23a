-- People: staff with roles, customers' passkeys, and sessions for both.

-- Staff: the people of BillPay (admins) and of each biller. Who may sign in, and with which
-- role, is BillPay's data, kept here and changed only by admins (the first one by the CLI).
-- A member is invited by e-mail; their first single sign-on binds the issuer's subject to them.
CREATE TABLE staff_members (
    id          TEXT PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('admin', 'biller')),
    biller_id   TEXT REFERENCES billers (id),
    issuer      TEXT,
    subject     TEXT,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    removed_at  TEXT,
    CHECK ((role = 'biller') = (biller_id IS NOT NULL)),
    UNIQUE (issuer, subject)
);

-- Passkeys (WebAuthn credentials) of customers. `passkey` is the credential as the WebAuthn
-- library keeps it: public key, algorithm and signature counter; never anything secret.
CREATE TABLE passkeys (
    id             TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL REFERENCES customers (id),
    credential_id  TEXT NOT NULL UNIQUE,
    user_handle    TEXT NOT NULL,
    name           TEXT NOT NULL,
    passkey        TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_used_at   TEXT
);
CREATE INDEX passkeys_by_customer ON passkeys (customer_id, created_at);

-- Sign-in ceremonies in flight: a passkey challenge, or a single sign-on round trip (its state,
-- nonce and PKCE verifier). Each is taken once, by deleting it, and dies at expires_at.
CREATE TABLE auth_ceremonies (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('passkey_register', 'passkey_sign_in', 'oidc')),
    customer_id  TEXT REFERENCES customers (id),
    binding      TEXT NOT NULL,
    state        TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX auth_ceremonies_expiry ON auth_ceremonies (expires_at);

-- A session belongs to a customer or to a staff member.
ALTER TABLE sessions ALTER COLUMN customer_id DROP NOT NULL;
ALTER TABLE sessions ADD COLUMN staff_id TEXT REFERENCES staff_members (id);
ALTER TABLE sessions ADD CONSTRAINT sessions_one_owner CHECK ((customer_id IS NULL) <> (staff_id IS NULL));
CREATE INDEX sessions_by_staff ON sessions (staff_id, created_at);
