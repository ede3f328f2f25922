-- Cluster merges (issue 5), flattened: every absorbed cluster maps to the
-- cluster it lives in now. Events can arrive out of order (intake commits
-- batches concurrently), so a ticket stored after its cluster was merged is
-- resolved through this table, and a merge rewrites what is stored.
CREATE TABLE cluster_merges (
    from_cluster TEXT PRIMARY KEY,
    into_cluster TEXT NOT NULL
);
CREATE INDEX cluster_merges_into ON cluster_merges (into_cluster);
