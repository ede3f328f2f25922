-- The daily aggregate is now kept by the warehouse writer, one upsert per
-- group and batch, counted from the rows each INSERT reports as new
-- (`RETURNING`): the same counts the trigger kept, without a trigger
-- program and an upsert for every fact row (about 30% of a row's insert).
DROP TRIGGER IF EXISTS daily_tickets_on_insert;
