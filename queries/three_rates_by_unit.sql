-- 三率 · Response, resolution and satisfaction rates per unit
-- Return visits in the period per unit: 响应率 = contacted / visits, 解决率 = solved / visits, 满意率 = (满意 × w1 + 基本满意 × w2) / visits, the weights from [analysis] in config. Every recorded visit is a valid one.
SELECT unit,
       sum(visits) AS return_visits,
       1.0 * sum(contacted) / nullIf(sum(visits), 0) AS response_rate,
       1.0 * sum(resolved) / nullIf(sum(visits), 0) AS resolution_rate,
       (sum(satisfied) * {satisfied_weight} + sum(basically) * {basically_weight}) / nullIf(sum(visits), 0) AS satisfaction_rate,
       sum(satisfied) AS n_satisfied,
       sum(basically) AS n_basically_satisfied,
       sum(unsatisfied) AS n_unsatisfied
FROM unit_daily
WHERE day >= {from} AND day <= {to} AND unit != ''
GROUP BY unit
HAVING sum(visits) > 0
ORDER BY satisfaction_rate, unit
