-- minqing workflow store, SQLite (embedded default). Add-only: never edit a
-- merged migration; add a new file.

CREATE TABLE tickets (
    seq               INTEGER PRIMARY KEY,     -- arrival order; stable across VACUUM
    ticket_id         TEXT NOT NULL UNIQUE,    -- UUIDv5 of channel:source_id
    short_no          TEXT NOT NULL,           -- acceptance number told to citizens
    channel           TEXT NOT NULL,
    source_id         TEXT NOT NULL,
    version           INTEGER NOT NULL,
    received_at       TEXT NOT NULL,           -- RFC 3339, Asia/Shanghai offset
    received_ts       INTEGER NOT NULL,        -- unix seconds, for windows
    title             TEXT,
    content           TEXT NOT NULL,
    content_truncated INTEGER NOT NULL,
    appeal_type       TEXT,
    category          TEXT,
    town              TEXT,
    location          TEXT,
    lat               REAL,
    lon               REAL,
    citizen_key       TEXT,
    contact_name      TEXT,                    -- for return visits; never warehoused
    contact_phone     TEXT,                    -- for return visits; never warehoused
    phone_masked      TEXT,
    anonymous         INTEGER NOT NULL,
    attachments       TEXT NOT NULL,           -- JSON array of URLs
    text_hash         TEXT NOT NULL,
    duplicate_of      TEXT REFERENCES tickets (ticket_id),
    cluster_id        TEXT,
    status            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
    -- (channel, source_id) is unique through ticket_id, its UUIDv5.
);
-- Duplicates link only within a window of receive times, so intake loads
-- originals by time; appeals arrive roughly in time order, so this index
-- mostly appends (an index on citizen_key wrote a random page per ticket).
CREATE INDEX tickets_received ON tickets (received_ts);
-- No index on short_no: the acceptance number encodes the first 50 bits of
-- ticket_id, so a lookup by number is a range scan on the primary key.

-- Rows are appended in arrival order. The unique index is keyed by the
-- ticket's arrival order (seq) rather than its random id, so ingest appends
-- to it instead of writing a random page per event; it gives a ticket's
-- history and, since event_id is derived from the ticket, makes a
-- redelivered event a no-op.
CREATE TABLE ticket_events (
    ticket_seq     INTEGER NOT NULL REFERENCES tickets (seq),
    ticket_id      TEXT NOT NULL,
    event_id       TEXT NOT NULL,              -- deterministic: redelivery is a no-op
    event_type     TEXT NOT NULL,
    occurred_at    TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT NOT NULL,              -- JSON
    recorded_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX ticket_events_id ON ticket_events (ticket_seq, event_id);

CREATE TABLE connector_checkpoints (
    channel    TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    digest      TEXT NOT NULL UNIQUE,          -- sha256 of channel and raw bytes
    channel     TEXT NOT NULL,
    source_id   TEXT,
    reason      TEXT NOT NULL,
    raw         BLOB NOT NULL,
    received_at TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'held',  -- held | replayed
    resolved_at TEXT,
    resolution  TEXT
);
CREATE INDEX quarantine_status ON quarantine (status, channel);
