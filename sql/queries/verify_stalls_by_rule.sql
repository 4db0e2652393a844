-- verify_stalls_by_rule: onboarding stalls raised (one row per rule episode) whose deadline
-- fell strictly before an instant, by stall rule, for `journey verify`.
-- The stalls table keeps the rule's name in its milestone column.
-- Parameter: as_of (epoch seconds, UTC). Runs on ClickHouse 18.16 and 26.x (chdb).
SELECT
    milestone AS rule,
    count() AS stalls
FROM stalls FINAL
WHERE toUInt32(deadline_at) < {as_of:UInt32}
GROUP BY rule
ORDER BY rule
