-- Work orders (issue 6): the lifecycle state of every dispatched ticket.
-- `body` is the whole order (workflow::Order as JSON); the columns beside
-- it are what queries and the SLA sweep filter on: `due` is the deadline
-- the order owes now (to sign or to reply). `open_due` holds the
-- deadline the order now owes (sign or reply) until it is reported overdue,
-- so the sweep reads an index range, never the table.
CREATE TABLE work_orders (
    ticket_id   TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    unit        TEXT,
    sign_due    TEXT,
    reply_due   TEXT,
    -- the deadline owed now (sign or reply); open_due until reported overdue
    due         TEXT,
    open_due    TEXT,
    provisional INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX work_orders_open_due ON work_orders (open_due) WHERE open_due IS NOT NULL;
CREATE INDEX work_orders_unit ON work_orders (unit, state);
CREATE INDEX work_orders_due ON work_orders (due) WHERE due IS NOT NULL;
CREATE INDEX work_orders_provisional ON work_orders (provisional) WHERE provisional = 1;

-- A retried API action with the same key returns the first answer.
CREATE TABLE idempotency_keys (
    key         TEXT PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
    status      INTEGER NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
