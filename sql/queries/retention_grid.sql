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
-- rate_on, rate_on_or_after.  Re-delivered events are harmless (a set of periods per customer).
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
        SELECT
            customer_id,
            groupUniqArray(toUInt32(intDiv(toInt64(occurred_at) - toInt64(opened_at),
                                           86400 * {period_days:UInt16}))) AS periods
        FROM events
        WHERE ((event_type = 'login' AND success = 1)
               OR (event_type = 'transaction' AND customer_initiated = 1))
          AND opened_at > toDateTime(0, 'UTC') AND occurred_at >= opened_at
          AND occurred_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
          AND toDate(opened_at) >= {from_date:Date} AND toDate(opened_at) <= {to_date:Date}
        GROUP BY customer_id
    ) AS a USING (customer_id)
    WHERE tenure_days >= 0
)
GROUP BY cohort, period
ORDER BY cohort, period
