-- name: milestone_funnel
-- description: Onboarding milestone funnel (activated -> funded -> engaged -> sticky): the share
--   of new customers reaching each milestone within its deadline, and all of them in order.
-- param: activated_days UInt16 = 7 | deadline for the first successful login or customer-initiated transaction
-- param: funded_days UInt16 = 30 | deadline for the first credit that is not interest or a fee
-- param: engaged_days UInt16 = 90 | deadline for the engaged_transactions-th customer-initiated transaction (at most 120: the roll-up keeps the first 120 days)
-- param: sticky_days UInt16 = 90 | deadline for using sticky_services distinct sticky services
-- param: engaged_transactions UInt8 = 5 | customer-initiated transactions that make a customer engaged (engaged_min_transactions)
-- param: sticky_services UInt8 = 2 | distinct sticky services that make a customer sticky (sticky_services_required)
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- Milestones follow docs/rules.md and are recomputed from the customer_activity roll-up of the
-- raw events (sql/analytics), so a deadline can be changed here without replaying the stream;
-- engaged counts the customer-initiated transactions of the first 120 days, distinct by event.
-- Sticky services: digital (a successful login or customer-initiated transaction online or on
-- mobile), debit_card (customer-initiated
-- card_purchase), bill_pay (customer-initiated bill_pay), direct_deposit (a direct_deposit
-- credit).  "Within the deadline" = strictly before opening + deadline days.  Population: new
-- customers (with an account opening) whose every deadline has passed by as_of (so nobody is
-- counted as missing a milestone they still have time to reach).  reached_ever = by as_of.
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
            tenure_days,
            if(first_active >= 100000, toInt64(-1), first_active) AS activated_day,
            if(funded_day1 = 65535, toInt64(-1), toInt64(funded_day1) - 1) AS funded_day,
            if(length(ci) < {engaged_transactions:UInt8}, toInt64(-1),
               toInt64(arrayElement(ci, {engaged_transactions:UInt8}))) AS engaged_day,
            if(length(services) < {sticky_services:UInt8}, toInt64(-1),
               toInt64(arrayElement(services, {sticky_services:UInt8})) - 1) AS sticky_day
        FROM
        (
            SELECT
                tenure_days,
                arrayReduce('min', arrayMap((x, k) -> if(x = 0, toInt64(100000), 64 * k + toInt64(log2(bitAnd(x, bitNot(x) + 1)))), arrayMap((x, k, b) -> bitAnd(x, if(greatest(least(b, 64 * k + 63) - greatest(0, 64 * k) + 1, 0) >= 64, toUInt64(18446744073709551615), toUInt64(bitShiftLeft(toUInt64(bitShiftLeft(toUInt64(1), greatest(least(b, 64 * k + 63) - greatest(0, 64 * k) + 1, 0)) - 1), least(greatest(0, 64 * k) - 64 * k, 63))))),
                                 words, [0, 1, 2, 3, 4, 5, 6, 7], arrayResize([tenure_days], 8, tenure_days)), [0, 1, 2, 3, 4, 5, 6, 7])) AS first_active,
                funded_day1,
                arraySort(ci_days) AS ci,
                arraySort(arrayFilter(x -> x < 65535,
                                      [digital_day1, card_day1, bill_pay_day1, deposit_day1])) AS services
            FROM
            (
                SELECT
                    customer_id,
                    intDiv(toInt64(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))) - toInt64(opened), 86400) AS tenure_days,
                    words, funded_day1, digital_day1, card_day1, bill_pay_day1, deposit_day1
                FROM
                (
                    SELECT
                        customer_id,
                        finalizeAggregation(opened) AS opened,
                        [finalizeAggregation(active_w0), finalizeAggregation(active_w1), finalizeAggregation(active_w2), finalizeAggregation(active_w3), finalizeAggregation(active_w4), finalizeAggregation(active_w5), finalizeAggregation(active_w6), finalizeAggregation(active_w7)] AS words,
                        finalizeAggregation(funded_day1) AS funded_day1,
                        finalizeAggregation(digital_day1) AS digital_day1,
                        finalizeAggregation(card_day1) AS card_day1,
                        finalizeAggregation(bill_pay_day1) AS bill_pay_day1,
                        finalizeAggregation(deposit_day1) AS deposit_day1
                    FROM customer_activity FINAL
                ) AS r
                WHERE toDate(opened) >= {from_date:Date} AND toDate(opened) <= {to_date:Date}
                  AND intDiv(toInt64(assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))) - toInt64(opened), 86400)
                      >= greatest(greatest({activated_days:UInt16}, {funded_days:UInt16}),
                                  greatest({engaged_days:UInt16}, {sticky_days:UInt16}))
            ) AS c
            ANY LEFT JOIN
            (
                SELECT
                    customer_id,
                    -- one day per distinct event: pack (event hash, day) into one number, sort,
                    -- and drop a number equal to the one before it (a re-delivered row not
                    -- merged away yet); day < 1024 fits in the low 10 bits
                    arraySort(groupArray(bitOr(bitShiftLeft(bitShiftRight(event_key, 10), 10),
                                               toUInt64(day)))) AS keys,
                    arrayMap(x -> toUInt16(x % 1024), arrayFilter((x, y) -> x != y, keys,
                        arrayPushFront(arrayPopBack(keys), toUInt64(18446744073709551615)))) AS ci_days
                FROM customer_early_transactions
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
