-- API keys are for machines, and a machine's key should not live for ever or do more than it
-- needs: a key may expire, may be revoked, and may be limited to reading.
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'read_write' CHECK (scope IN ('read_write', 'read_only'));
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
ALTER TABLE api_keys ADD COLUMN revoked_at TEXT;
