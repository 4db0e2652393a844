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
-- eligible = cohort customers who have lived the whole period by as_of: a period a customer
-- has not lived (or not finished) yet is left out of the denominator instead of diluting it.
-- Columns: cohort, period, period_start_day, eligible, retained_on, retained_on_or_after,
-- rate_on, rate_on_or_after.  Activity comes from the customer_activity roll-up (sql/analytics:
-- one row per customer, bit d of eight 64-bit words = active on day d, days 0-511), so as_of
-- applies by whole day, days after 511 are not counted, and re-delivered events are harmless.
-- The customers are those with an account opening (the roll-up's opened).
-- Portable: ClickHouse 18.16 and 26.x (no CTE, no window function, one JOIN per SELECT).
SELECT
    cohort,
    period,
    toUInt32(period * {period_days:UInt16}) AS period_start_day,
    count() AS eligible,
    toUInt64(sum(on_)) AS retained_on,
    toUInt64(sum(on_or_after)) AS retained_on_or_after,
    round(retained_on / eligible, 4) AS rate_on,
    round(retained_on_or_after / eligible, 4) AS rate_on_or_after
FROM
(
    SELECT
        cohort,
        period,
        -- a bit set in [lo, hi]: active in the period; in [lo, tenure]: in it or a later one
        (toUInt8(lo <= hi) * toUInt8(lo <= 511) * bitOr(toUInt8(intDiv(lo, 64) = intDiv(greatest(least(hi, 511), 0), 64)) * toUInt8(bitAnd(bitShiftRight(arrayElement(words, intDiv(lo, 64) + 1), (lo % 64)), if(greatest((greatest(least(hi, 511), 0) % 64) - (lo % 64) + 1, 0) >= 64, toUInt64(18446744073709551615), toUInt64(bitShiftLeft(toUInt64(1), greatest((greatest(least(hi, 511), 0) % 64) - (lo % 64) + 1, 0)) - 1))) != 0), toUInt8(intDiv(lo, 64) != intDiv(greatest(least(hi, 511), 0), 64)) * bitOr(bitOr(toUInt8(bitShiftRight(arrayElement(words, intDiv(lo, 64) + 1), (lo % 64)) != 0), toUInt8(bitAnd(arrayElement(words, intDiv(greatest(least(hi, 511), 0), 64) + 1), if((greatest(least(hi, 511), 0) % 64) + 1 >= 64, toUInt64(18446744073709551615), toUInt64(bitShiftLeft(toUInt64(1), (greatest(least(hi, 511), 0) % 64) + 1) - 1))) != 0)), toUInt8(arrayExists(x -> x != 0, arraySlice(words, intDiv(lo, 64) + 2, greatest(intDiv(greatest(least(hi, 511), 0), 64) - intDiv(lo, 64) - 1, 0))))))) AS on_,
        last_day >= lo AS on_or_after
    FROM
    (
        SELECT
            cohort,
            words,
            tenure_days,
            last_day,
            arrayJoin(range(toUInt32(intDiv(tenure_days + 1, {period_days:UInt16})))) AS period,
            toInt64(period * {period_days:UInt16}) AS lo,
            toInt64(period * {period_days:UInt16} + {period_days:UInt16} - 1) AS hi
        FROM
        (
            SELECT
                cohort,
                words,
                tenure_days,
                -- the last active day up to as_of: the highest bit once later days are cleared
                arrayReduce('max', arrayMap((x, k) -> if(x = 0, toInt64(-1), 64 * k + least(toInt64(floor(log2(x))), 63) - if(bitShiftRight(x, least(toInt64(floor(log2(x))), 63)) = 0, 1, 0)), arrayMap((x, k, b) -> bitAnd(x, if(greatest(least(b, 64 * k + 63) - greatest(0, 64 * k) + 1, 0) >= 64, toUInt64(18446744073709551615), toUInt64(bitShiftLeft(toUInt64(bitShiftLeft(toUInt64(1), greatest(least(b, 64 * k + 63) - greatest(0, 64 * k) + 1, 0)) - 1), least(greatest(0, 64 * k) - 64 * k, 63))))),
                                   words, [0, 1, 2, 3, 4, 5, 6, 7], arrayResize([tenure_days], 8, tenure_days)), [0, 1, 2, 3, 4, 5, 6, 7])) AS last_day
            FROM
            (
                SELECT
                    if({cohort_grain:String} = 'week', toMonday(opened), toStartOfMonth(opened)) AS cohort,
                    intDiv(toInt64(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))) - toInt64(opened), 86400) AS tenure_days,
                    words
                FROM
                (
                    SELECT finalizeAggregation(opened) AS opened, [finalizeAggregation(active_w0), finalizeAggregation(active_w1), finalizeAggregation(active_w2), finalizeAggregation(active_w3), finalizeAggregation(active_w4), finalizeAggregation(active_w5), finalizeAggregation(active_w6), finalizeAggregation(active_w7)] AS words
                    FROM customer_activity FINAL
                ) AS r
                WHERE toDate(opened) >= {from_date:Date} AND toDate(opened) <= {to_date:Date}
                  AND opened <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
            ) AS c
            WHERE tenure_days >= 0
        ) AS per_customer
    ) AS per_period
)
GROUP BY cohort, period
ORDER BY cohort, period
