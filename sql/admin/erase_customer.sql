-- erase_customer: right to erasure for one customer, in every table that holds their rows.
--
-- Parameter: {customer_id:String}, the opaque customer id (the Kafka key).  Run it with
-- `journey erase CUSTOMER_ID`, which binds the value (never pastes it into the text), runs the
-- statements in order and waits for the mutations to finish; or by hand in clickhouse-client
-- (26.x: --param_customer_id=...; 18.16 has no query parameters: substitute a quoted literal).
--
-- ALTER TABLE ... DELETE is a mutation (ClickHouse 18.16 and 26.x alike): it returns at once and
-- rewrites the affected parts in the background; system.mutations says when it is done.  It is
-- idempotent: running it twice deletes nothing the second time.
--
-- cohort_daily (the pre-aggregate fed by cohort_daily_mv) holds no customer id, only uniqExact
-- states (128-bit hashes of ids inside aggregate states) that cannot be edited per customer;
-- docs/privacy.md says how to rebuild its partitions from events after an erasure.
-- The analytics roll-ups (sql/analytics: customer_activity, customer_early_transactions,
-- customer_complaints) exist once `journey query` or `journey report` has built them; a
-- statement whose table does not exist is skipped by `journey erase`.
-- On the cluster layout (sql/cluster) run the same statements against the *_local tables
-- ON CLUSTER '{cluster}'.
-- The statement separator is a ';' at the very end of a line.
ALTER TABLE events DELETE WHERE customer_id = {customer_id:String};
ALTER TABLE customer_state DELETE WHERE customer_id = {customer_id:String};
ALTER TABLE defections DELETE WHERE customer_id = {customer_id:String};
ALTER TABLE stalls DELETE WHERE customer_id = {customer_id:String};
ALTER TABLE window_outcomes DELETE WHERE customer_id = {customer_id:String};
ALTER TABLE customer_activity DELETE WHERE customer_id = {customer_id:String};
ALTER TABLE customer_early_transactions DELETE WHERE customer_id = {customer_id:String};
ALTER TABLE customer_complaints DELETE WHERE customer_id = {customer_id:String};
