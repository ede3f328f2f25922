-- 每日来件量 · Tickets per day
-- Tickets and duplicates per day, from the daily aggregate (cheap over any range).
SELECT day,
       sum(tickets) AS received,
       sum(duplicates) AS duplicate_tickets
FROM daily_tickets
WHERE day >= {from} AND day <= {to}
GROUP BY day
ORDER BY day
