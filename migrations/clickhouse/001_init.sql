-- minqing warehouse, ClickHouse. Add-only; applied in file order by
-- `minqing migrate` (recorded in schema_migrations). Runs on ClickHouse
-- 18.16 (Debian) and current releases: no LowCardinality, DateTime64, TTL,
-- codecs or window functions. Personal data never comes here: citizens
-- appear only as citizen_key.

CREATE TABLE IF NOT EXISTS tickets (
    ticket_id         UUID,
    short_no          String,
    channel           String,
    source_id         String,
    version           UInt32,
    -- 0 for the row written when the ticket arrived, 1 for rewrites after
    -- an edit; the daily aggregate counts only arrivals.
    is_update         UInt8,
    received_at       DateTime('Asia/Shanghai'),
    received_date     Date,
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
    phone_masked      String,
    anonymous         UInt8,
    attachments       Array(String),
    text_hash         String,
    duplicate_of      String,
    cluster_id        String,
    status            String,
    loaded_at         DateTime
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(received_date)
ORDER BY ticket_id;

CREATE TABLE IF NOT EXISTS ticket_events (
    event_id       UUID,
    ticket_id      UUID,
    event_type     String,
    channel        String,
    occurred_at    DateTime('Asia/Shanghai'),
    schema_version UInt16,
    payload        String,
    loaded_at      DateTime
) ENGINE = MergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (ticket_id, event_id);

CREATE TABLE IF NOT EXISTS daily_tickets (
    day        Date,
    channel    String,
    category   String,
    town       String,
    tickets    UInt64,
    duplicates UInt64
) ENGINE = SummingMergeTree((tickets, duplicates))
PARTITION BY toYYYYMM(day)
ORDER BY (day, channel, category, town);

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_tickets_mv TO daily_tickets AS
SELECT
    received_date AS day,
    channel,
    category,
    town,
    count() AS tickets,
    sum(duplicate_of != '') AS duplicates
FROM tickets
WHERE is_update = 0
GROUP BY day, channel, category, town;
