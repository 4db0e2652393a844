-- name: survival_km
-- description: Kaplan-Meier survival (share not yet defected) by day since opening, per opening
--   channel, cohort or another group, with right-censoring of customers still active.
-- param: group_by String = 'opening_channel' | one curve per value of (one of: opening_channel, cohort, segment, region, branch, product, all)
-- param: cohort_grain String = 'month' | cohort by the week (Monday) or month of opening, for group_by = cohort (one of: week, month)
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- Event = the customer's first defection (day since opening as the engine recorded it).  A
-- customer who has not defected is censored at their tenure on as_of: they count at risk up to
-- that day and then leave the curve, instead of surviving forever.  At each day with exits:
-- at_risk = customers of the group whose exit day is on or after it, survival = product over
-- days so far of (1 - defections / at_risk) (computed as exp of a cumulative sum of logs,
-- rounded to 6 decimals; portable without window functions).  Censoring ties: customers
-- censored on a day are still at risk on that day.
-- Columns: curve, day, at_risk, defections, censored, survival, defected_share (1 - survival).
SELECT
    curve,
    day,
    at_risk,
    defections,
    censored,
    round(survival_raw, 6) AS survival,
    round(1 - survival_raw, 6) AS defected_share
FROM
(
    SELECT
        curve,
        arraySort(dk) AS days,
        arraySort((x, k) -> k, ex, dk) AS exits_sorted,
        arraySort((x, k) -> k, evs, dk) AS events_sorted,
        arrayReverse(arrayCumSum(arrayReverse(exits_sorted))) AS at_risk_sorted,
        arrayMap(x -> exp(x), arrayCumSum(arrayMap((d, n) -> log(1 - d / n),
                                                   events_sorted, at_risk_sorted))) AS survival_sorted
    FROM
    (
        SELECT
            curve,
            groupArray(exit_day) AS dk,
            groupArray(n_exits) AS ex,
            groupArray(n_events) AS evs
        FROM
        (
            SELECT
                curve,
                toUInt32(if(has_defected = 1, first_day, tenure_days)) AS exit_day,
                toUInt64(count()) AS n_exits,
                toUInt64(sum(has_defected)) AS n_events
            FROM
            (
                SELECT
                    customer_id,
                    multiIf({group_by:String} = 'opening_channel', toString(opening_channel),
                            {group_by:String} = 'cohort',
                            toString(if({cohort_grain:String} = 'week', toMonday(opened_at), toStartOfMonth(opened_at))),
                            {group_by:String} = 'segment', segment,
                            {group_by:String} = 'region', region,
                            {group_by:String} = 'branch', branch_id,
                            {group_by:String} = 'product', if(empty(products), '', products[1]),
                            'all') AS curve,
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
                    toUInt8(1) AS has_defected,
                    min(days_since_opening) AS first_day
                FROM defections FINAL
                WHERE defected_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
                GROUP BY customer_id
            ) AS d USING (customer_id)
            WHERE tenure_days >= 0
            GROUP BY curve, exit_day
        ) AS per_day
        GROUP BY curve
    ) AS collected
) AS arrays
ARRAY JOIN days AS day, at_risk_sorted AS at_risk, events_sorted AS defections,
           arrayMap((x, e) -> x - e, exits_sorted, events_sorted) AS censored,
           survival_sorted AS survival_raw
ORDER BY curve, day
