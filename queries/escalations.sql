-- 现场督办触发 · On-site supervision triggers
-- Same-issue clusters that crossed the 现场督办 rule in the period: many citizens on one issue, or one citizen again and again.
SELECT cluster_id,
       "trigger",
       max(count) AS reports,
       max(members) AS tickets,
       max(citizens) AS people,
       min(occurred_date) AS first_day
FROM escalation_facts {final}
WHERE occurred_date >= {from} AND occurred_date <= {to}
GROUP BY cluster_id, "trigger"
ORDER BY people DESC, reports DESC, cluster_id, "trigger"
