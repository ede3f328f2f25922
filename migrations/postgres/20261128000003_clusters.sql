-- Same-issue clusters (issue 5). A ticket's cluster_id is the ticket_id of
-- its cluster's first ticket; a clusters_merged event rewrites the absorbed
-- tickets' cluster_id, so this view is always current.
CREATE INDEX tickets_cluster ON tickets (cluster_id);

CREATE VIEW clusters AS
SELECT c.cluster_id,
       COALESCE(f.title, substr(f.content, 1, 40)) AS title,
       f.town AS town,
       c.first_seen, c.last_seen, c.members, c.citizens
FROM (SELECT cluster_id, MIN(received_at) AS first_seen, MAX(received_at) AS last_seen,
             COUNT(*) AS members, COUNT(DISTINCT citizen_key) AS citizens
      FROM tickets WHERE cluster_id IS NOT NULL GROUP BY cluster_id) c
LEFT JOIN tickets f ON f.ticket_id::text = c.cluster_id;
