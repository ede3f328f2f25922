-- 退单与重派 · Returns and re-dispatches
-- Orders of tickets received in the period that a unit returned or that were dispatched more than once: where dispatch went wrong.
SELECT ticket_id AS ticket_id,
       category,
       town,
       returns,
       dispatches,
       unit AS unit_now,
       state
FROM orders {final}
WHERE received_date >= {from} AND received_date <= {to} AND (returns > 0 OR dispatches > 1)
ORDER BY returns DESC, dispatches DESC, ticket_id
