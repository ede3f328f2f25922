-- Triage (issue 4): scope and unit for analysis by decision and by unit.
ALTER TABLE tickets ADD COLUMN scope TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN scope_rule TEXT NOT NULL DEFAULT '';
ALTER TABLE tickets ADD COLUMN unit TEXT NOT NULL DEFAULT '';
