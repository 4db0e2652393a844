-- cohort_summary: new customers per opening month and opening channel, with how many defected
-- inside the day-90 window and inside the year-1 window (day 0-364), and how many are stalled.
-- Runs unchanged on ClickHouse 18.16 and 26.x (chdb). FINAL collapses re-delivered rows.
SELECT
    s.cohort_month AS cohort_month,
    s.opening_channel AS opening_channel,
    s.customers AS customers,
    d.defected_day_90 AS defected_day_90,
    d.defected_year_1 AS defected_year_1,
    s.stalled_now AS stalled_now
FROM
(
    SELECT
        toStartOfMonth(opened_at) AS cohort_month,
        toString(opening_channel) AS opening_channel,
        count() AS customers,
        countIf(stage = 'stalled') AS stalled_now
    FROM customer_state FINAL
    WHERE opened_at > toDateTime(0, 'UTC')
    GROUP BY cohort_month, opening_channel
) AS s
ANY LEFT JOIN
(
    SELECT
        toStartOfMonth(opened_at) AS cohort_month,
        opening_channel,
        countIf(window = 'day_90') AS defected_day_90,
        countIf(window IN ('day_90', 'year_1')) AS defected_year_1
    FROM defections FINAL
    GROUP BY cohort_month, opening_channel
) AS d
USING (cohort_month, opening_channel)
ORDER BY cohort_month, opening_channel
