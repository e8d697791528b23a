-- Bill fetch: a biller may answer for its bills from its own system. BillPay asks the endpoint
-- when a customer looks up a reference it holds nothing payable for, ahead of the predicted
-- billing date for autopay, and again before autopay pays, so a bill paid elsewhere is not paid
-- twice.
ALTER TABLE billers ADD COLUMN fetch_url TEXT;
-- Signs BillPay's requests and the biller's answers (HMAC-SHA256, as webhooks are signed).
ALTER TABLE billers ADD COLUMN fetch_secret TEXT;
ALTER TABLE billers ADD COLUMN fetch_timeout_ms INTEGER NOT NULL DEFAULT 2000
    CHECK (fetch_timeout_ms BETWEEN 100 AND 10000);
ALTER TABLE billers ADD COLUMN fetch_attempts INTEGER NOT NULL DEFAULT 2 CHECK (fetch_attempts BETWEEN 1 AND 5);

-- The day the worker next asks a fetch biller for an enrolled reference's bill.
ALTER TABLE autopay_enrollments ADD COLUMN next_fetch_on TEXT;
CREATE INDEX autopay_fetch_due ON autopay_enrollments (next_fetch_on) WHERE status = 'active' AND next_fetch_on IS NOT NULL;

-- The business day a fetch biller last confirmed a scheduled payment's bill as still owed.
ALTER TABLE scheduled_payments ADD COLUMN confirmed_on TEXT;
