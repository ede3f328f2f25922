-- 各镇街来件量 · Volume by town
-- Tickets per town (street, town, township or zone) in the period, with the number of distinct citizens; "" is a ticket the gazetteer could not place.
SELECT t.town AS town,
       count(*) AS tickets,
       count(DISTINCT t.citizen_key) AS citizens,
       1.0 * count(*) / (SELECT count(*) FROM ticket_facts {final} WHERE received_date >= {from} AND received_date <= {to}) AS share
FROM ticket_facts AS t {final}
WHERE t.received_date >= {from} AND t.received_date <= {to}
GROUP BY t.town
ORDER BY tickets DESC, town
