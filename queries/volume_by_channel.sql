-- 各渠道来件量 · Volume by channel
-- Tickets received per channel in the period, the duplicates among them, and each channel's share of all tickets.
SELECT t.channel AS channel,
       count(*) AS tickets,
       sum(t.duplicate_of != '') AS duplicates,
       1.0 * count(*) / (SELECT count(*) FROM ticket_facts {final} WHERE received_date >= {from} AND received_date <= {to}) AS share
FROM ticket_facts AS t {final}
WHERE t.received_date >= {from} AND t.received_date <= {to}
GROUP BY t.channel
ORDER BY tickets DESC, channel
