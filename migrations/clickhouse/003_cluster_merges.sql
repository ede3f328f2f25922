-- Cluster merges (issue 5), flattened: every absorbed cluster maps to the
-- cluster it lives in now; the row with the highest version counts.
CREATE TABLE IF NOT EXISTS cluster_merges (
    from_cluster String,
    into_cluster String,
    version      UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY from_cluster;
