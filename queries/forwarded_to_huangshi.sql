-- 转黄石12345 · Tickets forwarded to the Huangshi hotline
-- Tickets in the period that triage sent to the Huangshi 12345 hotline (bank, express, telecom matters), by the rule that decided it.
SELECT scope_rule AS rule,
       count(*) AS tickets,
       count(DISTINCT citizen_key) AS citizens
FROM ticket_facts {final}
WHERE received_date >= {from} AND received_date <= {to} AND scope = 'forward_huangshi'
GROUP BY scope_rule
ORDER BY tickets DESC, rule
