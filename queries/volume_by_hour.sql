-- 分时段来件量 · Volume by hour of day
-- Tickets per hour of the day (Daye time) over the period: when the hotline needs its operators.
SELECT received_hour AS hour,
       count(*) AS tickets,
       sum(channel = 'hotline_12345') AS hotline
FROM ticket_facts {final}
WHERE received_date >= {from} AND received_date <= {to}
GROUP BY received_hour
ORDER BY hour
