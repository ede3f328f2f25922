-- A ticket's cluster_id is its own ticket_id until it joins another
-- ticket's cluster, so the index on cluster_id held a random key for every
-- ticket: a B-tree insert at a random place per ticket. Only members of
-- another ticket's cluster are indexed now (a few percent of tickets), as
-- on SQLite; a cluster's first ticket is found by ticket_id. The merge
-- update and the cluster count ask for both halves (store/postgres.rs).
DROP INDEX IF EXISTS tickets_cluster;
CREATE INDEX tickets_cluster_members ON tickets (cluster_id) WHERE cluster_id <> ticket_id::text;
-- Escalations are read whole (the leaders' list, the demo's check); only
-- `escalated` rows are indexed, well under 1% of events.
CREATE INDEX ticket_events_escalated ON ticket_events (event_type) WHERE event_type = 'escalated';
