-- verify_defections_by_cohort_channel: per monthly opening cohort and opening channel, the
-- defections detected before an instant whose defection instant falls inside the day-90
-- window ([opened, opened + 90 d)) and inside the first year ([opened, opened + 365 d),
-- day-90 ones included), for `journey verify`.
-- Parameter: as_of (epoch seconds, UTC). Runs on ClickHouse 18.16 and 26.x (chdb).
SELECT
    toYYYYMM(opened_at) AS cohort_month,
    opening_channel,
    countIf(window = 'day_90') AS defected_day_90,
    countIf(window IN ('day_90', 'year_1')) AS defected_year_1
FROM defections FINAL
WHERE toUInt32(detected_at) < {as_of:UInt32}
GROUP BY cohort_month, opening_channel
ORDER BY cohort_month, opening_channel
