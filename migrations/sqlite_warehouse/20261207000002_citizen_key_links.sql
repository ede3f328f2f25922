-- Rotating the citizen key (issue 31, docs/security.md): while a retired
-- key is configured, each new ticket's citizen is also keyed under it, and
-- the pair lands here. A citizen's tickets from before the rotation
-- (citizen_key = previous_key) and after it (citizen_key) are then one
-- citizen to a query.
CREATE TABLE citizen_key_links (
    previous_key_id TEXT NOT NULL,
    previous_key    TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    citizen_key     TEXT NOT NULL,
    PRIMARY KEY (previous_key_id, previous_key, key_id, citizen_key)
) WITHOUT ROWID;
