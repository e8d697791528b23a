-- Every admin and biller action is recorded with the request it came in on.
ALTER TABLE audit_events ADD COLUMN request_id TEXT;
CREATE INDEX audit_events_by_actor ON audit_events (actor, id);
CREATE INDEX audit_events_by_time ON audit_events (created_at);
