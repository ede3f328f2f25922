-- Fact and event rows in arrival order. Keyed WITHOUT ROWID by random UUIDs,
-- every insert landed on a random page of ~1 KB rows, so each batch dirtied
-- (and wrote to the WAL) about a page per row. Rowid tables append instead;
-- only the narrow unique indexes on the ids take random inserts.
-- Same columns, same names: readers see no difference.

CREATE TABLE tickets_by_arrival (
    ticket_id         TEXT NOT NULL UNIQUE,
    short_no          TEXT NOT NULL,
    channel           TEXT NOT NULL,
    source_id         TEXT NOT NULL,
    version           INTEGER NOT NULL,
    received_at       TEXT NOT NULL,
    received_date     TEXT NOT NULL,
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
    attachments       TEXT NOT NULL,
    text_hash         TEXT NOT NULL,
    duplicate_of      TEXT NOT NULL,
    cluster_id        TEXT NOT NULL,
    status            TEXT NOT NULL,
    loaded_at         TEXT NOT NULL,
    scope             TEXT NOT NULL DEFAULT '',
    scope_rule        TEXT NOT NULL DEFAULT '',
    unit              TEXT NOT NULL DEFAULT ''
);
INSERT INTO tickets_by_arrival
SELECT ticket_id, short_no, channel, source_id, version, received_at, received_date, title, content,
       content_truncated, appeal_type, category, town, location, lat, lon, citizen_key, phone_masked,
       anonymous, attachments, text_hash, duplicate_of, cluster_id, status, loaded_at, scope, scope_rule, unit
FROM tickets ORDER BY loaded_at, received_at;
-- Dropping the old table drops its trigger and index; both come back below.
DROP TABLE tickets;
ALTER TABLE tickets_by_arrival RENAME TO tickets;
CREATE INDEX tickets_cluster ON tickets (cluster_id);
CREATE TRIGGER daily_tickets_on_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO daily_tickets (day, channel, category, town, tickets, duplicates)
    VALUES (NEW.received_date, NEW.channel, NEW.category, NEW.town, 1, NEW.duplicate_of != '')
    ON CONFLICT (day, channel, category, town) DO UPDATE
        SET tickets = tickets + 1, duplicates = duplicates + excluded.duplicates;
END;

CREATE TABLE ticket_events_by_arrival (
    event_id       TEXT NOT NULL UNIQUE,
    ticket_id      TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    channel        TEXT NOT NULL,
    occurred_at    TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT NOT NULL,
    loaded_at      TEXT NOT NULL
);
INSERT INTO ticket_events_by_arrival
SELECT event_id, ticket_id, event_type, channel, occurred_at, schema_version, payload, loaded_at
FROM ticket_events ORDER BY loaded_at, occurred_at;
DROP TABLE ticket_events;
ALTER TABLE ticket_events_by_arrival RENAME TO ticket_events;
