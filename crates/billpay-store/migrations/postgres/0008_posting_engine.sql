-- Aborts the statement that calls it with a BillPay SQLSTATE (class BP), undoing everything that
-- statement wrote. The payment path tells its refusals apart by that code, never by the message:
--   BP001  a guard failed: the bill or its biller changed since it was read; decide again
--   BP002  the wallet does not hold the debit
--   BP003  the entries written differ from the posting plan (a fault)
-- VOLATILE so the planner never evaluates it ahead of time.
CREATE FUNCTION billpay_fail(state TEXT, reason TEXT) RETURNS INTEGER LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = state, MESSAGE = reason;
END
$$;
