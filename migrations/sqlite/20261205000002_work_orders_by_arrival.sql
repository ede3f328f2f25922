-- Work orders keyed by their ticket's arrival order (tickets.seq) instead of
-- its random ticket_id: new orders append to the table, where each batch
-- used to dirty a page per order all over the primary key's index (a 4 KiB
-- WAL frame each). An order is found by ticket_id through tickets.
-- Same columns plus ticket_seq; `body` is unchanged.
CREATE TABLE work_orders_by_arrival (
    ticket_seq  INTEGER PRIMARY KEY,
    ticket_id   TEXT NOT NULL,
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
INSERT INTO work_orders_by_arrival
SELECT t.seq, o.ticket_id, o.state, o.unit, o.sign_due, o.reply_due, o.due, o.open_due, o.provisional,
       o.version, o.body, o.updated_at
FROM work_orders o JOIN tickets t ON t.ticket_id = o.ticket_id
ORDER BY t.seq;
DROP TABLE work_orders;
ALTER TABLE work_orders_by_arrival RENAME TO work_orders;
CREATE INDEX work_orders_open_due ON work_orders (open_due) WHERE open_due IS NOT NULL;
CREATE INDEX work_orders_unit ON work_orders (unit, state);
CREATE INDEX work_orders_due ON work_orders (due) WHERE due IS NOT NULL;
CREATE INDEX work_orders_provisional ON work_orders (provisional) WHERE provisional = 1;
