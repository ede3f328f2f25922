-- Events keyed by their ticket's arrival order, as in the workflow store.
-- The unique index on the random event_id took a random insert per event,
-- so each batch dirtied pages all over it (a 4 KiB WAL frame each): in a
-- 100,000-appeal demo the warehouse wrote twice the WAL of the workflow
-- store. (ticket_seq, event_id) appends instead; event_id is derived from
-- its ticket, so a redelivered event is still a no-op.
--
-- tickets gets an explicit `seq INTEGER PRIMARY KEY` (its old implicit
-- rowid), because VACUUM may renumber an implicit rowid and events now
-- refer to it. Its cluster index keeps only tickets that joined another
-- ticket's cluster (most tickets' cluster_id is their own random id); a
-- cluster's tickets are `(cluster_id = ? AND cluster_id <> ticket_id) OR
-- ticket_id = ?`.
-- Same columns, same names, plus seq and ticket_seq.

CREATE TABLE tickets_keyed (
    seq               INTEGER PRIMARY KEY,
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
INSERT INTO tickets_keyed
SELECT rowid, ticket_id, short_no, channel, source_id, version, received_at, received_date, title, content,
       content_truncated, appeal_type, category, town, location, lat, lon, citizen_key, phone_masked,
       anonymous, attachments, text_hash, duplicate_of, cluster_id, status, loaded_at, scope, scope_rule, unit
FROM tickets ORDER BY rowid;
-- Dropping the old table drops its trigger and index; both come back below.
DROP TABLE tickets;
ALTER TABLE tickets_keyed RENAME TO tickets;
CREATE INDEX tickets_cluster_members ON tickets (cluster_id) WHERE cluster_id <> ticket_id;
CREATE TRIGGER daily_tickets_on_insert AFTER INSERT ON tickets
BEGIN
    INSERT INTO daily_tickets (day, channel, category, town, tickets, duplicates)
    VALUES (NEW.received_date, NEW.channel, NEW.category, NEW.town, 1, NEW.duplicate_of != '')
    ON CONFLICT (day, channel, category, town) DO UPDATE
        SET tickets = tickets + 1, duplicates = duplicates + excluded.duplicates;
END;

-- ticket_seq 0: an event whose ticket never reached the warehouse (the
-- writer defers those, so none should exist; the copy keeps any anyway).
CREATE TABLE ticket_events_keyed (
    ticket_seq     INTEGER NOT NULL,
    event_id       TEXT NOT NULL,
    ticket_id      TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    channel        TEXT NOT NULL,
    occurred_at    TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT NOT NULL,
    loaded_at      TEXT NOT NULL
);
INSERT INTO ticket_events_keyed
SELECT COALESCE(t.seq, 0), e.event_id, e.ticket_id, e.event_type, e.channel, e.occurred_at, e.schema_version,
       e.payload, e.loaded_at
FROM ticket_events e LEFT JOIN tickets t ON t.ticket_id = e.ticket_id
ORDER BY e.rowid;
DROP TABLE ticket_events;
ALTER TABLE ticket_events_keyed RENAME TO ticket_events;
CREATE UNIQUE INDEX ticket_events_id ON ticket_events (ticket_seq, event_id);
