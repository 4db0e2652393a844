-- 0001_rollups: per-customer summaries of the raw events, kept by materialized views, so the
-- cohort queries read one small row per customer instead of every event (50M events -> 1M
-- rows).  Created by `journey query` / `journey report` (streams/analytics/rollup.py) the
-- first time they run against a database, then back-filled from events once; from then on
-- every insert into events feeds them.  Every state is a bit-OR, a minimum or a replacing key,
-- so an event counted twice (a re-delivery, or an insert racing the back-fill) changes nothing.
-- Why bitmasks: merging a set state (groupUniqArray) for a million customers costs seconds;
-- OR-ing eight 64-bit words costs what a sum does.  Portable to 18.16 (no -If states, whose
-- types differ there: "no value" is 0 bits, or the day 65535).
-- Statements end with ';' at the end of a line.  Runs on ClickHouse 18.16 and 26.x.

-- customer_activity: one row per customer after merges (read with FINAL and
-- finalizeAggregation, or -Merge ... GROUP BY); every customer with an opening has a row.
--   opened          the account-opening instant copied on the events (day 0);
--   active_w0..7    bit d (word d / 64, bit d % 64) = activity on day d since opening (whole
--                   24-hour days, days 0-511): a successful login or a customer-initiated
--                   transaction (retention, activation);
--   calendar_w0..7  the same activity by calendar day (UTC) since the opening date (lifecycle);
--   *_day1          1 + the first day of a milestone (65535 = not yet): a funding credit (not
--                   interest or a fee), digital use (online/mobile), a debit-card purchase, a
--                   bill payment, a direct deposit (the funnel).
CREATE TABLE IF NOT EXISTS customer_activity
(
    customer_id     String,
    opened          AggregateFunction(min, DateTime('UTC')),
    active_w0      AggregateFunction(groupBitOr, UInt64),
    active_w1      AggregateFunction(groupBitOr, UInt64),
    active_w2      AggregateFunction(groupBitOr, UInt64),
    active_w3      AggregateFunction(groupBitOr, UInt64),
    active_w4      AggregateFunction(groupBitOr, UInt64),
    active_w5      AggregateFunction(groupBitOr, UInt64),
    active_w6      AggregateFunction(groupBitOr, UInt64),
    active_w7      AggregateFunction(groupBitOr, UInt64),
    calendar_w0    AggregateFunction(groupBitOr, UInt64),
    calendar_w1    AggregateFunction(groupBitOr, UInt64),
    calendar_w2    AggregateFunction(groupBitOr, UInt64),
    calendar_w3    AggregateFunction(groupBitOr, UInt64),
    calendar_w4    AggregateFunction(groupBitOr, UInt64),
    calendar_w5    AggregateFunction(groupBitOr, UInt64),
    calendar_w6    AggregateFunction(groupBitOr, UInt64),
    calendar_w7    AggregateFunction(groupBitOr, UInt64),
    funded_day1     AggregateFunction(min, UInt16),
    digital_day1    AggregateFunction(min, UInt16),
    card_day1       AggregateFunction(min, UInt16),
    bill_pay_day1   AggregateFunction(min, UInt16),
    deposit_day1    AggregateFunction(min, UInt16)
)
ENGINE = AggregatingMergeTree
ORDER BY customer_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS customer_activity_mv TO customer_activity AS
SELECT
    customer_id,
    minState(opened_at) AS opened,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400), 64) = 0,
        toUInt64(bitShiftLeft(toUInt64(1), intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) % 64)), toUInt64(0))) AS active_w0,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400), 64) = 1,
        toUInt64(bitShiftLeft(toUInt64(1), intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) % 64)), toUInt64(0))) AS active_w1,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400), 64) = 2,
        toUInt64(bitShiftLeft(toUInt64(1), intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) % 64)), toUInt64(0))) AS active_w2,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400), 64) = 3,
        toUInt64(bitShiftLeft(toUInt64(1), intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) % 64)), toUInt64(0))) AS active_w3,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400), 64) = 4,
        toUInt64(bitShiftLeft(toUInt64(1), intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) % 64)), toUInt64(0))) AS active_w4,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400), 64) = 5,
        toUInt64(bitShiftLeft(toUInt64(1), intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) % 64)), toUInt64(0))) AS active_w5,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400), 64) = 6,
        toUInt64(bitShiftLeft(toUInt64(1), intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) % 64)), toUInt64(0))) AS active_w6,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400), 64) = 7,
        toUInt64(bitShiftLeft(toUInt64(1), intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) % 64)), toUInt64(0))) AS active_w7,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)), 64) = 0,
        toUInt64(bitShiftLeft(toUInt64(1), toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)) % 64)), toUInt64(0))) AS calendar_w0,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)), 64) = 1,
        toUInt64(bitShiftLeft(toUInt64(1), toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)) % 64)), toUInt64(0))) AS calendar_w1,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)), 64) = 2,
        toUInt64(bitShiftLeft(toUInt64(1), toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)) % 64)), toUInt64(0))) AS calendar_w2,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)), 64) = 3,
        toUInt64(bitShiftLeft(toUInt64(1), toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)) % 64)), toUInt64(0))) AS calendar_w3,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)), 64) = 4,
        toUInt64(bitShiftLeft(toUInt64(1), toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)) % 64)), toUInt64(0))) AS calendar_w4,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)), 64) = 5,
        toUInt64(bitShiftLeft(toUInt64(1), toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)) % 64)), toUInt64(0))) AS calendar_w5,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)), 64) = 6,
        toUInt64(bitShiftLeft(toUInt64(1), toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)) % 64)), toUInt64(0))) AS calendar_w6,
    groupBitOrState(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND intDiv(toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)), 64) = 7,
        toUInt64(bitShiftLeft(toUInt64(1), toUInt32(toRelativeDayNum(occurred_at) - toRelativeDayNum(opened_at)) % 64)), toUInt64(0))) AS calendar_w7,
    minState(toUInt16(if(event_type = 'transaction' AND direction = 'credit' AND kind NOT IN ('interest', 'fee'),
        least(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) + 1, 65534), 65535))) AS funded_day1,
    minState(toUInt16(if(((event_type = 'login' AND success = 1) OR (event_type = 'transaction' AND customer_initiated = 1)) AND channel IN ('online', 'mobile'),
        least(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) + 1, 65534), 65535))) AS digital_day1,
    minState(toUInt16(if(event_type = 'transaction' AND customer_initiated = 1 AND kind = 'card_purchase',
        least(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) + 1, 65534), 65535))) AS card_day1,
    minState(toUInt16(if(event_type = 'transaction' AND customer_initiated = 1 AND kind = 'bill_pay',
        least(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) + 1, 65534), 65535))) AS bill_pay_day1,
    minState(toUInt16(if(event_type = 'transaction' AND direction = 'credit' AND kind = 'direct_deposit',
        least(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400) + 1, 65534), 65535))) AS deposit_day1
