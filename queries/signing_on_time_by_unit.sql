-- 按时签收率 · On-time signing per unit
-- Orders each unit signed in the period, how many after the signing deadline, and the on-time rate (from unit_daily).
SELECT unit,
       sum(dispatched) AS dispatched_orders,
       sum(signed) AS signed_orders,
       sum(signed_late) AS signed_after_deadline,
       1.0 * (sum(signed) - sum(signed_late)) / nullIf(sum(signed), 0) AS on_time_rate,
       sum(sign_overdue) AS reported_overdue
FROM unit_daily
WHERE day >= {from} AND day <= {to} AND unit != ''
GROUP BY unit
HAVING sum(dispatched) + sum(signed) + sum(sign_overdue) > 0
ORDER BY signed_after_deadline DESC, reported_overdue DESC, unit
