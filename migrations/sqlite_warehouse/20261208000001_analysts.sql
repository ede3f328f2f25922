-- The analysts' warehouse (issue 33), in SQLite's dialect: the tables and
-- views of migrations/clickhouse/006_analysts.sql under the same names and
-- columns, so one saved query answers on both (docs/analysts.md). Times
-- in the new tables are local 'YYYY-MM-DD HH:MM:SS' text, as ClickHouse
-- prints a DateTime.

-- Ticket facts by day: the fact table itself, through a view that adds the
-- hour and prints times as ClickHouse does; the index lets a date range
-- read only its rows.
CREATE INDEX tickets_received_date ON tickets (received_date);
CREATE VIEW ticket_facts AS
SELECT ticket_id, short_no, channel, source_id, version, 0 AS is_update,
       replace(substr(received_at, 1, 19), 'T', ' ') AS received_at, received_date,
       CAST(substr(received_at, 12, 2) AS INTEGER) AS received_hour,
       CAST(julianday(received_date) - 2440587.5 AS INTEGER) AS received_day, title, content, content_truncated,
       appeal_type, category, town, location, coalesce(lat, 0) AS lat, coalesce(lon, 0) AS lon,
       lat IS NOT NULL AS has_coordinates, citizen_key, citizen_key_id, anonymous, attachments, text_hash,
       duplicate_of, cluster_id, status, scope, scope_rule, unit, loaded_at
FROM tickets;

-- One row per work-order version, keyed by its ticket's arrival order.
CREATE TABLE order_facts (
    ticket_seq            INTEGER NOT NULL,
    ticket_id             TEXT NOT NULL,
    version               INTEGER NOT NULL,
    event_type            TEXT NOT NULL,
    actor_role            TEXT NOT NULL,
    actor_unit            TEXT NOT NULL,
    occurred_at           TEXT NOT NULL,
    occurred_date         TEXT NOT NULL,
    received_date         TEXT NOT NULL,
    channel               TEXT NOT NULL,
    category              TEXT NOT NULL,
    town                  TEXT NOT NULL,
    unit                  TEXT NOT NULL,
    state                 TEXT NOT NULL,
    dispatches            INTEGER NOT NULL,
    returns               INTEGER NOT NULL,
    dispatched_at         TEXT,
    sign_due              TEXT,
    signed_at             TEXT,
    signed_on_time        INTEGER,
    reply_due             TEXT,
    replied_at            TEXT,
    replied_on_time       INTEGER,
    returned_at           TEXT,
    visited_at            TEXT,
    closed_at             TEXT,
    sign_overdue          INTEGER NOT NULL,
    reply_overdue         INTEGER NOT NULL,
    extended_workdays     INTEGER NOT NULL,
    on_account            INTEGER NOT NULL,
    visit_contacted       INTEGER,
    visit_resolved        INTEGER,
    satisfaction          TEXT NOT NULL,
    unsatisfied_visits    INTEGER NOT NULL,
    deduction_requests    INTEGER NOT NULL,
    deducted              INTEGER NOT NULL,
    confirmed_unsatisfied INTEGER NOT NULL,
    supervision           TEXT NOT NULL,
    clue_transferred      INTEGER NOT NULL,
    loaded_at             TEXT NOT NULL
);
CREATE UNIQUE INDEX order_facts_version ON order_facts (ticket_seq, version);
CREATE INDEX order_facts_received ON order_facts (received_date);

-- Every order as it stands now, kept by the trigger below.
CREATE TABLE orders AS SELECT * FROM order_facts WHERE 0;
CREATE UNIQUE INDEX orders_ticket ON orders (ticket_seq);
CREATE INDEX orders_received ON orders (received_date);

CREATE TABLE unit_daily (
    day           TEXT NOT NULL,
    unit          TEXT NOT NULL,
    dispatched    INTEGER NOT NULL DEFAULT 0,
    signed        INTEGER NOT NULL DEFAULT 0,
    signed_late   INTEGER NOT NULL DEFAULT 0,
    returned      INTEGER NOT NULL DEFAULT 0,
    replied       INTEGER NOT NULL DEFAULT 0,
    replied_late  INTEGER NOT NULL DEFAULT 0,
    visits        INTEGER NOT NULL DEFAULT 0,
    contacted     INTEGER NOT NULL DEFAULT 0,
    resolved      INTEGER NOT NULL DEFAULT 0,
    satisfied     INTEGER NOT NULL DEFAULT 0,
    basically     INTEGER NOT NULL DEFAULT 0,
    unsatisfied   INTEGER NOT NULL DEFAULT 0,
    sign_overdue  INTEGER NOT NULL DEFAULT 0,
    reply_overdue INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, unit)
) WITHOUT ROWID;

