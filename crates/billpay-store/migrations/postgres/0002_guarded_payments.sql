-- Aborts the statement that calls it, undoing everything that statement wrote. A payment on
-- PostgreSQL is one guarded statement; when a guard fails, this turns "nothing matched" into
-- "nothing happened". VOLATILE so the planner never evaluates it ahead of time.
CREATE FUNCTION billpay_abort(reason TEXT) RETURNS INTEGER LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION '%', reason;
END
$$;
