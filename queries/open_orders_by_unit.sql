-- 在办工单 · Open orders per unit
-- Orders of tickets received in the period that are not closed, per unit and state.
SELECT unit,
       state,
       count(*) AS orders
FROM orders {final}
WHERE received_date >= {from} AND received_date <= {to} AND state != 'closed'
GROUP BY unit, state
ORDER BY unit, state
