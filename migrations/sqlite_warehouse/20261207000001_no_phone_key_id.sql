-- Personal data out of the warehouse (issue 31): the masked phone goes
-- (its first 3 and last 4 digits beside a keyed hash narrowed a mobile to
-- 10^4 numbers), and every citizen_key gets the id of the key that made
-- it, so the key can be rotated (docs/security.md).
ALTER TABLE tickets DROP COLUMN phone_masked;
ALTER TABLE tickets ADD COLUMN citizen_key_id TEXT NOT NULL DEFAULT '';
