-- name: cohort_customers
-- description: Drill-down: the customer ids behind a cohort cell (a cohort, a breakdown value,
--   a defection status, a retention period), for outreach.
-- param: cohort_grain String = 'month' | cohort by the week (Monday) or month of opening (one of: week, month)
-- param: cohort Nullable(Date) = NULL | the cohort's first day (e.g. 2024-01-01); NULL = every cohort
-- param: breakdown String = 'all' | filter dimension (one of: all, opening_channel, segment, branch, region, product)
-- param: breakdown_value String = '' | the dimension's value to keep (ignored for breakdown = all)
-- param: status String = 'all' | which customers of the cell (one of: all, defected, defected_day_90, defected_year_1, closure, silent_attrition, other, not_defected, stalled)
-- param: period_days UInt16 = 30 | period length for active_period, as in retention_grid
-- param: active_period Int32 = -1 | keep customers active in this period since opening (-1 = no filter)
-- param: row_limit UInt32 = 100000 | at most this many customers (ordered by customer id)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- The same definitions as the aggregate queries, so the ids behind a cell add up to its count:
-- defected_day_90 / defected_year_1 = first defection before day 90 / 365 (defection_rates);
-- closure, silent_attrition, other = the kind of the first defection; stalled = current stage
-- stalled; active_period as retention_grid's "on" cell (from the customer_activity roll-up; the
-- activity filter does not apply as_of: activity after it counts).
-- Columns: customer_id, cohort, opened_at, opening_channel, segment, region, branch_id, product,
-- stage, first_defection_kind, first_defection_day, risk_score.
SELECT
    customer_id,
    cohort,
    opened_at,
    opening_channel,
    segment,
    region,
    branch_id,
    product,
    stage,
    if(has_defected = 1, first_kind, '') AS first_defection_kind,
    if(has_defected = 1, toInt32(first_day), CAST(NULL AS Nullable(Int32))) AS first_defection_day,
    risk_score
FROM
(
    SELECT
        customer_id,
        if({cohort_grain:String} = 'week', toMonday(opened_at), toStartOfMonth(opened_at)) AS cohort,
        opened_at,
        toString(opening_channel) AS opening_channel,
        segment,
        region,
        branch_id,
        if(empty(products), '', products[1]) AS product,
        stage,
        round(toFloat64(risk_score), 4) AS risk_score
    FROM customer_state FINAL
    WHERE opened_at > toDateTime(0, 'UTC')
      AND opened_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
      AND ({active_period:Int32} < 0 OR customer_id IN
           (SELECT customer_id FROM customer_activity
            WHERE {active_period:Int32} >= 0
            GROUP BY customer_id
            HAVING has(arrayMap(d -> toInt64(intDiv(d, {period_days:UInt16})),
                                arrayConcat(
                                    arrayMap(x -> toUInt16(log2(x)), bitmaskToArray(groupBitOrMerge(active_w0))),
                                    arrayMap(x -> toUInt16(log2(x) + 64), bitmaskToArray(groupBitOrMerge(active_w1))),
                                    arrayMap(x -> toUInt16(log2(x) + 128), bitmaskToArray(groupBitOrMerge(active_w2))),
                                    arrayMap(x -> toUInt16(log2(x) + 192), bitmaskToArray(groupBitOrMerge(active_w3))),
                                    arrayMap(x -> toUInt16(log2(x) + 256), bitmaskToArray(groupBitOrMerge(active_w4))),
                                    arrayMap(x -> toUInt16(log2(x) + 320), bitmaskToArray(groupBitOrMerge(active_w5))),
                                    arrayMap(x -> toUInt16(log2(x) + 384), bitmaskToArray(groupBitOrMerge(active_w6))),
                                    arrayMap(x -> toUInt16(log2(x) + 448), bitmaskToArray(groupBitOrMerge(active_w7))))),
                       toInt64({active_period:Int32}))))
) AS c
ANY LEFT JOIN
(
    SELECT
        customer_id,
        toUInt8(1) AS has_defected,
        min(days_since_opening) AS first_day,
        multiIf(argMin(kind, defected_at) = 'closure', 'closure',
                argMin(kind, defected_at) IN ('dormancy', 'balance_drained', 'outbound_transfer', 'silent_attrition'),
                'silent_attrition', 'other') AS first_kind
    FROM defections FINAL
    WHERE defected_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
    GROUP BY customer_id
) AS d USING (customer_id)
WHERE (isNull({cohort:Nullable(Date)}) OR cohort = {cohort:Nullable(Date)})
  AND ({breakdown:String} = 'all'
       OR multiIf({breakdown:String} = 'opening_channel', opening_channel,
                  {breakdown:String} = 'segment', segment,
                  {breakdown:String} = 'branch', branch_id,
                  {breakdown:String} = 'region', region,
                  {breakdown:String} = 'product', product, '') = {breakdown_value:String})
  AND multiIf({status:String} = 'all', 1,
              {status:String} = 'defected', has_defected = 1,
              {status:String} = 'defected_day_90', has_defected = 1 AND first_day < 90,
              {status:String} = 'defected_year_1', has_defected = 1 AND first_day < 365,
              {status:String} = 'not_defected', has_defected = 0,
              {status:String} = 'stalled', stage = 'stalled',
              has_defected = 1 AND first_kind = {status:String})
ORDER BY customer_id
LIMIT {row_limit:UInt32}
