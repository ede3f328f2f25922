-- Triage (issue 4): scope and unit for analysis by decision and by unit.
ALTER TABLE tickets ADD COLUMN scope String DEFAULT '';
ALTER TABLE tickets ADD COLUMN scope_rule String DEFAULT '';
ALTER TABLE tickets ADD COLUMN unit String DEFAULT '';
