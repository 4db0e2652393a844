-- name: defection_timing
-- description: When new customers defect: first defections by day or week since opening, with
--   the customers still at risk and the hazard (the share of them defecting in that bucket).
-- param: bucket_days UInt16 = 7 | bucket width in days since opening (1 = days, 7 = weeks of tenure)
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- Each customer leaves the risk set once: at their first defection (an event) or, still active,
-- at their tenure on as_of (censored, right-censoring).  at_risk = customers who entered the
-- bucket without having left before it; hazard = defections / at_risk (a discrete-time hazard:
-- censored customers count at risk for the whole bucket they are censored in).  Buckets run
-- without gaps from 0 to the last one anyone reached.
-- Columns: bucket, start_day, at_risk, defections, closure, silent_attrition, other, censored,
-- hazard, share_of_defections.
SELECT
    bucket,
    toUInt32(bucket * {bucket_days:UInt16}) AS start_day,
    at_risk,
    defections,
    closure,
    silent_attrition,
    other,
    toUInt64(exits - defections) AS censored,
    if(at_risk = 0, NULL, round(defections / at_risk, 6)) AS hazard,
    if(total_defections = 0, NULL, round(defections / total_defections, 4)) AS share_of_defections
FROM
(
    SELECT
        arraySum(evs) AS total_defections,
        arraySort(bk) AS buckets,
        arraySort((x, k) -> k, ex, bk) AS exits_sorted,
        arrayReverse(arrayCumSum(arrayReverse(exits_sorted))) AS at_risk_sorted,
        arraySort((x, k) -> k, evs, bk) AS events_sorted,
        arraySort((x, k) -> k, cl, bk) AS closure_sorted,
        arraySort((x, k) -> k, si, bk) AS silent_sorted,
        arraySort((x, k) -> k, ot, bk) AS other_sorted
    FROM
    (
        SELECT
            groupArray(bucket) AS bk,
            groupArray(e) AS ex,
            groupArray(ev) AS evs,
            groupArray(c) AS cl,
            groupArray(si_) AS si,
            groupArray(o) AS ot
        FROM
        (
            SELECT
                bucket,
                sum(n_exits) AS e,
                sum(n_events) AS ev,
                sum(n_closure) AS c,
                sum(n_silent) AS si_,
                sum(n_other) AS o
            FROM
            (
                SELECT
                    toUInt32(intDiv(if(has_defected = 1, first_day, tenure_days), {bucket_days:UInt16})) AS bucket,
                    toUInt64(count()) AS n_exits,
                    toUInt64(sum(has_defected)) AS n_events,
                    toUInt64(sum(has_defected = 1 AND first_kind = 'closure')) AS n_closure,
                    toUInt64(sum(has_defected = 1 AND first_kind IN ('dormancy', 'balance_drained',
                                 'outbound_transfer', 'silent_attrition'))) AS n_silent,
                    toUInt64(sum(has_defected = 1 AND first_kind NOT IN ('closure', 'dormancy',
                                 'balance_drained', 'outbound_transfer', 'silent_attrition'))) AS n_other
                FROM
                (
                    SELECT
                        customer_id,
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
                        min(days_since_opening) AS first_day,
                        argMin(kind, defected_at) AS first_kind
                    FROM defections FINAL
                    WHERE defected_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
                    GROUP BY customer_id
                ) AS d USING (customer_id)
                WHERE tenure_days >= 0
                GROUP BY bucket
                UNION ALL
                -- every bucket up to the oldest customer's tenure, so the rows have no gaps
                SELECT
                    arrayJoin(range(if(count() = 0, toUInt32(0), toUInt32(intDiv(greatest(toInt64(0),
                        intDiv(toInt64(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))},
                                                            (SELECT max(occurred_at) FROM events))))
                               - toInt64(min(opened_at)), 86400)), {bucket_days:UInt16}) + 1)))) AS bucket,
                    toUInt64(0) AS n_exits, toUInt64(0) AS n_events, toUInt64(0) AS n_closure,
                    toUInt64(0) AS n_silent, toUInt64(0) AS n_other
                FROM customer_state
                WHERE opened_at > toDateTime(0, 'UTC')
                  AND toDate(opened_at) >= {from_date:Date} AND toDate(opened_at) <= {to_date:Date}
                  AND opened_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
            ) AS u
            GROUP BY bucket
        ) AS dense
    ) AS collected
) AS arrays
ARRAY JOIN buckets AS bucket, at_risk_sorted AS at_risk, events_sorted AS defections,
           closure_sorted AS closure, silent_sorted AS silent_attrition, other_sorted AS other,
           exits_sorted AS exits
ORDER BY bucket
