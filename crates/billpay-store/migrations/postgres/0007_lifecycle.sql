-- The bill-pay lifecycle: scheduled payments and autopay, the transactional outbox behind
-- webhooks, and settlement with reconciliation.

ALTER TABLE journals DROP CONSTRAINT journals_kind_check;
ALTER TABLE journals ADD CONSTRAINT journals_kind_check CHECK (kind IN ('topup', 'payment', 'refund', 'settlement'));
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
    CHECK (kind IN ('customer_wallet', 'biller_payable', 'platform_revenue', 'funding_source', 'settlement_clearing'));

CREATE TABLE autopay_enrollments (
    id            TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    biller_id     TEXT NOT NULL REFERENCES billers (id),
    reference     TEXT NOT NULL,
    currency      TEXT NOT NULL,
    days_before   BIGINT NOT NULL CHECK (days_before BETWEEN 0 AND 60),
    amount_mode   TEXT NOT NULL CHECK (amount_mode IN ('full', 'fixed')),
    fixed_amount  BIGINT CHECK (fixed_amount > 0),
    max_amount    BIGINT CHECK (max_amount > 0),
    status        TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK ((amount_mode = 'fixed') = (fixed_amount IS NOT NULL))
);
CREATE UNIQUE INDEX autopay_one_active ON autopay_enrollments (customer_id, biller_id, reference) WHERE status = 'active';
CREATE INDEX autopay_by_reference ON autopay_enrollments (biller_id, reference) WHERE status = 'active';

CREATE TABLE scheduled_payments (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers (id),
    biller_id       TEXT NOT NULL REFERENCES billers (id),
    bill_id         TEXT NOT NULL REFERENCES bills (id),
    currency        TEXT NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    execute_on      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'cancelled')),
    autopay_id      TEXT REFERENCES autopay_enrollments (id),
    payment_id      TEXT,
    failure_code    TEXT,
    failure_reason  TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX scheduled_payments_due ON scheduled_payments (execute_on, id) WHERE status = 'pending';
CREATE INDEX scheduled_payments_by_customer ON scheduled_payments (customer_id, id);
CREATE UNIQUE INDEX scheduled_payments_once_per_autopay ON scheduled_payments (autopay_id, bill_id) WHERE autopay_id IS NOT NULL;

CREATE TABLE notifications (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    kind         TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    message      TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX notifications_by_customer ON notifications (customer_id, id);

-- The outbox: every event is written in the transaction of what caused it, with one delivery row
-- per endpoint that wants it. The delivery worker only ever reads committed events.
CREATE TABLE webhook_endpoints (
    id                          TEXT PRIMARY KEY,
    biller_id                   TEXT REFERENCES billers (id),
    url                         TEXT NOT NULL,
    description                 TEXT NOT NULL,
    -- ",payment.succeeded,bill.paid," or ",*,": matched with LIKE on both databases.
    event_types                 TEXT NOT NULL,
    secret                      TEXT NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  TEXT,
    status                      TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL
);

CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    biller_id   TEXT,
    payload     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX events_by_biller ON events (biller_id, id);

CREATE TABLE webhook_deliveries (
    endpoint_id      TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    locked_until     TEXT,
    last_status      BIGINT,
    last_error       TEXT,
    delivered_at     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    endpoint_id  TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    attempt      BIGINT NOT NULL,
    status_code  BIGINT,
    error        TEXT,
    duration_ms  BIGINT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, created_at);

ALTER TABLE payments ADD COLUMN settlement_batch_id TEXT;
ALTER TABLE refunds ADD COLUMN settlement_batch_id TEXT;
CREATE INDEX payments_unsettled ON payments (biller_id, created_at) WHERE settlement_batch_id IS NULL;
CREATE INDEX payments_by_batch ON payments (settlement_batch_id) WHERE settlement_batch_id IS NOT NULL;
CREATE INDEX refunds_by_batch ON refunds (settlement_batch_id) WHERE settlement_batch_id IS NOT NULL;

CREATE TABLE settlement_batches (
    id               TEXT PRIMARY KEY,
    biller_id        TEXT NOT NULL REFERENCES billers (id),
    currency         TEXT NOT NULL,
    cutoff           TEXT NOT NULL,
    payments_count   BIGINT NOT NULL,
    payments_amount  BIGINT NOT NULL,
    biller_fees      BIGINT NOT NULL,
    refunds_count    BIGINT NOT NULL,
    refunds_amount   BIGINT NOT NULL,
    net_amount       BIGINT NOT NULL CHECK (net_amount > 0),
    bank_reference   TEXT NOT NULL UNIQUE,
    journal_id       TEXT NOT NULL REFERENCES journals (id),
    created_at       TEXT NOT NULL
);
CREATE INDEX settlement_batches_by_biller ON settlement_batches (biller_id, id);

CREATE TABLE reconciliations (
    id                  TEXT PRIMARY KEY,
    batch_id            TEXT NOT NULL REFERENCES settlement_batches (id),
    source              TEXT NOT NULL,
    matched             BIGINT NOT NULL,
    exceptions          BIGINT NOT NULL,
    created_at          TEXT NOT NULL
);

CREATE TABLE reconciliation_exceptions (
    id                 TEXT PRIMARY KEY,
    reconciliation_id  TEXT NOT NULL REFERENCES reconciliations (id),
    batch_id           TEXT NOT NULL,
    biller_id          TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('amount_mismatch', 'missing_in_file', 'missing_in_billpay', 'duplicate_in_file')),
    item_id            TEXT NOT NULL,
    expected_amount    BIGINT,
    reported_amount    BIGINT,
    status             TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    note               TEXT,
    closed_by          TEXT,
    closed_at          TEXT,
    created_at         TEXT NOT NULL
);
CREATE INDEX reconciliation_exceptions_open ON reconciliation_exceptions (status, id);
