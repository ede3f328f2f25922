-- A cluster merge moves the absorbed clusters' tickets (`UPDATE tickets SET
-- cluster_id = … WHERE cluster_id = …`); without this index each merge read
-- the whole fact table, about half of the warehouse writer's time in a
-- 100,000-appeal demo.
CREATE INDEX tickets_cluster ON tickets (cluster_id);
