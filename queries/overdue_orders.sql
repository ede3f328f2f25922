-- 超期工单 · Overdue orders
-- Orders past their signing or reply deadline on the period's last day that still owe it, whenever their ticket came (the period's first day is not used).
SELECT ticket_id AS ticket_id,
       unit,
       state,
       CASE WHEN state = 'dispatched' THEN 'sign' ELSE 'reply' END AS owes,
       CASE WHEN state = 'dispatched' THEN sign_due ELSE reply_due END AS due,
       supervision
FROM orders {final}
WHERE received_date <= {to}
  AND ((state = 'dispatched' AND sign_due < {to})
       OR (state IN ('signed', 'on_account', 'reassigned', 'confirmed_unsatisfied') AND reply_due < {to}))
ORDER BY due, unit, ticket_id
