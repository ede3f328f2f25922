-- The analysts' warehouse (issue 33): facts ordered for time-ranged
-- questions, one row per work-order version, supervision and escalation
-- facts, dimensions from config and the aggregates reports read.
-- docs/analysts.md describes every table and column. Add-only, and runs on
-- ClickHouse 18.16 and current releases (checked on chdb's engine).

-- Ticket facts by day: `tickets` stays ordered by ticket_id (the writer
-- looks tickets up by id to stay idempotent); this copy, filled by a
-- materialized view on every insert, is ordered by (received_date,
-- ticket_id), so a date range reads only its own granules. Replacing on
-- the same key, so edits and cluster moves replace the row after FINAL.
CREATE TABLE IF NOT EXISTS ticket_facts (
    ticket_id         UUID,
    short_no          String,
    channel           String,
    source_id         String,
    version           UInt32,
    is_update         UInt8,
    received_at       DateTime('Asia/Shanghai'),
    received_date     Date,
    received_hour     UInt8,
    -- Days since 1970-01-01: a span in days is a difference of two.
    received_day      UInt32,
    title             String,
    content           String,
    content_truncated UInt8,
    appeal_type       String,
    category          String,
    town              String,
    location          String,
    lat               Float64,
    lon               Float64,
    has_coordinates   UInt8,
    citizen_key       String,
    citizen_key_id    String,
    anonymous         UInt8,
    attachments       Array(String),
    text_hash         String,
    duplicate_of      String,
    cluster_id        String,
    status            String,
    scope             String,
    scope_rule        String,
    unit              String,
    loaded_at         DateTime
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(received_date)
ORDER BY (received_date, ticket_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ticket_facts_mv TO ticket_facts AS
SELECT ticket_id, short_no, channel, source_id, version, is_update, received_at, received_date,
       toHour(received_at) AS received_hour, toUInt32(received_date) AS received_day, title, content, content_truncated, appeal_type, category, town,
       location, lat, lon, has_coordinates, citizen_key, citizen_key_id, anonymous, attachments, text_hash,
       duplicate_of, cluster_id, status, scope, scope_rule, unit, loaded_at
FROM tickets;

INSERT INTO ticket_facts
SELECT ticket_id, short_no, channel, source_id, version, is_update, received_at, received_date,
       toHour(received_at) AS received_hour, toUInt32(received_date) AS received_day, title, content, content_truncated, appeal_type, category, town,
       location, lat, lon, has_coordinates, citizen_key, citizen_key_id, anonymous, attachments, text_hash,
       duplicate_of, cluster_id, status, scope, scope_rule, unit, loaded_at
FROM tickets FINAL;

-- One row per work-order version: the order as the event that made the
-- version left it. `unit` holds the order now, `actor_unit` is the unit
-- that acted (a return leaves no unit on the order). Times are local.
CREATE TABLE IF NOT EXISTS order_facts (
    ticket_id             UUID,
    version               UInt32,
    event_type            String,
    actor_role            String,
    actor_unit            String,
    occurred_at           DateTime('Asia/Shanghai'),
    occurred_date         Date,
    received_date         Date,
    channel               String,
    category              String,
    town                  String,
    unit                  String,
    state                 String,
    dispatches            UInt32,
    returns               UInt32,
    dispatched_at         Nullable(DateTime('Asia/Shanghai')),
    sign_due              Nullable(Date),
    signed_at             Nullable(DateTime('Asia/Shanghai')),
    signed_on_time        Nullable(UInt8),
    reply_due             Nullable(Date),
    replied_at            Nullable(DateTime('Asia/Shanghai')),
    replied_on_time       Nullable(UInt8),
    returned_at           Nullable(DateTime('Asia/Shanghai')),
    visited_at            Nullable(DateTime('Asia/Shanghai')),
    closed_at             Nullable(DateTime('Asia/Shanghai')),
    sign_overdue          UInt8,
    reply_overdue         UInt8,
    extended_workdays     UInt32,
    on_account            UInt8,
    visit_contacted       Nullable(UInt8),
    visit_resolved        Nullable(UInt8),
    satisfaction          String,
    unsatisfied_visits    UInt32,
    deduction_requests    UInt32,
    deducted              UInt8,
    confirmed_unsatisfied UInt32,
    supervision           String,
    clue_transferred      UInt8,
    loaded_at             DateTime
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(received_date)
ORDER BY (received_date, ticket_id, version);

-- Every order as it stands now: the latest version wins after FINAL.
CREATE TABLE IF NOT EXISTS orders AS order_facts
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(received_date)
ORDER BY (received_date, ticket_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS orders_mv TO orders AS SELECT * FROM order_facts;

-- What each unit did each day, counted from the order versions as they
-- arrive (the writer leaves out versions it holds already).
CREATE TABLE IF NOT EXISTS unit_daily (
    day           Date,
    unit          String,
    dispatched    UInt64,
    signed        UInt64,
    signed_late   UInt64,
    returned      UInt64,
    replied       UInt64,
    replied_late  UInt64,
    visits        UInt64,
    contacted     UInt64,
    resolved      UInt64,
    satisfied     UInt64,
    basically     UInt64,
    unsatisfied   UInt64,
    sign_overdue  UInt64,
    reply_overdue UInt64
) ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (day, unit);

CREATE MATERIALIZED VIEW IF NOT EXISTS unit_daily_mv TO unit_daily AS
SELECT
    occurred_date AS day,
    if(actor_unit != '', actor_unit, unit) AS unit,
    toUInt64(sum(event_type = 'dispatched' AND state = 'dispatched')) AS dispatched,
    toUInt64(sum(event_type = 'signed')) AS signed,
    toUInt64(sum(event_type = 'signed' AND coalesce(signed_on_time, 1) = 0)) AS signed_late,
    toUInt64(sum(event_type = 'returned')) AS returned,
    toUInt64(sum(event_type = 'replied')) AS replied,
    toUInt64(sum(event_type = 'replied' AND coalesce(replied_on_time, 1) = 0)) AS replied_late,
    toUInt64(sum(event_type = 'visited')) AS visits,
    toUInt64(sum(event_type = 'visited' AND coalesce(visit_contacted, 0) = 1)) AS contacted,
    toUInt64(sum(event_type = 'visited' AND coalesce(visit_resolved, 0) = 1)) AS resolved,
    toUInt64(sum(event_type = 'visited' AND satisfaction = 'satisfied')) AS satisfied,
    toUInt64(sum(event_type = 'visited' AND satisfaction = 'basically_satisfied')) AS basically,
    toUInt64(sum(event_type = 'visited' AND satisfaction = 'unsatisfied')) AS unsatisfied,
    toUInt64(sum(event_type = 'sign_overdue')) AS sign_overdue,
    toUInt64(sum(event_type = 'reply_overdue')) AS reply_overdue
FROM order_facts
GROUP BY day, unit;

-- Supervision (电话督办 recorded, 公函督办 and 线索移交 proposed) and the
-- 现场督办 escalations of same-issue clusters, one row per event.
CREATE TABLE IF NOT EXISTS supervision_facts (
    event_id      UUID,
    ticket_id     UUID,
    occurred_at   DateTime('Asia/Shanghai'),
    occurred_date Date,
    level         String,
    trigger       String,
    proposed      UInt8,
    loaded_at     DateTime
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_date)
ORDER BY (occurred_date, event_id);

CREATE TABLE IF NOT EXISTS escalation_facts (
    event_id      UUID,
    ticket_id     UUID,
    cluster_id    String,
    occurred_at   DateTime('Asia/Shanghai'),
    occurred_date Date,
    trigger       String,
    citizen_key   String,
    count         UInt32,
    members       UInt32,
    citizens      UInt32,
    proposal      String,
    loaded_at     DateTime
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_date)
ORDER BY (occurred_date, event_id);

-- Daily tickets per category and town (every channel together), the
-- aggregate behind trends and bulletins: a view over daily_tickets, which
-- is small and ordered by day already (a second materialized view and its
-- backfill could count the rows inserted between them twice).
CREATE VIEW IF NOT EXISTS category_town_daily AS
SELECT day, category, town, sum(tickets) AS tickets, sum(duplicates) AS duplicates
FROM daily_tickets
GROUP BY day, category, town;

-- Dimensions, loaded from config when the warehouse opens (`migrate`, the
-- gateway's start): replaced whole each time.
CREATE TABLE IF NOT EXISTS dim_units (code String, name String, kind String, town String) ENGINE = MergeTree ORDER BY code;
CREATE TABLE IF NOT EXISTS dim_categories (name String, position UInt32) ENGINE = MergeTree ORDER BY name;
CREATE TABLE IF NOT EXISTS dim_towns (name String, kind String, code String) ENGINE = MergeTree ORDER BY name;
CREATE TABLE IF NOT EXISTS dim_channels (id String, name String, direction String) ENGINE = MergeTree ORDER BY id;
CREATE TABLE IF NOT EXISTS dim_calendar (
    day        Date,
    workday    UInt8,
    provisional UInt8,
    holiday    String,
    weekday    UInt8,
    week_start Date,
    month      String
) ENGINE = MergeTree ORDER BY day
