-- BillPay schema, PostgreSQL. Amounts are BIGINT minor units; timestamps are fixed-width
-- RFC 3339 UTC text so that both databases sort and compare them the same way.

CREATE TABLE billers (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    category            TEXT NOT NULL,
    currency            TEXT NOT NULL,
    reference_pattern   TEXT NOT NULL,
    reference_hint      TEXT NOT NULL,
    amount_rule         TEXT NOT NULL CHECK (amount_rule IN ('exact', 'partial', 'overpayment')),
    fee_fixed           BIGINT NOT NULL CHECK (fee_fixed >= 0),
    fee_bps             BIGINT NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
    fee_payer           TEXT NOT NULL CHECK (fee_payer IN ('customer', 'biller')),
    status              TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    payable_account_id  TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT,
    created_at  TEXT NOT NULL
);

-- Every account a journal can touch. Balances of billers' payables and the platform's revenue
-- are sums of entries, never a hot row that every payment would update.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('customer_wallet', 'biller_payable', 'platform_revenue', 'funding_source')),
    owner_id    TEXT NOT NULL,
    currency    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (kind, owner_id, currency)
);

-- Wallets keep a running balance so that "no wallet goes negative" is checked by the database in
-- the same transaction as the posting.
CREATE TABLE wallets (
    account_id   TEXT PRIMARY KEY REFERENCES accounts (id),
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    currency     TEXT NOT NULL,
    balance      BIGINT NOT NULL CHECK (balance >= 0),
    UNIQUE (customer_id, currency)
);

CREATE TABLE journals (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('topup', 'payment', 'refund')),
    memo        TEXT NOT NULL,
    digest      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE entries (
    journal_id  TEXT NOT NULL REFERENCES journals (id),
    line        BIGINT NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    currency    TEXT NOT NULL,
    amount      BIGINT NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (journal_id, line)
);
CREATE INDEX entries_by_account ON entries (account_id);

CREATE FUNCTION billpay_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'BillPay ledger table % is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION billpay_append_only();
CREATE TRIGGER journals_append_only BEFORE UPDATE OR DELETE ON journals
    FOR EACH ROW EXECUTE FUNCTION billpay_append_only();

CREATE TABLE bills (
    id             TEXT PRIMARY KEY,
    biller_id      TEXT NOT NULL REFERENCES billers (id),
    reference      TEXT NOT NULL,
    customer_name  TEXT NOT NULL,
    customer_id    TEXT REFERENCES customers (id),
    currency       TEXT NOT NULL,
    amount_due     BIGINT NOT NULL CHECK (amount_due > 0),
    outstanding    BIGINT NOT NULL,
    due_date       TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'partially_paid', 'paid', 'cancelled')),
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (biller_id, reference, due_date)
);
CREATE INDEX bills_by_customer ON bills (customer_id, id);

CREATE TABLE payments (
    id               TEXT PRIMARY KEY,
    confirmation     TEXT NOT NULL UNIQUE,
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    biller_id        TEXT NOT NULL REFERENCES billers (id),
    bill_id          TEXT NOT NULL REFERENCES bills (id),
    wallet_account   TEXT NOT NULL REFERENCES accounts (id),
    currency         TEXT NOT NULL,
    amount           BIGINT NOT NULL CHECK (amount > 0),
    fee              BIGINT NOT NULL CHECK (fee >= 0),
    fee_payer        TEXT NOT NULL,
    refunded         BIGINT NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
    status           TEXT NOT NULL CHECK (status IN ('succeeded', 'partially_refunded', 'refunded')),
    journal_id       TEXT NOT NULL REFERENCES journals (id),
    created_at       TEXT NOT NULL
);
CREATE INDEX payments_by_customer ON payments (customer_id, id);
CREATE INDEX payments_by_biller ON payments (biller_id, id);
CREATE INDEX payments_by_bill ON payments (bill_id);

CREATE TABLE refunds (
    id          TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    amount      BIGINT NOT NULL CHECK (amount > 0),
    reason      TEXT NOT NULL,
    journal_id  TEXT NOT NULL REFERENCES journals (id),
    created_at  TEXT NOT NULL
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'biller', 'customer')),
    biller_id    TEXT REFERENCES billers (id),
    customer_id  TEXT REFERENCES customers (id),
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

-- Stripe-style idempotency records, written in the same transaction as the effect.
CREATE TABLE idempotency_keys (
    api_key_id    TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        BIGINT NOT NULL,
    body          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (api_key_id, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
