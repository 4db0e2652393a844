-- name: milestone_funnel
-- description: Onboarding milestone funnel (activated -> funded -> engaged -> sticky): the share
--   of new customers reaching each milestone within its deadline, and all of them in order.
-- param: activated_days UInt16 = 7 | deadline for the first successful login or customer-initiated transaction
-- param: funded_days UInt16 = 30 | deadline for the first credit that is not interest or a fee
-- param: engaged_days UInt16 = 90 | deadline for the engaged_transactions-th customer-initiated transaction
-- param: sticky_days UInt16 = 90 | deadline for using sticky_services distinct sticky services
-- param: engaged_transactions UInt8 = 5 | customer-initiated transactions that make a customer engaged (engaged_min_transactions)
-- param: sticky_services UInt8 = 2 | distinct sticky services that make a customer sticky (sticky_services_required)
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- Milestones follow docs/rules.md and are recomputed from the raw events, so a deadline can be
-- changed here without replaying the stream.  Sticky services: digital (a successful login or
-- customer-initiated transaction online or on mobile), debit_card (customer-initiated
-- card_purchase), bill_pay (customer-initiated bill_pay), direct_deposit (a direct_deposit
-- credit).  "Within the deadline" = strictly before opening + deadline days.  Population: new
-- customers whose every deadline has passed by as_of (so nobody is counted as missing a
-- milestone they still have time to reach).  Re-delivered events count once (by event_id).
-- Columns: step, milestone, deadline_days, population, reached_in_time, rate_in_time,
-- funnel (reached this and every earlier milestone in time), funnel_rate, step_conversion
-- (funnel / previous step's funnel), reached_ever.
SELECT
    step,
    milestone,
    deadline_days,
    count() AS population,
    toUInt64(sum(in_time)) AS reached_in_time,
    round(reached_in_time / population, 4) AS rate_in_time,
    toUInt64(sum(in_funnel)) AS funnel,
    round(funnel / population, 4) AS funnel_rate,
    if(sum(prev_funnel) = 0, NULL, round(funnel / sum(prev_funnel), 4)) AS step_conversion,
    toUInt64(sum(ever)) AS reached_ever
FROM
(
    SELECT
        [activated_day, funded_day, engaged_day, sticky_day] AS days,
        [toInt64({activated_days:UInt16}), toInt64({funded_days:UInt16}),
         toInt64({engaged_days:UInt16}), toInt64({sticky_days:UInt16})] AS deadlines,
        arrayMap((d, l) -> toUInt8(d >= 0 AND d < l), days, deadlines) AS oks,
        arrayMap((c, i) -> toUInt8(c = i), arrayCumSum(oks), [1, 2, 3, 4]) AS funnels
    FROM
    (
        SELECT
            customer_id,
            if(activated_t = 0, toInt64(-1), intDiv(toInt64(activated_t) - toInt64(opened), 86400)) AS activated_day,
            if(funded_t = 0, toInt64(-1), intDiv(toInt64(funded_t) - toInt64(opened), 86400)) AS funded_day,
            if(engaged_t = 0, toInt64(-1), intDiv(toInt64(engaged_t) - toInt64(opened), 86400)) AS engaged_day,
            if(sticky_t = 0, toInt64(-1), intDiv(toInt64(sticky_t) - toInt64(opened), 86400)) AS sticky_day
        FROM
        (
            SELECT customer_id, opened_at AS opened
            FROM customer_state FINAL
            WHERE opened_at > toDateTime(0, 'UTC')
              AND toDate(opened_at) >= {from_date:Date} AND toDate(opened_at) <= {to_date:Date}
              AND intDiv(toInt64(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events))))
                         - toInt64(opened_at), 86400)
                  >= greatest(greatest({activated_days:UInt16}, {funded_days:UInt16}),
                              greatest({engaged_days:UInt16}, {sticky_days:UInt16}))
        ) AS c
        ANY LEFT JOIN
        (
            SELECT
                customer_id,
                toUInt32(minIf(occurred_at, (event_type = 'login' AND success = 1)
                               OR (event_type = 'transaction' AND customer_initiated = 1))) AS activated_t,
                toUInt32(minIf(occurred_at, event_type = 'transaction' AND direction = 'credit'
                               AND kind NOT IN ('interest', 'fee'))) AS funded_t,
                arrayElement(arraySort(groupUniqArrayIf((toUInt32(occurred_at), event_id),
                    event_type = 'transaction' AND customer_initiated = 1)), {engaged_transactions:UInt8}).1 AS engaged_t,
                arrayElement(arraySort(arrayFilter(x -> x > 0, [
                    toUInt32(minIf(occurred_at, ((event_type = 'login' AND success = 1)
                                                 OR (event_type = 'transaction' AND customer_initiated = 1))
                                                AND channel IN ('online', 'mobile'))),
                    toUInt32(minIf(occurred_at, event_type = 'transaction' AND customer_initiated = 1
                                                AND kind = 'card_purchase')),
                    toUInt32(minIf(occurred_at, event_type = 'transaction' AND customer_initiated = 1
                                                AND kind = 'bill_pay')),
                    toUInt32(minIf(occurred_at, event_type = 'transaction' AND direction = 'credit'
                                                AND kind = 'direct_deposit'))])),
                    {sticky_services:UInt8}) AS sticky_t
            FROM events
            WHERE event_type IN ('login', 'transaction')
              AND opened_at > toDateTime(0, 'UTC') AND occurred_at >= opened_at
              AND toDate(opened_at) >= {from_date:Date} AND toDate(opened_at) <= {to_date:Date}
              AND occurred_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
            GROUP BY customer_id
        ) AS m USING (customer_id)
    ) AS per_customer
)
ARRAY JOIN
    [1, 2, 3, 4] AS step,
    ['activated', 'funded', 'engaged', 'sticky'] AS milestone,
    deadlines AS deadline_days,
    oks AS in_time,
    funnels AS in_funnel,
    arrayPushFront(arrayPopBack(funnels), toUInt8(1)) AS prev_funnel,
    arrayMap(d -> toUInt8(d >= 0), days) AS ever
GROUP BY step, milestone, deadline_days
ORDER BY step
