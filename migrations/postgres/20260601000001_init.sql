-- minqing workflow store, PostgreSQL (production). Add-only: never edit a
-- merged migration; add a new file. Same roles as migrations/sqlite.

CREATE TABLE tickets (
    seq               BIGSERIAL UNIQUE,          -- arrival order
    ticket_id         UUID PRIMARY KEY,          -- UUIDv5 of channel:source_id
    short_no          TEXT NOT NULL,             -- acceptance number told to citizens
    channel           TEXT NOT NULL,
    source_id         TEXT NOT NULL,
    version           INTEGER NOT NULL,
    received_at       TIMESTAMPTZ NOT NULL,
    received_ts       BIGINT NOT NULL,           -- unix seconds, for windows
    title             TEXT,
    content           TEXT NOT NULL,
    content_truncated BOOLEAN NOT NULL,
    appeal_type       TEXT,
    category          TEXT,
    town              TEXT,
    location          TEXT,
    lat               DOUBLE PRECISION,
    lon               DOUBLE PRECISION,
    citizen_key       TEXT,
    contact_name      TEXT,                      -- for return visits; never warehoused
    contact_phone     TEXT,                      -- for return visits; never warehoused
    phone_masked      TEXT,
    anonymous         BOOLEAN NOT NULL,
    attachments       JSONB NOT NULL,
    text_hash         TEXT NOT NULL,
    duplicate_of      UUID,
    cluster_id        TEXT,
    status            TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX tickets_received ON tickets (received_ts);
CREATE INDEX tickets_short_no ON tickets (short_no);

CREATE TABLE ticket_events (
    event_id       UUID PRIMARY KEY,             -- deterministic: redelivery is a no-op
    ticket_id      UUID NOT NULL REFERENCES tickets (ticket_id),
    event_type     TEXT NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        JSONB NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id);

CREATE TABLE connector_checkpoints (
    channel    TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE quarantine (
    id          BIGSERIAL PRIMARY KEY,
    digest      TEXT NOT NULL UNIQUE,            -- sha256 of channel and raw bytes
    channel     TEXT NOT NULL,
    source_id   TEXT,
    reason      TEXT NOT NULL,
    raw         BYTEA NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL DEFAULT 'held',    -- held | replayed
    resolved_at TIMESTAMPTZ,
    resolution  TEXT
);
CREATE INDEX quarantine_status ON quarantine (status, channel);
