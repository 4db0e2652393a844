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
-- Active as in retention_grid (customer_activity roll-up).  Unlike the grid's short periods, a
-- customer counts in a bracket's denominator once their tenure at as_of has reached the
-- bracket's first day (a 91-365 bracket would otherwise stay empty for a year), so the share
-- in a bracket still being lived grows as the cohort ages.
-- Columns: cohort, bracket (e.g. '31-90'), first_day, last_day, eligible, retained_on,
-- retained_on_or_after, rate_on, rate_on_or_after.
SELECT
    cohort,
    concat(toString({bounds:Array(UInt16)}[bi]), '-', toString({bounds:Array(UInt16)}[bi + 1] - 1)) AS bracket,
    toUInt32({bounds:Array(UInt16)}[bi]) AS first_day,
    toUInt32({bounds:Array(UInt16)}[bi + 1] - 1) AS last_day,
    count() AS eligible,
    toUInt64(sum(on_)) AS retained_on,
    toUInt64(sum(last_active >= toInt64({bounds:Array(UInt16)}[bi]))) AS retained_on_or_after,
    round(retained_on / eligible, 4) AS rate_on,
    round(retained_on_or_after / eligible, 4) AS rate_on_or_after
FROM
(
    SELECT
        cohort,
        bi,
        last_active,
        (toUInt8(lo <= hi) * toUInt8(lo <= 511) * bitOr(toUInt8(intDiv(lo, 64) = intDiv(greatest(least(hi, 511), 0), 64)) * toUInt8(bitAnd(bitShiftRight(arrayElement(words, intDiv(lo, 64) + 1), (lo % 64)), if(greatest((greatest(least(hi, 511), 0) % 64) - (lo % 64) + 1, 0) >= 64, toUInt64(18446744073709551615), toUInt64(bitShiftLeft(toUInt64(1), greatest((greatest(least(hi, 511), 0) % 64) - (lo % 64) + 1, 0)) - 1))) != 0), toUInt8(intDiv(lo, 64) != intDiv(greatest(least(hi, 511), 0), 64)) * bitOr(bitOr(toUInt8(bitShiftRight(arrayElement(words, intDiv(lo, 64) + 1), (lo % 64)) != 0), toUInt8(bitAnd(arrayElement(words, intDiv(greatest(least(hi, 511), 0), 64) + 1), if((greatest(least(hi, 511), 0) % 64) + 1 >= 64, toUInt64(18446744073709551615), toUInt64(bitShiftLeft(toUInt64(1), (greatest(least(hi, 511), 0) % 64) + 1) - 1))) != 0)), toUInt8(arrayExists(x -> x != 0, arraySlice(words, intDiv(lo, 64) + 2, greatest(intDiv(greatest(least(hi, 511), 0), 64) - intDiv(lo, 64) - 1, 0))))))) AS on_
    FROM
    (
        SELECT
            cohort,
            words,
            last_active,
            arrayJoin(arrayMap(i -> i + 1, range(toUInt32(least(reached, length({bounds:Array(UInt16)}) - 1))))) AS bi,
            toInt64({bounds:Array(UInt16)}[bi]) AS lo,
            least(toInt64({bounds:Array(UInt16)}[bi + 1]) - 1, tenure_days) AS hi
        FROM
        (
            SELECT
                cohort,
                tenure_days,
                words,
                arrayCount(x -> x <= tenure_days, {bounds:Array(UInt16)}) AS reached,
                -- the last active day up to as_of: the highest bit once later days are cleared
                arrayReduce('max', arrayMap((x, k) -> if(x = 0, toInt64(-1), 64 * k + least(toInt64(floor(log2(x))), 63) - if(bitShiftRight(x, least(toInt64(floor(log2(x))), 63)) = 0, 1, 0)), arrayMap((x, k, b) -> bitAnd(x, if(greatest(least(b, 64 * k + 63) - greatest(0, 64 * k) + 1, 0) >= 64, toUInt64(18446744073709551615), toUInt64(bitShiftLeft(toUInt64(bitShiftLeft(toUInt64(1), greatest(least(b, 64 * k + 63) - greatest(0, 64 * k) + 1, 0)) - 1), least(greatest(0, 64 * k) - 64 * k, 63))))),
                                   words, [0, 1, 2, 3, 4, 5, 6, 7], arrayResize([tenure_days], 8, tenure_days)), [0, 1, 2, 3, 4, 5, 6, 7])) AS last_active
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
        ) AS clipped
    ) AS per_bracket
)
GROUP BY cohort, bi
ORDER BY cohort, bi
