-- 督办分级 · Supervision by level
-- Supervision in the period by level: phone (电话督办, recorded), written (公函督办, proposed) and clue_transfer (线索移交 to the discipline commission, proposed), with the orders concerned.
SELECT level,
       proposed,
       count(*) AS events,
       count(DISTINCT ticket_id) AS orders
FROM supervision_facts {final}
WHERE occurred_date >= {from} AND occurred_date <= {to}
GROUP BY level, proposed
ORDER BY level, proposed
