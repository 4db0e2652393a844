-- verify_customers_by_cohort_channel: new customers per monthly opening cohort and opening
-- channel (one row per customer in customer_state), opened strictly before an instant, for
-- `journey verify`. Customers whose opening was never seen (opened_at = epoch 0) are left out.
-- Parameter: as_of (epoch seconds, UTC). Runs on ClickHouse 18.16 and 26.x (chdb).
SELECT
    toYYYYMM(opened_at) AS cohort_month,
    toString(opening_channel) AS opening_channel,
    count() AS customers
FROM customer_state FINAL
WHERE opened_at > toDateTime(0, 'UTC') AND toUInt32(opened_at) < {as_of:UInt32}
GROUP BY cohort_month, opening_channel
ORDER BY cohort_month, opening_channel
