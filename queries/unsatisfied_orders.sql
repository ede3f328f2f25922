-- 不满意工单及整改 · Unsatisfied orders and their rectification
-- Orders of tickets received in the period that had an unsatisfied return visit, where each stands now, and whether it was put right (a later visit satisfied, or closed by deduction).
SELECT ticket_id AS ticket_id,
       unit,
       category,
       town,
       unsatisfied_visits,
       state,
       satisfaction AS last_visit,
       deducted,
       (satisfaction != 'unsatisfied' AND state IN ('visited', 'closed')) AS rectified
FROM orders {final}
WHERE received_date >= {from} AND received_date <= {to} AND unsatisfied_visits > 0
ORDER BY rectified, unsatisfied_visits DESC, ticket_id
