-- Escalations are read whole (the leaders' list, the demo's check); without
-- an index each read scanned every event. Only `escalated` rows are indexed,
-- well under 1% of events, so ingest hardly writes to it.
CREATE INDEX ticket_events_escalated ON ticket_events (event_type) WHERE event_type = 'escalated';
