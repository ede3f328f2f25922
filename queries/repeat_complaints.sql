-- 重复投诉 · Repeat complaints
-- The same citizen on the same issue (one same-issue cluster) two times or more in the period, all within [analysis] repeat_days (30) days of the first. The citizen appears only as the first characters of a keyed hash.
SELECT substring(citizen_key, 1, 8) AS citizen,
       cluster_id,
       count(*) AS tickets,
       min(received_date) AS first_day,
       max(received_date) AS last_day,
       min(category) AS category,
       min(town) AS town
FROM ticket_facts {final}
WHERE received_date >= {from} AND received_date <= {to} AND citizen_key != ''
GROUP BY citizen_key, cluster_id
HAVING count(*) >= 2 AND max(received_day) - min(received_day) <= {repeat_days}
ORDER BY tickets DESC, first_day, citizen, cluster_id
