-- name: retention_brackets
-- description: Retention by opening cohort in day brackets since opening (day 0-30, 31-90,
--   91-365 by default): the share of each cohort active in each bracket ("on") and in that
--   bracket or later ("on or after").
-- param: cohort_grain String = 'month' | cohort by the week (Monday) or month of opening (one of: week, month)
-- param: bounds Array(UInt16) = [0, 31, 91, 366] | first day of each bracket, ascending; the last bound ends the last bracket
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- Bracket i covers days [bounds[i], bounds[i+1] - 1]; activity after the last bound is ignored.
-- Active and eligible as in retention_grid (customer_activity roll-up): a customer counts in a
-- bracket's denominator once their tenure at as_of has reached the bracket's first day.
-- Columns: cohort, bracket (e.g. '31-90'), first_day, last_day, eligible, retained_on,
-- retained_on_or_after, rate_on, rate_on_or_after.
SELECT
    cohort,
    concat(toString({bounds:Array(UInt16)}[bi]), '-',
           toString({bounds:Array(UInt16)}[bi + 1] - 1)) AS bracket,
    toUInt32({bounds:Array(UInt16)}[bi]) AS first_day,
    toUInt32({bounds:Array(UInt16)}[bi + 1] - 1) AS last_day,
    count() AS eligible,
    toUInt64(sum(has(brackets, bi))) AS retained_on,
    toUInt64(sum(notEmpty(brackets) AND bi <= last_bracket)) AS retained_on_or_after,
    round(retained_on / eligible, 4) AS rate_on,
    round(retained_on_or_after / eligible, 4) AS rate_on_or_after
FROM
(
    SELECT
        cohort,
        brackets,
        arrayReduce('max', brackets) AS last_bracket,
        arrayJoin(arrayMap(i -> i + 1, range(toUInt32(least(reached,
                  length({bounds:Array(UInt16)}) - 1))))) AS bi
    FROM
    (
        SELECT
            cohort,
            arrayCount(x -> x <= tenure_days, {bounds:Array(UInt16)}) AS reached,
            arrayDistinct(arrayFilter(b -> b > 0 AND b < length({bounds:Array(UInt16)}),
                arrayMap(d -> arrayCount(x -> x <= d, {bounds:Array(UInt16)}),
                         arrayFilter((d, t) -> d <= t, days,
                                     arrayResize([tenure_days], length(days), tenure_days))))) AS brackets,
            tenure_days
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
GROUP BY cohort, bi
ORDER BY cohort, bi
