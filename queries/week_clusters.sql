-- 同一问题聚类 · The period's same-issue clusters
-- Same-issue clusters with tickets in the period, by distinct citizens then tickets: the raw material of hotspots (`minqing hotspots` also joins different wordings about one place).
SELECT cluster_id,
       count(DISTINCT citizen_key) AS citizens,
       count(*) AS tickets,
       min(received_date) AS first_day,
       max(received_date) AS last_day,
       min(category) AS category,
       min(town) AS town
FROM ticket_facts {final}
WHERE received_date >= {from} AND received_date <= {to} AND cluster_id != ''
GROUP BY cluster_id
HAVING count(*) >= 2
ORDER BY citizens DESC, tickets DESC, cluster_id
LIMIT 20
