-- verify_defections_by_kind: defection records detected before an instant, by kind, for
-- `journey verify` (compared with the simulator's ground truth).
-- The engine's three silent kinds (dormancy, outbound_transfer, balance_drained) are one
-- kind, silent_attrition, in the truth; closure is closure.
-- A closure is detected at the closure; a silent defection when its rule concludes (e.g. last
-- activity + dormancy_days), which is what detected_at holds.
-- Parameter: as_of (epoch seconds, UTC): only defections detected strictly before it count.
-- Runs unchanged on ClickHouse 18.16 and 26.x (chdb); FINAL collapses re-delivered rows.
SELECT
    if(kind = 'closure', 'closure', 'silent_attrition') AS kind_group,
    count() AS defections
FROM defections FINAL
WHERE toUInt32(detected_at) < {as_of:UInt32}
GROUP BY kind_group
ORDER BY kind_group