FROM events
WHERE opened_at > toDateTime(0, 'UTC') AND occurred_at >= opened_at
  AND event_type IN ('account_opened', 'login', 'transaction')
GROUP BY customer_id;

-- customer_early_transactions: the customer-initiated transactions of each customer's first
-- 120 days, one row per event (ReplacingMergeTree on the event: a re-delivery collapses in a
-- merge; queries also drop repeated event keys themselves, FINAL being slow on millions of
-- rows), for the "N-th transaction" milestone (engaged).
CREATE TABLE IF NOT EXISTS customer_early_transactions
(
    customer_id String,
    event_key   UInt64,   -- cityHash64(event_id)
    day         UInt16    -- whole days since opening
)
ENGINE = ReplacingMergeTree
ORDER BY (customer_id, event_key);

CREATE MATERIALIZED VIEW IF NOT EXISTS customer_early_transactions_mv TO customer_early_transactions AS
SELECT
    customer_id,
    cityHash64(event_id) AS event_key,
    toUInt16(intDiv(toUInt32(occurred_at) - toUInt32(opened_at), 86400)) AS day
FROM events
WHERE event_type = 'transaction' AND customer_initiated = 1
  AND opened_at > toDateTime(0, 'UTC') AND occurred_at >= opened_at
  AND toUInt32(occurred_at) - toUInt32(opened_at) < 120 * 86400;

-- customer_complaints: one row per complaint (customer, complaint_id): when it was raised, its
-- category, and when it was first resolved (2106-02-07, the largest DateTime = not resolved).
CREATE TABLE IF NOT EXISTS customer_complaints
(
    customer_id  String,
    complaint_id String,
    raised_at    AggregateFunction(min, DateTime('UTC')),
    category     AggregateFunction(argMin, String, DateTime('UTC')),
    resolved_at  AggregateFunction(min, DateTime('UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (customer_id, complaint_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS customer_complaints_mv TO customer_complaints AS
SELECT
    customer_id,
    complaint_id,
    minState(occurred_at) AS raised_at,
    argMinState(category, occurred_at) AS category,
    minState(if(status = 'resolved', occurred_at, toDateTime(4294967295, 'UTC'))) AS resolved_at
FROM events
WHERE event_type = 'complaint' AND opened_at > toDateTime(0, 'UTC')
GROUP BY customer_id, complaint_id;
