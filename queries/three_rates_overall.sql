-- 全市三率 · The three rates over every unit
-- The response, resolution and satisfaction rates of all return visits in the period (formulas as in three_rates_by_unit).
SELECT count(*) AS units,
       sum(v) AS visits,
       1.0 * sum(c) / nullIf(sum(v), 0) AS response_rate,
       1.0 * sum(r) / nullIf(sum(v), 0) AS resolution_rate,
       (sum(s) * {satisfied_weight} + sum(b) * {basically_weight}) / nullIf(sum(v), 0) AS satisfaction_rate
FROM (
    SELECT unit, sum(visits) AS v, sum(contacted) AS c, sum(resolved) AS r, sum(satisfied) AS s, sum(basically) AS b
    FROM unit_daily
    WHERE day >= {from} AND day <= {to} AND unit != ''
    GROUP BY unit
    HAVING sum(visits) > 0
) AS per_unit
