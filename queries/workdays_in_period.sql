-- 工作日 · Working days in the period
-- Working days, days off and holidays in the period, from the calendar dimension, per month: the denominator of per-working-day rates.
SELECT month,
       sum(workday) AS workdays,
       sum(1 - workday) AS days_off,
       sum(holiday != '' AND workday = 0) AS holidays
FROM dim_calendar
WHERE day >= {from} AND day <= {to}
GROUP BY month
ORDER BY month
