-- Triage (issue 4): the scope decision and its reason on each ticket.
-- status now starts as the decision's: dispatched, awaiting_dispatch (the
-- centre's manual queue), answered_online, rejected, forward_pending, or
-- duplicate.
ALTER TABLE tickets ADD COLUMN scope TEXT;         -- dispatch | answered_online | forward_huangshi | rejected
ALTER TABLE tickets ADD COLUMN scope_rule TEXT;    -- forward class, reject rule or knowledge entry id
ALTER TABLE tickets ADD COLUMN scope_reason TEXT;  -- the rule and the terms it saw, or the route
ALTER TABLE tickets ADD COLUMN unit TEXT;          -- handling unit code (the centre's for the manual queue)
ALTER TABLE tickets ADD COLUMN reply TEXT;         -- the online answer or the rejection's explanation
