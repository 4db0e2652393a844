-- name: lifecycle
-- description: Lifecycle counts per calendar week or month: new, returning, resurrecting and
--   dormant new customers, and those who defected in the period.
-- param: grain String = 'month' | calendar period of each row (one of: week, month)
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now" (its period is the last row); NULL = the latest event time
--
-- Per customer and period, from their opening period to as_of's (active = a successful login or
-- a customer-initiated transaction, as in retention_grid):
--   new          = the period of the account opening (whatever the activity);
--   returning    = active in this period and in the previous one;
--   resurrecting = active in this period, not in the previous one;
--   dormant      = not active in this period, active in the previous one (counted once);
--   defected     = the customer's first defection falls in this period (may overlap dormant).
-- active = customers active in the period (new included).  Weeks start on Monday (UTC).
-- Activity comes from the customer_activity roll-up (sql/analytics: bit d = active on calendar
-- day d after the opening date, days 0-511); as_of by whole day.  Customers: those with an
-- account opening (the roll-up's opened).
-- Columns: period, new, returning, resurrecting, dormant, defected, active.
SELECT
    period,
    toUInt64(sum(idx = 1)) AS new,
    toUInt64(sum(toUInt8(idx > 1) * is_active * prev_active)) AS returning,
    toUInt64(sum(toUInt8(idx > 1) * is_active * (1 - prev_active))) AS resurrecting,
    toUInt64(sum(toUInt8(idx > 1) * (1 - is_active) * prev_active)) AS dormant,
    toUInt64(sum(has_defected = 1 AND defection_period = period)) AS defected,
    toUInt64(sum(is_active)) AS active
FROM
(
    SELECT
        period,
        idx,
        has_defected,
        defection_period,
        (toUInt8(greatest(lo, 0) <= least(hi, as_of_offset)) * toUInt8(greatest(lo, 0) <= 511) * bitOr(toUInt8(intDiv(greatest(lo, 0), 64) = intDiv(greatest(least(least(hi, as_of_offset), 511), 0), 64)) * toUInt8(bitAnd(bitShiftRight(arrayElement(calendar, intDiv(greatest(lo, 0), 64) + 1), (greatest(lo, 0) % 64)), if(greatest((greatest(least(least(hi, as_of_offset), 511), 0) % 64) - (greatest(lo, 0) % 64) + 1, 0) >= 64, toUInt64(18446744073709551615), toUInt64(bitShiftLeft(toUInt64(1), greatest((greatest(least(least(hi, as_of_offset), 511), 0) % 64) - (greatest(lo, 0) % 64) + 1, 0)) - 1))) != 0), toUInt8(intDiv(greatest(lo, 0), 64) != intDiv(greatest(least(least(hi, as_of_offset), 511), 0), 64)) * bitOr(toUInt8(bitShiftRight(arrayElement(calendar, intDiv(greatest(lo, 0), 64) + 1), (greatest(lo, 0) % 64)) != 0), toUInt8(bitAnd(arrayElement(calendar, intDiv(greatest(least(least(hi, as_of_offset), 511), 0), 64) + 1), if((greatest(least(least(hi, as_of_offset), 511), 0) % 64) + 1 >= 64, toUInt64(18446744073709551615), toUInt64(bitShiftLeft(toUInt64(1), (greatest(least(least(hi, as_of_offset), 511), 0) % 64) + 1) - 1))) != 0)))) AS is_active,
        toUInt8(idx > 1) * (toUInt8(greatest(prev_lo, 0) <= lo - 1) * toUInt8(greatest(prev_lo, 0) <= 511) * bitOr(toUInt8(intDiv(greatest(prev_lo, 0), 64) = intDiv(greatest(least(lo - 1, 511), 0), 64)) * toUInt8(bitAnd(bitShiftRight(arrayElement(calendar, intDiv(greatest(prev_lo, 0), 64) + 1), (greatest(prev_lo, 0) % 64)), if(greatest((greatest(least(lo - 1, 511), 0) % 64) - (greatest(prev_lo, 0) % 64) + 1, 0) >= 64, toUInt64(18446744073709551615), toUInt64(bitShiftLeft(toUInt64(1), greatest((greatest(least(lo - 1, 511), 0) % 64) - (greatest(prev_lo, 0) % 64) + 1, 0)) - 1))) != 0), toUInt8(intDiv(greatest(prev_lo, 0), 64) != intDiv(greatest(least(lo - 1, 511), 0), 64)) * bitOr(toUInt8(bitShiftRight(arrayElement(calendar, intDiv(greatest(prev_lo, 0), 64) + 1), (greatest(prev_lo, 0) % 64)) != 0), toUInt8(bitAnd(arrayElement(calendar, intDiv(greatest(least(lo - 1, 511), 0), 64) + 1), if((greatest(least(lo - 1, 511), 0) % 64) + 1 >= 64, toUInt64(18446744073709551615), toUInt64(bitShiftLeft(toUInt64(1), (greatest(least(lo - 1, 511), 0) % 64) + 1) - 1))) != 0)))) AS prev_active
    FROM
    (
        SELECT
            if({grain:String} = 'week', addWeeks(open_period, step), addMonths(open_period, step)) AS period,
            step + 1 AS idx,
            has_defected,
            defection_period,
            calendar,
            as_of_offset,
            toInt64(toRelativeDayNum(period)) - toInt64(toRelativeDayNum(open_date)) AS lo,
            toInt64(toRelativeDayNum(if({grain:String} = 'week', period + 7, addMonths(period, 1))))
                - toInt64(toRelativeDayNum(open_date)) - 1 AS hi,
            toInt64(toRelativeDayNum(if({grain:String} = 'week', period - 7, subtractMonths(period, 1))))
                - toInt64(toRelativeDayNum(open_date)) AS prev_lo
        FROM
        (
            SELECT
                open_date,
                calendar,
                as_of_offset,
                open_period,
                steps,
                has_defected,
                defection_period
            FROM
            (
                SELECT
                    customer_id,
                    open_date,
                    open_period,
                    range(toUInt32(n_periods)) AS steps,
                    as_of_offset,
                    words AS calendar
                FROM
                (
                    SELECT
                        customer_id,
                        toDate(opened) AS open_date,
                        if({grain:String} = 'week', toMonday(opened), toStartOfMonth(opened)) AS open_period,
                        toUInt32(if({grain:String} = 'week',
                            intDiv(toMonday(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))) - toMonday(opened), 7),
                            toRelativeMonthNum(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))) - toRelativeMonthNum(opened)) + 1) AS n_periods,
                        toInt64(toRelativeDayNum(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events))))) - toInt64(toRelativeDayNum(opened)) AS as_of_offset,
                        words
                    FROM
                    (
                        SELECT customer_id, finalizeAggregation(opened) AS opened,
                               [finalizeAggregation(calendar_w0), finalizeAggregation(calendar_w1), finalizeAggregation(calendar_w2), finalizeAggregation(calendar_w3), finalizeAggregation(calendar_w4), finalizeAggregation(calendar_w5), finalizeAggregation(calendar_w6), finalizeAggregation(calendar_w7)] AS words
                        FROM customer_activity FINAL
                    ) AS r
                    WHERE toDate(opened) >= {from_date:Date} AND toDate(opened) <= {to_date:Date}
                      AND opened <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
                ) AS c
            ) AS ca
            ANY LEFT JOIN
            (
                SELECT
                    customer_id,
                    toUInt8(1) AS has_defected,
                    if({grain:String} = 'week', toMonday(min(defected_at)), toStartOfMonth(min(defected_at))) AS defection_period
                FROM defections FINAL
                WHERE defected_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
                GROUP BY customer_id
            ) AS d USING (customer_id)
        ) AS per_customer
        ARRAY JOIN steps AS step
    ) AS per_period
)
GROUP BY period
ORDER BY period
