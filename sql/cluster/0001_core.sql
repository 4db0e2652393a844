-- 0001_core (cluster): the same schema as sql/migrations/0001_core.sql for a replicated,
-- sharded ClickHouse cluster (a modern server: macros in ON CLUSTER need 20.x or later).
--
-- For every table T of the single-node set there is
--   * T_local: the data, on every replica of every shard (Replicated*MergeTree; the ZooKeeper path
--     uses the {shard} macro, the replica name the {replica} macro), same columns, same keys;
--   * T: a Distributed table over T_local that reads the whole cluster and routes inserts by
--     cityHash64(customer_id), so a customer's events, state and records all live on one shard
--     (per-customer queries and ReplacingMergeTree collapsing stay shard-local).
-- tests/store/test_sql_portability.py checks that the column lists match the single-node set.
-- Keep the two sets in step: a new single-node migration needs its cluster twin here.

-- events: see sql/migrations/0001_core.sql for the column documentation.
CREATE TABLE IF NOT EXISTS events_local ON CLUSTER '{cluster}'
(
    event_id            String,             -- producer-assigned UUID text; the de-duplication key
    event_type          Enum8('account_opened' = 1, 'login' = 2, 'transaction' = 3, 'complaint' = 4, 'closure' = 5),
    customer_id         String,             -- opaque bank customer id (the Kafka key)
    account_id          Nullable(String),   -- account concerned, NULL for customer-level events
    occurred_at         DateTime('UTC'),    -- event time, whole seconds
    occurred_at_ms      UInt64,             -- event time in epoch milliseconds, as in the Avro record
    opened_at           DateTime('UTC') DEFAULT toDateTime(0, 'UTC'),  -- the customer's account-opening time copied onto every row (epoch 0 = not known when written)
    opening_channel     Enum8('branch' = 1, 'online' = 2, 'mobile' = 3, 'atm' = 4, 'contact_centre' = 5, 'pos' = 6, 'batch' = 7, 'other' = 8) DEFAULT 'other',  -- channel the customer opened through, copied like opened_at
    channel             Enum8('branch' = 1, 'online' = 2, 'mobile' = 3, 'atm' = 4, 'contact_centre' = 5, 'pos' = 6, 'batch' = 7, 'other' = 8),  -- touchpoint channel of this event
    branch_id           String DEFAULT '',  -- attributed branch, '' = none
    region              String DEFAULT '',  -- bank-defined region, '' = unknown
    -- account_opened
    product             String DEFAULT '',  -- product opened (also: product of the account, if known)
    segment             String DEFAULT '',  -- customer segment at opening
    is_new_customer     UInt8 DEFAULT 0,    -- 1 = this opening starts a journey
    campaign            String DEFAULT '',  -- acquisition campaign / offer code
    -- login
    success             UInt8 DEFAULT 0,    -- 1 = login succeeded
    auth_method         String DEFAULT '',
    -- transaction (money in minor units: no floating point)
    amount_minor        Int64 DEFAULT 0,    -- always >= 0; see direction
    currency            String DEFAULT '',  -- ISO 4217
    direction           String DEFAULT '',  -- credit | debit
    kind                String DEFAULT '',  -- card_purchase, atm_withdrawal, transfer_in/out, direct_deposit, bill_pay, fee, interest, ...
    customer_initiated  UInt8 DEFAULT 0,    -- 1 = counts as customer activity (interest and fees do not)
    counterparty_type   String DEFAULT '',  -- same_customer, same_bank, other_bank, merchant, employer, ...
    balance_after_minor Nullable(Int64),    -- balance after the transaction, when the core system sends it
    -- complaint
    complaint_id        String DEFAULT '',
    category            String DEFAULT '',
    severity            String DEFAULT '',  -- low | medium | high | critical
    status              String DEFAULT '',  -- opened | resolved
    -- closure
    reason              String DEFAULT '',  -- closure reason (customer_request, switched_bank, fees, ...)
    last_account        UInt8 DEFAULT 0,    -- 1 = the customer holds no account after this closure
    ingested_at         DateTime('UTC') DEFAULT now()  -- when the row was written (diagnostics only)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/journey/events_local', '{replica}')
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (customer_id, occurred_at, event_id);

CREATE TABLE IF NOT EXISTS events ON CLUSTER '{cluster}' AS events_local
ENGINE = Distributed('{cluster}', currentDatabase(), events_local, cityHash64(customer_id));

-- customer_state: see sql/migrations/0001_core.sql for the column documentation.
CREATE TABLE IF NOT EXISTS customer_state_local ON CLUSTER '{cluster}'
(
    customer_id               String,
    opened_at                 DateTime('UTC'),           -- account-opening time: day 0 of the journey
    opening_channel           Enum8('branch' = 1, 'online' = 2, 'mobile' = 3, 'atm' = 4, 'contact_centre' = 5, 'pos' = 6, 'batch' = 7, 'other' = 8),  -- channel of the opening
    branch_id                 String DEFAULT '',         -- home / opening branch
    region                    String DEFAULT '',
    segment                   String DEFAULT '',         -- segment at opening
    products                  Array(String),             -- products currently held (opening product first)
    campaign                  String DEFAULT '',         -- acquisition campaign of the opening
    stage                     String DEFAULT 'opened',   -- journey stage reached: opened, logged_in, funded, active, sticky, dormant, defected
    first_login_at            Nullable(DateTime('UTC')), -- first successful login
    funded_at                 Nullable(DateTime('UTC')), -- first customer-initiated credit
    first_sticky_at           Nullable(DateTime('UTC')), -- first use of any sticky service
    sticky_services           Array(String),             -- sticky services used so far: online_banking, mobile_banking, debit_card, bill_pay, direct_deposit
    sticky_online_day         Nullable(Int32),           -- day since opening of first online/mobile login
    sticky_debit_card_day     Nullable(Int32),           -- ... of first card purchase
    sticky_bill_pay_day       Nullable(Int32),           -- ... of first bill payment
    sticky_direct_deposit_day Nullable(Int32),           -- ... of first direct deposit
    logins                    UInt32 DEFAULT 0,          -- successful logins
    transactions              UInt32 DEFAULT 0,          -- all transactions
    customer_initiated_count  UInt32 DEFAULT 0,          -- transactions the customer initiated (dormancy counts these only)
    last_activity_at          Nullable(DateTime('UTC')), -- last customer-initiated activity (login or transaction)
    last_touchpoint_at        Nullable(DateTime('UTC')), -- last event of any kind
    last_touchpoint           String DEFAULT '',         -- its event type
    last_touchpoint_channel   String DEFAULT '',         -- its channel
    balance_minor             Nullable(Int64),           -- last known balance, minor units
    complaints_open           UInt16 DEFAULT 0,
    complaints_total          UInt16 DEFAULT 0,
    last_complaint_at         Nullable(DateTime('UTC')),
    defected                  UInt8 DEFAULT 0,           -- 1 = closed the last account or went silent
    defection_kind            String DEFAULT '',         -- closure | silent_attrition | other ('' = not defected)
    defected_at               Nullable(DateTime('UTC')),
    risk_score                Float32 DEFAULT 0,         -- explainable defection-risk score, 0..1
    risk_reasons              Array(String),             -- the reasons behind risk_score
    version                   UInt64,                    -- monotonically increasing per customer (e.g. event-time ms or an update counter)
    updated_at                DateTime('UTC') DEFAULT now()
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/journey/customer_state_local', '{replica}', version)
ORDER BY customer_id;

CREATE TABLE IF NOT EXISTS customer_state ON CLUSTER '{cluster}' AS customer_state_local
ENGINE = Distributed('{cluster}', currentDatabase(), customer_state_local, cityHash64(customer_id));

-- defections: see sql/migrations/0001_core.sql for the column documentation.
CREATE TABLE IF NOT EXISTS defections_local ON CLUSTER '{cluster}'
(
    record_id               String,
    customer_id             String,
    kind                    String,                    -- closure | silent_attrition | other
    sub_reason              String DEFAULT '',         -- closure reason, 'no_activity_90d', 'balance_drained', 'outbound_transfer', ...
    defected_at             DateTime('UTC'),           -- when (closure time, or when dormancy began)
    detected_at             DateTime('UTC'),           -- when the system concluded it
    opened_at               DateTime('UTC'),
    days_since_opening      Int32,
    window                  String,                    -- day_90 | year_1 | after_year_1
    stage_reached           String DEFAULT '',
    last_touchpoint         String DEFAULT '',         -- event type of the last touchpoint
    last_touchpoint_channel String DEFAULT '',
    last_touchpoint_at      Nullable(DateTime('UTC')),
    opening_channel         String DEFAULT '',
    branch_id               String DEFAULT '',
    region                  String DEFAULT '',
    segment                 String DEFAULT '',
    products                Array(String),
    open_complaint          UInt8 DEFAULT 0,           -- 1 = a complaint was open at defection
    complaint_id            String DEFAULT '',         -- the most recent complaint, if any
    complaint_category      String DEFAULT '',
    days_since_complaint    Nullable(Int32),           -- from that complaint to the defection
    risk_score              Nullable(Float32),         -- score just before defecting
    version                 UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/journey/defections_local', '{replica}', version)
PARTITION BY toYYYYMM(opened_at)
ORDER BY (customer_id, record_id);

CREATE TABLE IF NOT EXISTS defections ON CLUSTER '{cluster}' AS defections_local
ENGINE = Distributed('{cluster}', currentDatabase(), defections_local, cityHash64(customer_id));

-- stalls: see sql/migrations/0001_core.sql for the column documentation.
CREATE TABLE IF NOT EXISTS stalls_local ON CLUSTER '{cluster}'
(
    record_id               String,                    -- deterministic: customer_id + milestone
    customer_id             String,
    milestone               String,                    -- first_login | funded | sticky | ...
    deadline_day            UInt16,                    -- e.g. 7, 30, 90
    deadline_at             DateTime('UTC'),           -- opened_at + deadline_day days
    detected_at             DateTime('UTC'),
    opened_at               DateTime('UTC'),
    window                  String,                    -- day_90 | year_1 | after_year_1
    stage_reached           String DEFAULT '',
    last_touchpoint         String DEFAULT '',
    last_touchpoint_channel String DEFAULT '',
    last_touchpoint_at      Nullable(DateTime('UTC')),
    opening_channel         String DEFAULT '',
    branch_id               String DEFAULT '',
    region                  String DEFAULT '',
    segment                 String DEFAULT '',
    products                Array(String),
    open_complaint          UInt8 DEFAULT 0,
    resolved_at             Nullable(DateTime('UTC')), -- milestone reached late (NULL = still stalled)
    version                 UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/journey/stalls_local', '{replica}', version)
PARTITION BY toYYYYMM(opened_at)
ORDER BY (customer_id, record_id);

CREATE TABLE IF NOT EXISTS stalls ON CLUSTER '{cluster}' AS stalls_local
ENGINE = Distributed('{cluster}', currentDatabase(), stalls_local, cityHash64(customer_id));

-- window_outcomes: see sql/migrations/0001_core.sql for the column documentation.
CREATE TABLE IF NOT EXISTS window_outcomes_local ON CLUSTER '{cluster}'
(
    record_id                String,                   -- deterministic: customer_id + window
    customer_id              String,
    window                   String,                   -- day_90 | year_1
    opened_at                DateTime('UTC'),
    window_end_at            DateTime('UTC'),
    outcome                  String,                   -- retained | defected | dormant | stalled
    stage_reached            String DEFAULT '',
    defected                 UInt8 DEFAULT 0,
    defection_kind           String DEFAULT '',
    defected_at              Nullable(DateTime('UTC')),
    days_since_opening       Nullable(Int32),          -- at defection, when defected
    logins                   UInt32 DEFAULT 0,
    transactions             UInt32 DEFAULT 0,
    customer_initiated_count UInt32 DEFAULT 0,
    sticky_services          Array(String),
    complaints_total         UInt16 DEFAULT 0,
    complaints_open          UInt16 DEFAULT 0,
    opening_channel          String DEFAULT '',
    branch_id                String DEFAULT '',
    region                   String DEFAULT '',
    segment                  String DEFAULT '',
    products                 Array(String),
    risk_score               Nullable(Float32),
    version                  UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/journey/window_outcomes_local', '{replica}', version)
PARTITION BY toYYYYMM(opened_at)
ORDER BY (customer_id, record_id);

CREATE TABLE IF NOT EXISTS window_outcomes ON CLUSTER '{cluster}' AS window_outcomes_local
ENGINE = Distributed('{cluster}', currentDatabase(), window_outcomes_local, cityHash64(customer_id));

-- cohort_daily: see sql/migrations/0001_core.sql for the column documentation.
CREATE TABLE IF NOT EXISTS cohort_daily_local ON CLUSTER '{cluster}'
(
    open_month      Date,
    opening_channel Enum8('branch' = 1, 'online' = 2, 'mobile' = 3, 'atm' = 4, 'contact_centre' = 5, 'pos' = 6, 'batch' = 7, 'other' = 8),
    event_type      Enum8('account_opened' = 1, 'login' = 2, 'transaction' = 3, 'complaint' = 4, 'closure' = 5),
    day             Date,                                     -- toDate(occurred_at), UTC
    customers       AggregateFunction(uniqExact, String),     -- distinct customer_id
    events          AggregateFunction(uniqExact, String)      -- distinct event_id (dedup-safe event count)
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/journey/cohort_daily_local', '{replica}')
PARTITION BY toYYYYMM(day)
ORDER BY (open_month, opening_channel, event_type, day);

CREATE TABLE IF NOT EXISTS cohort_daily ON CLUSTER '{cluster}' AS cohort_daily_local
ENGINE = Distributed('{cluster}', currentDatabase(), cohort_daily_local, rand());

-- Each shard aggregates its own inserts (the view reads events_local); the Distributed
-- cohort_daily merges the uniqExact states across shards at query time.
CREATE MATERIALIZED VIEW IF NOT EXISTS cohort_daily_mv ON CLUSTER '{cluster}' TO cohort_daily_local AS
SELECT
    toStartOfMonth(opened_at) AS open_month,
    opening_channel,
    event_type,
    toDate(occurred_at) AS day,
    uniqExactState(customer_id) AS customers,
    uniqExactState(event_id) AS events
FROM events_local
GROUP BY open_month, opening_channel, event_type, day;
