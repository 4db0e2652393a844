-- name: complaint_linkage
-- description: Complaint -> defection: the share of complainants who defect within N days of
--   their first complaint, by complaint category and by whether it was resolved, against
--   non-complainants.
-- param: within_days UInt16 = 60 | N: days after the complaint (after opening, for non-complainants)
-- param: year_days UInt16 = 365 | length of the first-year window, for the like-for-like year-1 rate
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- A complainant's complaint is their first one (by the time it was raised); resolved = a
-- 'resolved' event for that complaint_id before the customer defected and within N days.
-- Complaints come from the customer_complaints roll-up (one row per complaint; sql/analytics).
-- defected_within = a defection at or after the complaint and at most N days later.
-- Non-complainants have no complaint to anchor on: their window is the first N days after
-- opening, so compare the year-1 rate too (first defection before day year_days, both groups).
-- observed = customers whose N-day window has ended by as_of or who defected inside it; the
-- rates are over observed customers.
-- Columns: who (complainant | non_complainant), category, resolution, customers, observed, defected_within, rate_within,
-- defected_year_1, rate_year_1, median_days_to_defection (complaint -> defection, complainants).
SELECT
    who,
    category,
    resolution,
    count() AS customers,
    toUInt64(sum(observed_)) AS observed,
    toUInt64(sum(within_)) AS defected_within,
    if(observed = 0, NULL, round(defected_within / observed, 4)) AS rate_within,
    toUInt64(sum(in_year)) AS defected_year_1,
    round(defected_year_1 / customers, 4) AS rate_year_1,
    if(sum(within_ = 1 AND has_complaint = 1) = 0, NULL, toFloat64(quantileExactIf(0.5)(days_to_defection, within_ AND has_complaint = 1))) AS median_days_to_defection
FROM
(
    SELECT
        if(has_complaint = 1, 'complainant', 'non_complainant') AS who,
        category,
        if(has_complaint = 0, '',
           if(resolved_t > 0 AND resolved_t <= anchor + {within_days:UInt16} * 86400
              AND (next_defection = 0 OR resolved_t <= next_defection), 'resolved', 'unresolved')) AS resolution,
        has_complaint,
        toUInt8(next_defection > 0 AND next_defection <= anchor + {within_days:UInt16} * 86400) AS within_,
        toUInt8(within_ = 1 OR anchor + {within_days:UInt16} * 86400 <= as_of_t) AS observed_,
        toUInt8(has_defected = 1 AND first_day < {year_days:UInt16}) AS in_year,
        toInt64(intDiv(toInt64(next_defection) - toInt64(anchor), 86400)) AS days_to_defection
    FROM
    (
        SELECT
            has_complaint,
            category,
            resolved_t,
            anchor,
            as_of_t,
            has_defected,
            first_day,
            arrayReduce('min', arrayFilter((x, a) -> x >= a, defection_times,
                                           arrayResize([anchor], length(defection_times), anchor))) AS next_defection
        FROM
        (
            SELECT
                customer_id,
                has_complaint,
                category,
                resolved_t,
                if(has_complaint = 1, complaint_t, toUInt32(opened_at)) AS anchor,
                as_of_t
            FROM
            (
                SELECT
                    customer_id,
                    opened_at,
                    toUInt32(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))) AS as_of_t
                FROM customer_state FINAL
                WHERE opened_at > toDateTime(0, 'UTC')
                  AND toDate(opened_at) >= {from_date:Date} AND toDate(opened_at) <= {to_date:Date}
                  AND opened_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
            ) AS c
            ANY LEFT JOIN
            (
                SELECT
                    customer_id,
                    toUInt8(1) AS has_complaint,
                    argMin(cat, (raised_t, complaint_id)) AS category,
                    argMin(res_t, (raised_t, complaint_id)) AS resolved_t,
                    min(raised_t) AS complaint_t
                FROM
                (
                    SELECT
                        customer_id,
                        complaint_id,
                        argMinMerge(category) AS cat,
                        toUInt32(minMerge(raised_at)) AS raised_t,
                        if(minMerge(resolved_at) = toDateTime(4294967295, 'UTC'), toUInt32(0),
                           toUInt32(minMerge(resolved_at))) AS res_t
                    FROM customer_complaints
                    GROUP BY customer_id, complaint_id
                    HAVING raised_t <= toUInt32(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events))))
                ) AS per_complaint
                GROUP BY customer_id
            ) AS k USING (customer_id)
        ) AS ck
        ANY LEFT JOIN
        (
            SELECT
                customer_id,
                toUInt8(1) AS has_defected,
                min(days_since_opening) AS first_day,
                groupArray(toUInt32(defected_at)) AS defection_times
            FROM defections FINAL
            WHERE defected_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
            GROUP BY customer_id
        ) AS d USING (customer_id)
    ) AS linked
) AS flagged
GROUP BY who, category, resolution
ORDER BY who, category, resolution
