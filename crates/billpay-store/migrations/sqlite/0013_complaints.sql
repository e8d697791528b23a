-- Complaints: a customer's dispute about a payment or a bill ("paid but not credited", a
-- duplicate charge, a wrong amount), assigned to the biller with a response deadline per type,
-- escalated to BillPay's admins when the deadline passes, and resolved, perhaps with a refund
-- through the normal refund path. Every step is in `complaint_events`, the complaint's history.
CREATE TABLE complaints (
    id            TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL REFERENCES customers (id),
    biller_id     TEXT NOT NULL REFERENCES billers (id),
    bill_id       TEXT REFERENCES bills (id),
    payment_id    TEXT REFERENCES payments (id),
    type          TEXT NOT NULL CHECK (type IN ('paid_not_credited', 'duplicate_charge', 'wrong_amount',
                                                'refund_not_received', 'other')),
    description   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'assigned', 'responded', 'resolved', 'closed')),
    assignee      TEXT,
    respond_by    TEXT NOT NULL,
    escalated_at  TEXT,
    response      TEXT,
    resolution    TEXT,
    refund_id     TEXT REFERENCES refunds (id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK (bill_id IS NOT NULL OR payment_id IS NOT NULL)
);
CREATE INDEX complaints_by_biller ON complaints (biller_id, id);
CREATE INDEX complaints_by_customer ON complaints (customer_id, id);
CREATE INDEX complaints_overdue ON complaints (respond_by) WHERE status IN ('open', 'assigned') AND escalated_at IS NULL;
CREATE INDEX complaints_resolved ON complaints (updated_at) WHERE status = 'resolved';

CREATE TABLE complaint_events (
    id            TEXT PRIMARY KEY,
    complaint_id  TEXT NOT NULL REFERENCES complaints (id),
    action        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    note          TEXT,
    status        TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX complaint_events_by_complaint ON complaint_events (complaint_id, id);
