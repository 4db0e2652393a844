-- name: retention_grid
-- description: Retention by opening cohort, anchored at account opening: the share of each
--   cohort active in each period since opening ("on") and in that period or any later one
--   ("on or after").
-- param: cohort_grain String = 'month' | cohort by the week (Monday) or month of opening (one of: week, month)
-- param: period_days UInt16 = 30 | length of one period in days since opening (7 = weeks)
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- Active = a successful login or a customer-initiated transaction (interest, fees and other bank
-- postings are not activity; docs/rules.md).  Day d since opening is whole 24-hour days after
-- the opening instant; period p covers days [p * period_days, (p + 1) * period_days).
-- eligible = cohort customers whose tenure at as_of has reached the period's first day: a period
-- a customer has not lived yet is left out of the denominator instead of counting as lost.
-- Columns: cohort, period, period_start_day, eligible, retained_on, retained_on_or_after,
-- rate_on, rate_on_or_after.  Activity comes from the customer_activity roll-up (days since
-- opening with activity, one row per customer; sql/analytics), so as_of applies by whole day;
-- re-delivered events are harmless (a set of days per customer).
-- Portable: ClickHouse 18.16 and 26.x (no CTE, no window function, one JOIN per SELECT).
SELECT
    cohort,
    period,
    toUInt32(period * {period_days:UInt16}) AS period_start_day,
    count() AS eligible,
    toUInt64(sum(has(periods, period))) AS retained_on,
    toUInt64(sum(notEmpty(periods) AND period <= last_period)) AS retained_on_or_after,
    round(retained_on / eligible, 4) AS rate_on,
    round(retained_on_or_after / eligible, 4) AS rate_on_or_after
FROM
(
    SELECT
        cohort,
        periods,
        arrayReduce('max', periods) AS last_period,
        arrayJoin(range(toUInt32(intDiv(tenure_days, {period_days:UInt16}) + 1))) AS period
    FROM
    (
        SELECT
            cohort,
            tenure_days,
            arrayDistinct(arrayMap(d -> toUInt32(intDiv(d, {period_days:UInt16})),
                                   arrayFilter((d, t) -> d <= t, days,
                                               arrayResize([tenure_days], length(days), tenure_days)))) AS periods
        FROM
        (
            SELECT
                customer_id,
                if({cohort_grain:String} = 'week', toMonday(opened_at), toStartOfMonth(opened_at)) AS cohort,
                intDiv(toInt64(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events))))
                       - toInt64(opened_at), 86400) AS tenure_days
            FROM customer_state FINAL
            WHERE opened_at > toDateTime(0, 'UTC')
              AND toDate(opened_at) >= {from_date:Date} AND toDate(opened_at) <= {to_date:Date}
        ) AS c
        ANY LEFT JOIN
        (
            SELECT customer_id, arrayConcat(
                                    arrayMap(x -> toUInt16(log2(x)), bitmaskToArray(groupBitOrMerge(active_w0))),
                                    arrayMap(x -> toUInt16(log2(x) + 64), bitmaskToArray(groupBitOrMerge(active_w1))),
                                    arrayMap(x -> toUInt16(log2(x) + 128), bitmaskToArray(groupBitOrMerge(active_w2))),
                                    arrayMap(x -> toUInt16(log2(x) + 192), bitmaskToArray(groupBitOrMerge(active_w3))),
                                    arrayMap(x -> toUInt16(log2(x) + 256), bitmaskToArray(groupBitOrMerge(active_w4))),
                                    arrayMap(x -> toUInt16(log2(x) + 320), bitmaskToArray(groupBitOrMerge(active_w5))),
                                    arrayMap(x -> toUInt16(log2(x) + 384), bitmaskToArray(groupBitOrMerge(active_w6))),
                                    arrayMap(x -> toUInt16(log2(x) + 448), bitmaskToArray(groupBitOrMerge(active_w7)))) AS days
            FROM customer_activity
            GROUP BY customer_id
        ) AS a USING (customer_id)
        WHERE tenure_days >= 0
    ) AS j
)
GROUP BY cohort, period
ORDER BY cohort, period
