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
-- Activity dates come from the customer_activity roll-up (sql/analytics); as_of by whole day.
-- Columns: period, new, returning, resurrecting, dormant, defected, active.
SELECT
    period,
    toUInt64(sum(idx = 1)) AS new,
    toUInt64(sum(idx > 1 AND is_active AND prev_active)) AS returning,
    toUInt64(sum(idx > 1 AND is_active AND NOT prev_active)) AS resurrecting,
    toUInt64(sum(idx > 1 AND NOT is_active AND prev_active)) AS dormant,
    toUInt64(sum(has_defected = 1 AND defection_period = period)) AS defected,
    toUInt64(sum(is_active)) AS active
FROM
(
    SELECT
        period,
        idx,
        has_defected,
        defection_period,
        has(active_periods, period) AS is_active,
        has(active_periods, if({grain:String} = 'week', period - 7, subtractMonths(period, 1))) AS prev_active
    FROM
    (
        SELECT
            periods,
            active_periods,
            has_defected,
            defection_period
        FROM
        (
            SELECT
                customer_id,
                arrayMap((o, d0) -> addDays(d0, o), offsets,
                         arrayResize([open_date], length(offsets), open_date)) AS dates,
                arrayDistinct(arrayMap(d -> if({grain:String} = 'week', toMonday(d), toStartOfMonth(d)),
                                       arrayFilter((d, a) -> d <= a, dates,
                                                   arrayResize([as_of_date], length(dates), as_of_date)))) AS active_periods,
                arrayMap((i, k) -> if({grain:String} = 'week', addWeeks(k, i), addMonths(k, i)),
                         range(toUInt32(n_periods)), arrayResize([open_period], n_periods, open_period)) AS periods
            FROM
            (
                SELECT
                    customer_id,
                    if({grain:String} = 'week', toMonday(opened_at), toStartOfMonth(opened_at)) AS open_period,
                    toDate(opened_at) AS open_date,
                    toUInt32(if({grain:String} = 'week',
                        intDiv(toMonday(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events))))
                               - toMonday(opened_at), 7),
                        toRelativeMonthNum(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events))))
                        - toRelativeMonthNum(opened_at)) + 1) AS n_periods,
                    toDate(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))) AS as_of_date
                FROM customer_state FINAL
                WHERE opened_at > toDateTime(0, 'UTC')
                  AND toDate(opened_at) >= {from_date:Date} AND toDate(opened_at) <= {to_date:Date}
                  AND opened_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
            ) AS c
            ANY LEFT JOIN
            (
                SELECT customer_id, arrayConcat(
                                        arrayMap(x -> toUInt16(log2(x)), bitmaskToArray(groupBitOrMerge(calendar_w0))),
                                        arrayMap(x -> toUInt16(log2(x) + 64), bitmaskToArray(groupBitOrMerge(calendar_w1))),
                                        arrayMap(x -> toUInt16(log2(x) + 128), bitmaskToArray(groupBitOrMerge(calendar_w2))),
                                        arrayMap(x -> toUInt16(log2(x) + 192), bitmaskToArray(groupBitOrMerge(calendar_w3))),
                                        arrayMap(x -> toUInt16(log2(x) + 256), bitmaskToArray(groupBitOrMerge(calendar_w4))),
                                        arrayMap(x -> toUInt16(log2(x) + 320), bitmaskToArray(groupBitOrMerge(calendar_w5))),
                                        arrayMap(x -> toUInt16(log2(x) + 384), bitmaskToArray(groupBitOrMerge(calendar_w6))),
                                        arrayMap(x -> toUInt16(log2(x) + 448), bitmaskToArray(groupBitOrMerge(calendar_w7)))) AS offsets
                FROM customer_activity
                GROUP BY customer_id
            ) AS a USING (customer_id)
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
    ARRAY JOIN periods AS period, arrayEnumerate(periods) AS idx
)
GROUP BY period
ORDER BY period
