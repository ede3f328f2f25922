-- The Huangshi 12345 outbox (issue 4): one row per forwarded ticket until
-- Huangshi confirms it (201, or 409 for a repeat). Rows stay as the record.
-- No foreign key: the forward queue may bring the row before the workflow
-- sink has stored its ticket; the sender joins on tickets, so such a row
-- simply waits for its ticket.
CREATE TABLE forward_outbox (
    ticket_id        UUID PRIMARY KEY,
    status           TEXT NOT NULL,     -- pending | sent | parked
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_error       TEXT,
    huangshi_no      TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX forward_outbox_due ON forward_outbox (status, next_attempt_at);
