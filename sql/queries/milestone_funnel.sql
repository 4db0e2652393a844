-- name: milestone_funnel
-- description: Onboarding milestone funnel (activated -> funded -> engaged -> sticky): the share
--   of new customers reaching each milestone within its deadline, and all of them in order.
-- param: activated_days UInt16 = 7 | deadline for the first successful login or customer-initiated transaction
-- param: funded_days UInt16 = 30 | deadline for the first credit that is not interest or a fee
-- param: engaged_days UInt16 = 90 | deadline for the engaged_transactions-th customer-initiated transaction (at most 183: the roll-up keeps the first 183 days)
-- param: sticky_days UInt16 = 90 | deadline for using sticky_services distinct sticky services
-- param: engaged_transactions UInt8 = 5 | customer-initiated transactions that make a customer engaged (engaged_min_transactions)
-- param: sticky_services UInt8 = 2 | distinct sticky services that make a customer sticky (sticky_services_required)
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- Milestones follow docs/rules.md and are recomputed from the customer_activity roll-up of the
-- raw events (sql/analytics), so a deadline can be changed here without replaying the stream;
-- engaged counts the customer-initiated transactions of the first 183 days, distinct by event.  Sticky services: digital (a successful login or
-- customer-initiated transaction online or on mobile), debit_card (customer-initiated
-- card_purchase), bill_pay (customer-initiated bill_pay), direct_deposit (a direct_deposit
-- credit).  "Within the deadline" = strictly before opening + deadline days.  Population: new
-- customers whose every deadline has passed by as_of (so nobody is counted as missing a
-- milestone they still have time to reach).  reached_ever = by as_of (whole days).
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
        arrayMap((c, i) -> toUInt8(c = i), arrayCumSum(oks), [1, 2, 3, 4]) AS funnels,
        arrayMap((d, t) -> toUInt8(d >= 0 AND d <= t), days, arrayResize([tenure_days], 4, tenure_days)) AS evers
    FROM
    (
        SELECT
            customer_id,
            tenure_days,
            if(empty(active), toInt64(-1), toInt64(arrayReduce('min', active))) AS activated_day,
            if(funded_day1 = 65535, toInt64(-1), toInt64(funded_day1) - 1) AS funded_day,
            if(length(ci) < {engaged_transactions:UInt8}, toInt64(-1),
               toInt64(arrayElement(ci, {engaged_transactions:UInt8}))) AS engaged_day,
            if(length(services) < {sticky_services:UInt8}, toInt64(-1),
               toInt64(arrayElement(services, {sticky_services:UInt8})) - 1) AS sticky_day
        FROM
        (
            SELECT
                customer_id,
                tenure_days,
                arrayFilter(d -> d < 65535, days) AS active,
                funded_day1,
                arraySort(ci_days) AS ci,
                arraySort(arrayFilter(x -> x < 65535,
                                      [digital_day1, card_day1, bill_pay_day1, deposit_day1])) AS services
            FROM
            (
                SELECT customer_id, tenure_days, days, funded_day1, digital_day1, card_day1,
                       bill_pay_day1, deposit_day1
                FROM
                (
                    SELECT
                        customer_id,
                        intDiv(toInt64(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events))))
                               - toInt64(opened_at), 86400) AS tenure_days
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
                        arrayConcat(
                            arrayMap(x -> toUInt16(log2(x)), bitmaskToArray(groupBitOrMerge(active_w0))),
                            arrayMap(x -> toUInt16(log2(x) + 64), bitmaskToArray(groupBitOrMerge(active_w1))),
                            arrayMap(x -> toUInt16(log2(x) + 128), bitmaskToArray(groupBitOrMerge(active_w2))),
                            arrayMap(x -> toUInt16(log2(x) + 192), bitmaskToArray(groupBitOrMerge(active_w3))),
                            arrayMap(x -> toUInt16(log2(x) + 256), bitmaskToArray(groupBitOrMerge(active_w4))),
                            arrayMap(x -> toUInt16(log2(x) + 320), bitmaskToArray(groupBitOrMerge(active_w5))),
                            arrayMap(x -> toUInt16(log2(x) + 384), bitmaskToArray(groupBitOrMerge(active_w6))),
                            arrayMap(x -> toUInt16(log2(x) + 448), bitmaskToArray(groupBitOrMerge(active_w7)))) AS days,
                        minMerge(funded_day1) AS funded_day1,
                        minMerge(digital_day1) AS digital_day1,
                        minMerge(card_day1) AS card_day1,
                        minMerge(bill_pay_day1) AS bill_pay_day1,
                        minMerge(deposit_day1) AS deposit_day1
                    FROM customer_activity
                    GROUP BY customer_id
                ) AS m USING (customer_id)
            ) AS cm
            ANY LEFT JOIN
            (
                SELECT customer_id, groupArray(day) AS ci_days
                FROM customer_early_transactions FINAL
                GROUP BY customer_id
            ) AS e USING (customer_id)
        ) AS joined
    ) AS per_customer
)
ARRAY JOIN
    [1, 2, 3, 4] AS step,
    ['activated', 'funded', 'engaged', 'sticky'] AS milestone,
    deadlines AS deadline_days,
    oks AS in_time,
    funnels AS in_funnel,
    arrayPushFront(arrayPopBack(funnels), toUInt8(1)) AS prev_funnel,
    evers AS ever
GROUP BY step, milestone, deadline_days
ORDER BY step
