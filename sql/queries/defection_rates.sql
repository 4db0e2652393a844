-- name: defection_rates
-- description: Day-90 and year-1 defection rates by opening cohort and a breakdown dimension,
--   with the kinds of defection (closure, silent attrition, other) in separate columns.
-- param: cohort_grain String = 'month' | cohort by the week (Monday) or month of opening (one of: week, month)
-- param: breakdown String = 'opening_channel' | dimension of each row (one of: opening_channel, segment, branch, region, product, all)
-- param: onboarding_days UInt16 = 90 | length of the onboarding window (the engine's onboarding_window_days)
-- param: year_days UInt16 = 365 | length of the first-year window (the engine's year_window_days)
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- A customer counts once, by their first defection (a later episode after a resurrection is
-- the same customer leaving again).  Kinds: closure = closed the last account; silent_attrition
-- = dormancy, balance drained or outbound transfer (the customer left without telling us);
-- other = any other kind.  product = the product opened first; branch '' = no branch.
-- Rates use only customers whose window is observed: its end has passed by as_of, or they
-- defected inside it; for younger customers the rate would be understated.
-- Columns: cohort, breakdown_value, customers, day90_observed, defected_day_90, closure_day_90,
-- silent_day_90, other_day_90, rate_day_90, year1_observed, defected_year_1, closure_year_1,
-- silent_year_1, other_year_1, rate_year_1 (rates NULL when nobody is observed).
SELECT
    cohort,
    breakdown_value,
    count() AS customers,
    toUInt64(sum(in_90 OR tenure_days >= {onboarding_days:UInt16})) AS day90_observed,
    toUInt64(sum(in_90)) AS defected_day_90,
    toUInt64(sum(in_90 AND kind_group = 'closure')) AS closure_day_90,
    toUInt64(sum(in_90 AND kind_group = 'silent_attrition')) AS silent_day_90,
    toUInt64(sum(in_90 AND kind_group = 'other')) AS other_day_90,
    if(day90_observed = 0, NULL, round(defected_day_90 / day90_observed, 4)) AS rate_day_90,
    toUInt64(sum(in_year OR tenure_days >= {year_days:UInt16})) AS year1_observed,
    toUInt64(sum(in_year)) AS defected_year_1,
    toUInt64(sum(in_year AND kind_group = 'closure')) AS closure_year_1,
    toUInt64(sum(in_year AND kind_group = 'silent_attrition')) AS silent_year_1,
    toUInt64(sum(in_year AND kind_group = 'other')) AS other_year_1,
    if(year1_observed = 0, NULL, round(defected_year_1 / year1_observed, 4)) AS rate_year_1
FROM
(
    SELECT
        cohort,
        breakdown_value,
        tenure_days,
        has_defected = 1 AND first_day < {onboarding_days:UInt16} AS in_90,
        has_defected = 1 AND first_day < {year_days:UInt16} AS in_year,
        multiIf(first_kind = 'closure', 'closure',
                first_kind IN ('dormancy', 'balance_drained', 'outbound_transfer', 'silent_attrition'),
                'silent_attrition', 'other') AS kind_group
    FROM
    (
        SELECT
            customer_id,
            if({cohort_grain:String} = 'week', toMonday(opened_at), toStartOfMonth(opened_at)) AS cohort,
            multiIf({breakdown:String} = 'opening_channel', toString(opening_channel),
                    {breakdown:String} = 'segment', segment,
                    {breakdown:String} = 'branch', branch_id,
                    {breakdown:String} = 'region', region,
                    {breakdown:String} = 'product', if(empty(products), '', products[1]),
                    'all') AS breakdown_value,
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
)
GROUP BY cohort, breakdown_value
ORDER BY cohort, breakdown_value
