-- Rotating the citizen key (issue 31, docs/security.md): while a retired
-- key is configured, each new ticket's citizen is also keyed under it, and
-- the pair lands here. A citizen's tickets from before the rotation
-- (citizen_key = previous_key) and after it (citizen_key) are then one
-- citizen to a query. Replacing, so a pair written twice is one row.
CREATE TABLE IF NOT EXISTS citizen_key_links (
    previous_key_id String,
    previous_key String,
    key_id String,
    citizen_key String,
    loaded_at DateTime
) ENGINE = ReplacingMergeTree(loaded_at) ORDER BY (previous_key_id, previous_key, key_id, citizen_key);
