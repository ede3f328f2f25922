-- The warehouse outbox (issue 31): events the workflow store has committed
-- and the warehouse may not have yet. A row is written in the same
-- transaction as its events (a work-order action, a sweep's page, and on
-- the in-process bus every intake batch) and removed by the relay once the
-- warehouse has committed them. So a crash between the two commits neither
-- loses the warehouse's copy nor lets the warehouse hold a decision that
-- the store does not. A row the warehouse keeps refusing (its events'
-- ticket never arrives there) is parked with the reason instead of holding
-- up the rows behind it; `minqing relay requeue` puts it back in line.
CREATE TABLE warehouse_outbox (
    id         INTEGER PRIMARY KEY,
    events     TEXT NOT NULL,      -- JSON array of ticket events, as on the bus
    parked     TEXT,               -- why the warehouse refused it; NULL while it waits
    created_at TEXT NOT NULL
);