-- ClickHouse's orders_mv and unit_daily_mv: an order version that is new
-- (INSERT OR IGNORE fires nothing for a known one) replaces an older
-- current row and is counted once.
CREATE TRIGGER order_facts_on_insert AFTER INSERT ON order_facts
BEGIN
    DELETE FROM orders WHERE ticket_seq = NEW.ticket_seq AND version < NEW.version;
    INSERT OR IGNORE INTO orders SELECT * FROM order_facts WHERE rowid = NEW.rowid;
    INSERT INTO unit_daily (day, unit, dispatched, signed, signed_late, returned, replied, replied_late, visits,
                            contacted, resolved, satisfied, basically, unsatisfied, sign_overdue, reply_overdue)
    VALUES (NEW.occurred_date, CASE WHEN NEW.actor_unit != '' THEN NEW.actor_unit ELSE NEW.unit END,
            NEW.event_type = 'dispatched' AND NEW.state = 'dispatched', NEW.event_type = 'signed',
            NEW.event_type = 'signed' AND coalesce(NEW.signed_on_time, 1) = 0, NEW.event_type = 'returned',
            NEW.event_type = 'replied', NEW.event_type = 'replied' AND coalesce(NEW.replied_on_time, 1) = 0,
            NEW.event_type = 'visited', NEW.event_type = 'visited' AND coalesce(NEW.visit_contacted, 0) = 1,
            NEW.event_type = 'visited' AND coalesce(NEW.visit_resolved, 0) = 1,
            NEW.event_type = 'visited' AND NEW.satisfaction = 'satisfied',
            NEW.event_type = 'visited' AND NEW.satisfaction = 'basically_satisfied',
            NEW.event_type = 'visited' AND NEW.satisfaction = 'unsatisfied',
            NEW.event_type = 'sign_overdue', NEW.event_type = 'reply_overdue')
    ON CONFLICT (day, unit) DO UPDATE SET
        dispatched = dispatched + excluded.dispatched, signed = signed + excluded.signed,
        signed_late = signed_late + excluded.signed_late, returned = returned + excluded.returned,
        replied = replied + excluded.replied, replied_late = replied_late + excluded.replied_late,
        visits = visits + excluded.visits, contacted = contacted + excluded.contacted,
        resolved = resolved + excluded.resolved, satisfied = satisfied + excluded.satisfied,
        basically = basically + excluded.basically, unsatisfied = unsatisfied + excluded.unsatisfied,
        sign_overdue = sign_overdue + excluded.sign_overdue, reply_overdue = reply_overdue + excluded.reply_overdue;
END;

CREATE TABLE supervision_facts (
    event_id      TEXT NOT NULL UNIQUE,
    ticket_id     TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    occurred_date TEXT NOT NULL,
    level         TEXT NOT NULL,
    "trigger"     TEXT NOT NULL,
    proposed      INTEGER NOT NULL,
    loaded_at     TEXT NOT NULL
);
CREATE INDEX supervision_facts_date ON supervision_facts (occurred_date);

CREATE TABLE escalation_facts (
    event_id      TEXT NOT NULL UNIQUE,
    ticket_id     TEXT NOT NULL,
    cluster_id    TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    occurred_date TEXT NOT NULL,
    "trigger"     TEXT NOT NULL,
    citizen_key   TEXT NOT NULL,
    count         INTEGER NOT NULL,
    members       INTEGER NOT NULL,
    citizens      INTEGER NOT NULL,
    proposal      TEXT NOT NULL,
    loaded_at     TEXT NOT NULL
);
CREATE INDEX escalation_facts_date ON escalation_facts (occurred_date);

-- The daily aggregate without the channel: a view, since daily_tickets is
-- small and indexed by day already.
CREATE VIEW category_town_daily AS
SELECT day, category, town, sum(tickets) AS tickets, sum(duplicates) AS duplicates
FROM daily_tickets GROUP BY day, category, town;

CREATE TABLE dim_units (code TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, town TEXT NOT NULL);
CREATE TABLE dim_categories (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
CREATE TABLE dim_towns (name TEXT PRIMARY KEY, kind TEXT NOT NULL, code TEXT NOT NULL);
CREATE TABLE dim_channels (id TEXT PRIMARY KEY, name TEXT NOT NULL, direction TEXT NOT NULL);
CREATE TABLE dim_calendar (
    day         TEXT PRIMARY KEY,
    workday     INTEGER NOT NULL,
    provisional INTEGER NOT NULL,
    holiday     TEXT NOT NULL,
    weekday     INTEGER NOT NULL,
    week_start  TEXT NOT NULL,
    month       TEXT NOT NULL
);
