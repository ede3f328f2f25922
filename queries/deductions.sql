-- 核减 · Deductions per unit
-- Orders of tickets received in the period for which the unit asked a deduction (核减), and how many the centre granted.
SELECT unit,
       count(*) AS orders,
       sum(deduction_requests) AS requests,
       sum(deducted) AS granted,
       sum(confirmed_unsatisfied > 0) AS refused
FROM orders {final}
WHERE received_date >= {from} AND received_date <= {to} AND deduction_requests > 0
GROUP BY unit
ORDER BY requests DESC, unit
