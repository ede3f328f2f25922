-- Where a pull found the quarantined record (issue 31, item 14): when a
-- batch fails after its quarantine committed, the record comes again with
-- the same occurrence and is still counted as quarantined, not as the
-- channel's replay. NULL for pushed records and rows from before.
ALTER TABLE quarantine ADD COLUMN occurrence INTEGER;
