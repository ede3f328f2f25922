-- 各类别来件量 · Volume by category
-- Tickets per category in the period (duplicates included), and each category's share; "" is a ticket triage left without a category.
SELECT t.category AS category,
       count(*) AS tickets,
       sum(t.duplicate_of != '') AS duplicates,
       1.0 * count(*) / (SELECT count(*) FROM ticket_facts {final} WHERE received_date >= {from} AND received_date <= {to}) AS share
FROM ticket_facts AS t {final}
WHERE t.received_date >= {from} AND t.received_date <= {to}
GROUP BY t.category
ORDER BY tickets DESC, category
