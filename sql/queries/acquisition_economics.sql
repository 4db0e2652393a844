-- name: acquisition_economics
-- description: Acquisition-cost economics by opening channel: customers who defected before
--   the revenue they brought in recovered what it cost to acquire them.
-- param: channels Array(String) = ['branch', 'online', 'mobile', 'atm', 'contact_centre', 'pos', 'batch', 'other'] | opening channels with a cost of their own
-- param: costs Array(Float64) = [300, 200, 200, 250, 250, 250, 200, 200] | acquisition cost per customer of each channel above, same order and length
-- param: default_cost Float64 = 200 | acquisition cost for a channel not listed
-- param: monthly_revenue Float64 = 12.5 | revenue a customer brings per month while they stay ($150 a year)
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- Revenue accrues evenly from opening, monthly_revenue * 12 / 365 a day, so a customer breaks
-- even after breakeven_days = cost / daily revenue.  lost_before_breakeven = first defection
-- before that day; recovered = stayed (or defected) past it; pending = neither yet (younger
-- than breakeven_days and still here).  share_lost = lost / (lost + recovered): only customers
-- whose outcome is known.  unrecovered_cost = what the lost customers cost minus the revenue
-- they brought before defecting.
-- Columns: opening_channel, customers, cost_per_customer, breakeven_days, acquisition_cost,
-- defected, lost_before_breakeven, recovered, pending, share_lost, unrecovered_cost.
SELECT
    opening_channel,
    count() AS customers,
    any(cost) AS cost_per_customer,
    round(any(breakeven), 1) AS breakeven_days,
    round(sum(cost), 2) AS acquisition_cost,
    toUInt64(sum(has_defected)) AS defected,
    toUInt64(sum(lost)) AS lost_before_breakeven,
    toUInt64(sum(NOT lost AND (tenure_days >= breakeven OR has_defected = 1))) AS recovered,
    toUInt64(count() - lost_before_breakeven - recovered) AS pending,
    if(lost_before_breakeven + recovered = 0, NULL,
       round(lost_before_breakeven / (lost_before_breakeven + recovered), 4)) AS share_lost,
    round(sumIf(cost - first_day * {monthly_revenue:Float64} * 12 / 365, lost = 1), 2) AS unrecovered_cost
FROM
(
    SELECT
        opening_channel,
        cost,
        breakeven,
        tenure_days,
        has_defected,
        first_day,
        toUInt8(has_defected = 1 AND first_day < breakeven) AS lost
    FROM
    (
        SELECT
            customer_id,
            toString(opening_channel) AS opening_channel,
            transform(toString(opening_channel), {channels:Array(String)}, {costs:Array(Float64)},
                      {default_cost:Float64}) AS cost,
            cost / ({monthly_revenue:Float64} * 12 / 365) AS breakeven,
            intDiv(toInt64(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events))))
                   - toInt64(opened_at), 86400) AS tenure_days
        FROM customer_state FINAL
        WHERE opened_at > toDateTime(0, 'UTC')
          AND toDate(opened_at) >= {from_date:Date} AND toDate(opened_at) <= {to_date:Date}
    ) AS c
    ANY LEFT JOIN
    (
        SELECT customer_id, toUInt8(1) AS has_defected, min(days_since_opening) AS first_day
        FROM defections FINAL
        WHERE defected_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
        GROUP BY customer_id
    ) AS d USING (customer_id)
    WHERE tenure_days >= 0
)
GROUP BY opening_channel
ORDER BY opening_channel
