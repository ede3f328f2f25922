-- 按时办结率 · On-time completion per unit
-- Replies each unit gave in the period, how many after the reply deadline, the on-time rate, and the reply deadlines it let pass.
SELECT unit,
       sum(replied) AS replies,
       sum(replied_late) AS replied_after_deadline,
       1.0 * (sum(replied) - sum(replied_late)) / nullIf(sum(replied), 0) AS on_time_rate,
       sum(reply_overdue) AS reported_overdue,
       sum(returned) AS returns
FROM unit_daily
WHERE day >= {from} AND day <= {to} AND unit != ''
GROUP BY unit
HAVING sum(replied) + sum(reply_overdue) + sum(returned) > 0
ORDER BY replied_after_deadline DESC, reported_overdue DESC, unit
