-- minqing warehouse on SQLite (embedded default): the tables of
-- migrations/clickhouse in SQLite's dialect, in a file of its own so the
-- warehouse writer never waits for the workflow store's. Add-only.
-- Personal data never comes here: citizens appear only as citizen_key.

CREATE TABLE tickets (
    ticket_id         TEXT PRIMARY KEY,
    short_no          TEXT NOT NULL,
    channel           TEXT NOT NULL,
    source_id         TEXT NOT NULL,
    version           INTEGER NOT NULL,
    received_at       TEXT NOT NULL,              -- RFC 3339, +08:00
    received_date     TEXT NOT NULL,              -- YYYY-MM-DD, Asia/Shanghai
    title             TEXT NOT NULL,
    content           TEXT NOT NULL,
    content_truncated INTEGER NOT NULL,
    appeal_type       TEXT NOT NULL,
    category          TEXT NOT NULL,
    town              TEXT NOT NULL,
    location          TEXT NOT NULL,
    lat               REAL,
    lon               REAL,
    citizen_key       TEXT NOT NULL,
    phone_masked      TEXT NOT NULL,
    anonymous         INTEGER NOT NULL,
    attachments       TEXT NOT NULL,              -- JSON array
    text_hash         TEXT NOT NULL,
    duplicate_of      TEXT NOT NULL,              -- '' when none
    cluster_id        TEXT NOT NULL,
    status            TEXT NOT NULL,
    loaded_at         TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE ticket_events (
    event_id       TEXT PRIMARY KEY,
    ticket_id      TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    channel        TEXT NOT NULL,
    occurred_at    TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT NOT NULL,
    loaded_at      TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE daily_tickets (
    day        TEXT NOT NULL,
    channel    TEXT NOT NULL,
    category   TEXT NOT NULL,
    town       TEXT NOT NULL,
    tickets    INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    PRIMARY KEY (day, channel, category, town)
) WITHOUT ROWID;

-- The daily aggregate, kept like ClickHouse's materialized view: on arrival.
CREATE TRIGGER daily_tickets_on_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO daily_tickets (day, channel, category, town, tickets, duplicates)
    VALUES (NEW.received_date, NEW.channel, NEW.category, NEW.town, 1, NEW.duplicate_of != '')
    ON CONFLICT (day, channel, category, town) DO UPDATE
        SET tickets = tickets + 1, duplicates = duplicates + excluded.duplicates;
END;
