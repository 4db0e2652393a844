-- name: defections_where
-- description: Where new customers defect: first defections by journey stage reached, last
--   touchpoint, its channel, or another attribute, with the kinds in separate columns.
-- param: group_by String = 'stage' | attribute of each row (one of: stage, touchpoint, channel, touchpoint_channel, opening_channel, segment, region, branch, product, open_complaint)
-- param: window String = 'any' | only first defections in this window (one of: any, day_90, year_1, after_year_1)
-- param: from_date Date = '1970-01-01' | first opening day included (UTC)
-- param: to_date Date = '2105-12-31' | last opening day included (UTC)
-- param: as_of Nullable(DateTime('UTC')) = NULL | the data's "now"; NULL = the latest event time
--
-- One row per value of the attribute at the customer's first defection, as the engine recorded
-- it (stage reached before defecting, last touchpoint = event type of the last event and its
-- channel).  window: day_90 = days 0-89 since opening, year_1 = days 90-364 (the defections
-- table's own window), after_year_1 = day 365 on.  touchpoint_channel = 'type @ channel'.
-- Columns: value, defections, closure, silent_attrition, other, share (of all rows' defections),
-- median_day (median day since opening, quantileExact).
SELECT
    value,
    defections,
    closure,
    silent_attrition,
    other,
    round(defections / total, 4) AS share,
    median_day
FROM
(
    SELECT
        groupArray(value) AS values_,
        groupArray(n) AS ns,
        groupArray(n_closure) AS closures,
        groupArray(n_silent) AS silents,
        groupArray(n_other) AS others,
        groupArray(med) AS meds,
        sum(n) AS total
    FROM
    (
        SELECT
            value,
            count() AS n,
            countIf(kind_group = 'closure') AS n_closure,
            countIf(kind_group = 'silent_attrition') AS n_silent,
            countIf(kind_group = 'other') AS n_other,
            toFloat64(quantileExact(0.5)(day)) AS med
        FROM
        (
            SELECT
                multiIf({group_by:String} = 'stage', stage,
                        {group_by:String} = 'touchpoint', touch,
                        {group_by:String} = 'channel', touch_channel,
                        {group_by:String} = 'touchpoint_channel', concat(touch, ' @ ', touch_channel),
                        {group_by:String} = 'opening_channel', open_channel,
                        {group_by:String} = 'segment', seg,
                        {group_by:String} = 'region', reg,
                        {group_by:String} = 'branch', branch,
                        {group_by:String} = 'product', product,
                        {group_by:String} = 'open_complaint', if(complaint = 1, 'complaint open', 'no open complaint'),
                        '') AS value,
                multiIf(kind = 'closure', 'closure',
                        kind IN ('dormancy', 'balance_drained', 'outbound_transfer', 'silent_attrition'),
                        'silent_attrition', 'other') AS kind_group,
                day
            FROM
            (
                SELECT
                    customer_id,
                    argMin(kind, defected_at) AS kind,
                    argMin(window, defected_at) AS win,
                    argMin(days_since_opening, defected_at) AS day,
                    argMin(stage_reached, defected_at) AS stage,
                    argMin(last_touchpoint, defected_at) AS touch,
                    argMin(last_touchpoint_channel, defected_at) AS touch_channel,
                    argMin(opening_channel, defected_at) AS open_channel,
                    argMin(segment, defected_at) AS seg,
                    argMin(region, defected_at) AS reg,
                    argMin(branch_id, defected_at) AS branch,
                    argMin(if(empty(products), '', products[1]), defected_at) AS product,
                    argMin(open_complaint, defected_at) AS complaint
                FROM defections FINAL
                WHERE opened_at > toDateTime(0, 'UTC')
                  AND toDate(opened_at) >= {from_date:Date} AND toDate(opened_at) <= {to_date:Date}
                  AND defected_at <= assumeNotNull(ifNull({as_of:Nullable(DateTime('UTC'))}, (SELECT max(occurred_at) FROM events)))
                GROUP BY customer_id
            ) AS first_defection
            WHERE {window:String} = 'any' OR win = {window:String}
        ) AS labelled
        GROUP BY value
        ORDER BY n DESC, value
    ) AS grouped
) AS collected
ARRAY JOIN values_ AS value, ns AS defections, closures AS closure, silents AS silent_attrition,
           others AS other, meds AS median_day
ORDER BY defections DESC, value
