-- query_bench_population: a synthetic bank for bench/query_bench.py, generated inside ClickHouse
-- with numbers() (INSERT ... SELECT: no rows cross into Python).  Not realistic behaviour, only
-- realistic volume and shape: {customers} new customers opening through 2024, about
-- {events_per_customer} events each up to the horizon 2025-03-01, ~22 % with a defection (half
-- in the first 90 days), ~30 % with a stall.  Deterministic (intHash32 of the row number).
-- Statements end with ';' at the end of a line.

INSERT INTO customer_state (customer_id, opened_at, opening_channel, branch_id, region, segment,
                            products, stage, version)
SELECT
    concat('c', toString(number)) AS customer_id,
    toDateTime(1704067200 + intHash32(number) % (365 * 86400), 'UTC') AS opened_at,
    ['branch', 'online', 'mobile', 'contact_centre'][1 + intHash32(number + 1) % 4] AS opening_channel,
    if(intHash32(number + 1) % 4 = 0, concat('b', toString(intHash32(number + 2) % 300)), '') AS branch_id,
    ['north', 'south', 'east', 'west', 'central'][1 + intHash32(number + 3) % 5] AS region,
    ['mass', 'premium', 'student', 'social'][1 + intHash32(number + 4) % 4] AS segment,
    [['current', 'savings', 'card'][1 + intHash32(number + 5) % 3]] AS products,
    ['activated', 'funded', 'engaged', 'sticky', 'stalled', 'dormant', 'defected'][1 + intHash32(number + 6) % 7] AS stage,
    toUInt64(1) AS version
FROM numbers({customers:UInt64});

INSERT INTO defections (record_id, customer_id, kind, defected_at, detected_at, opened_at,
                        days_since_opening, window, stage_reached, last_touchpoint,
                        last_touchpoint_channel, opening_channel, branch_id, region, segment,
                        products, open_complaint, version)
SELECT
    concat('c', toString(number), ':defection:1'),
    concat('c', toString(number)),
    ['closure', 'dormancy', 'balance_drained', 'outbound_transfer'][1 + intHash32(number + 7) % 4],
    toDateTime(toUInt32(opened) + day * 86400, 'UTC'),
    toDateTime(toUInt32(opened) + day * 86400, 'UTC'),
    opened,
    toInt32(day),
    multiIf(day < 90, 'day_90', day < 365, 'year_1', 'after_year_1'),
    ['activated', 'funded', 'engaged', 'sticky'][1 + intHash32(number + 11) % 4],
    ['login', 'transaction', 'complaint'][1 + intHash32(number + 12) % 3],
    ['online', 'mobile', 'branch', 'atm'][1 + intHash32(number + 13) % 4],
    ['branch', 'online', 'mobile', 'contact_centre'][1 + intHash32(number + 1) % 4],
    '',
    ['north', 'south', 'east', 'west', 'central'][1 + intHash32(number + 3) % 5],
    ['mass', 'premium', 'student', 'social'][1 + intHash32(number + 4) % 4],
    ['current'],
    toUInt8(intHash32(number + 14) % 10 = 0),
    toUInt64(1)
FROM
(
    SELECT
        number,
        toDateTime(1704067200 + intHash32(number) % (365 * 86400), 'UTC') AS opened,
        toUInt32(if(intHash32(number + 8) % 2 = 0, intHash32(number + 9) % 90, intHash32(number + 9) % 365)) AS day
    FROM numbers({customers:UInt64})
) AS g
WHERE intHash32(number + 10) % 100 < 22 AND toUInt32(opened) + day * 86400 < 1740787200;

INSERT INTO stalls (record_id, customer_id, milestone, deadline_day, deadline_at, detected_at,
                    opened_at, window, opening_channel, region, segment, products, version)
SELECT
    concat('c', toString(number), ':stall:', rule),
    concat('c', toString(number)),
    rule,
    toUInt16(deadline),
    toDateTime(toUInt32(opened) + deadline * 86400, 'UTC'),
    toDateTime(toUInt32(opened) + deadline * 86400, 'UTC'),
    opened,
    if(deadline < 90, 'day_90', 'year_1'),
    ['branch', 'online', 'mobile', 'contact_centre'][1 + intHash32(number + 1) % 4],
    ['north', 'south', 'east', 'west', 'central'][1 + intHash32(number + 3) % 5],
    ['mass', 'premium', 'student', 'social'][1 + intHash32(number + 4) % 4],
    ['current'],
    toUInt64(1)
FROM
(
    SELECT
        number,
        toDateTime(1704067200 + intHash32(number) % (365 * 86400), 'UTC') AS opened,
        ['no_login_by_day_7', 'not_funded_by_day_30', 'no_activity_30_days_in_day_90', 'no_sticky_by_day_90'][1 + intHash32(number + 15) % 4] AS rule,
        [7, 30, 31, 90][1 + intHash32(number + 15) % 4] AS deadline
    FROM numbers({customers:UInt64})
) AS g
WHERE intHash32(number + 16) % 100 < 30;

INSERT INTO events (event_id, event_type, customer_id, occurred_at, occurred_at_ms, opened_at,
                    opening_channel, channel, success, kind, direction, customer_initiated,
                    amount_minor, complaint_id, category, status)
SELECT
    concat('e', toString(number)),
    event_type,
    concat('c', toString(c)),
    occurred,
    toUInt64(toUInt32(occurred)) * 1000,
    opened,
    ['branch', 'online', 'mobile', 'contact_centre'][1 + intHash32(c + 1) % 4],
    ['online', 'mobile', 'branch', 'atm', 'pos'][1 + h % 5],
    toUInt8(event_type = 'login' AND h % 20 != 0),
    if(event_type = 'transaction', kind_, ''),
    if(event_type = 'transaction', if(kind_ IN ('transfer_in', 'direct_deposit', 'interest'), 'credit', 'debit'), ''),
    toUInt8(event_type = 'transaction' AND kind_ NOT IN ('interest', 'fee', 'direct_deposit')),
    toInt64(if(event_type = 'transaction', 100 + h % 100000, 0)),
    if(event_type = 'complaint', concat('k', toString(c)), ''),
    if(event_type = 'complaint', ['fees', 'service', 'fraud', 'app'][1 + h % 4], ''),
    if(event_type = 'complaint', if(h % 3 = 0, 'resolved', 'opened'), '')
FROM
(
    SELECT
        number,
        intDiv(number, {events_per_customer:UInt64}) AS c,
        intHash32(number) AS h,
        toDateTime(1704067200 + intHash32(c) % (365 * 86400), 'UTC') AS opened,
        intDiv(1740787200 - toUInt32(opened), 86400) AS tenure,
        multiIf(number % {events_per_customer:UInt64} = 0, 'account_opened',
                intHash32(number + 1) % 100 < 38, 'login',
                intHash32(number + 1) % 100 < 99, 'transaction', 'complaint') AS event_type,
        ['card_purchase', 'transfer_in', 'bill_pay', 'direct_deposit', 'atm_withdrawal',
         'interest', 'fee', 'transfer_out'][1 + intHash32(number + 2) % 8] AS kind_,
        if(event_type = 'account_opened', opened,
           toDateTime(toUInt32(opened) + (intHash32(number + 3) % greatest(tenure, 1)) * 86400
                      + intHash32(number + 4) % 86400, 'UTC')) AS occurred
    FROM numbers({customers:UInt64} * {events_per_customer:UInt64})
) AS g;
