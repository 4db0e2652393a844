-- name: missed_milestones
-- description: Which missed onboarding milestone (stall rule) precedes defection most often:
--   per rule, the customers who stalled, how many defected afterwards, and how often it was
--   the first warning before the defection.
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- Stalls are the engine's own missed deadlines (table stalls, one row per rule episode; the
-- rule's name is in its milestone column).  A stall precedes a defection when its deadline fell
-- strictly before the customer's first defection.  first_missed counts, for each defector, only
-- the earliest stall before the defection (ties broken by rule name).
-- Columns: rule, stalled_customers, defected_after, defection_rate_after_stall,
-- share_of_defectors (defected_after / all defectors), first_missed, total_defectors.
SELECT
    rule,
    stalled_customers,
    defected_after,
    round(defected_after / stalled_customers, 4) AS defection_rate_after_stall,
    if(total_defectors = 0, NULL, round(defected_after / total_defectors, 4)) AS share_of_defectors,
    first_missed,
    total_defectors
FROM
(
    SELECT
        rule,
        count() AS stalled_customers,
        toUInt64(sum(preceded)) AS defected_after,
        toUInt64(sum(preceded = 1 AND rule = first_rule)) AS first_missed,
        assumeNotNull((SELECT uniqExact(customer_id) FROM defections FINAL
         WHERE opened_at > toDateTime(0, 'UTC')
           AND toDate(opened_at) >= {from_date:Date} AND toDate(opened_at) <= {to_date:Date}
           AND defected_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
        )) AS total_defectors
    FROM
    (
        SELECT
            customer_id,
            groupArray(rule) AS rules,
            groupArray(preceded) AS precs,
            argMinIf(rule, (stall_at, rule), preceded = 1) AS first_rule
        FROM
        (
            SELECT
                customer_id,
                rule,
                stall_at,
                toUInt8(has_defected = 1 AND stall_at < first_defected_at) AS preceded
            FROM
            (
                SELECT customer_id, milestone AS rule, min(deadline_at) AS stall_at
                FROM stalls FINAL
                WHERE opened_at > toDateTime(0, 'UTC')
                  AND toDate(opened_at) >= {from_date:Date} AND toDate(opened_at) <= {to_date:Date}
                  AND deadline_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
                GROUP BY customer_id, rule
            ) AS s
            ANY LEFT JOIN
            (
                SELECT customer_id, toUInt8(1) AS has_defected, min(defected_at) AS first_defected_at
                FROM defections FINAL
                WHERE defected_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
                GROUP BY customer_id
            ) AS d USING (customer_id)
        ) AS per_stall
        GROUP BY customer_id
    ) AS per_customer
    ARRAY JOIN rules AS rule, precs AS preceded
    GROUP BY rule
) AS per_rule
ORDER BY defected_after DESC, rule
