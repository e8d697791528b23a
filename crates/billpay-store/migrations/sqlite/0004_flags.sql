-- Feature flags: flag sets in flagd's JSON format, every version kept with its author and diff.
CREATE TABLE flag_sets (
    id           TEXT PRIMARY KEY,
    description  TEXT NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    definition   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE flag_set_versions (
    flag_set_id  TEXT NOT NULL REFERENCES flag_sets (id),
    version      INTEGER NOT NULL,
    definition   TEXT NOT NULL,
    diff         TEXT NOT NULL,
    summary      TEXT NOT NULL,
    author       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (flag_set_id, version)
);

-- Read-only keys for browsers, each scoped to one flag set. Only a SHA-256 of the secret is kept.
CREATE TABLE flag_client_keys (
    id           TEXT PRIMARY KEY,
    secret_hash  TEXT NOT NULL UNIQUE,
    flag_set_id  TEXT NOT NULL REFERENCES flag_sets (id),
    label        TEXT NOT NULL,
    created_at   TEXT NOT NULL
);

-- The first variant a subject was shown for a flag: the assignment that later visits keep.
CREATE TABLE flag_exposures (
    id           TEXT PRIMARY KEY,
    flag_set_id  TEXT NOT NULL REFERENCES flag_sets (id),
    flag_key     TEXT NOT NULL,
    subject      TEXT NOT NULL,
    variant      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (flag_set_id, flag_key, subject)
);

-- Who changed what, for every administrative change.
CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX audit_events_by_subject ON audit_events (subject, id);
CREATE INDEX payments_by_time ON payments (created_at);

-- Payment attempts the rules refused (no money moved), so that success rates can be reported.
CREATE TABLE payment_declines (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL,
    biller_id    TEXT,
    code         TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX payment_declines_by_time ON payment_declines (created_at);
