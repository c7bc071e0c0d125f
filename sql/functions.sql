-- Every function of the SQL API on a server preloaded with snowflake.node_id = 42.
SET timezone = 'UTC';
SET datestyle = 'ISO';

SELECT snowflake_next_id() > 0 AS positive;

-- The node id bits are the configured node id.
SELECT snowflake_node_id(snowflake_next_id()) = current_setting('snowflake.node_id')::int
  AS carries_node_id;

-- Strictly increasing within a statement, and no value twice.
WITH ids AS (
  SELECT n, snowflake_next_id() AS id FROM generate_series(1, 20000) AS n
)
SELECT bool_and(id > prev) AS increasing, count(*) AS pairs
FROM (SELECT id, lag(id) OVER (ORDER BY n) AS prev FROM ids) AS s
WHERE prev IS NOT NULL;

-- Increasing across statements too.
CREATE TEMP TABLE first_id AS SELECT snowflake_next_id() AS id;
SELECT snowflake_next_id() > id AS later_is_greater FROM first_id;

-- The timestamp is the wall clock at issue, to the millisecond.
SELECT abs(extract(epoch FROM snowflake_timestamp(snowflake_next_id()) - clock_timestamp())) < 5
  AS near_wall_clock;

-- Decoding and re-encoding agree with the bit layout.
SELECT snowflake_timestamp(id) = timestamptz '2024-01-01 00:00:00+00'
         + ((id >> 22) * interval '1 millisecond') AS timestamp_bits,
       snowflake_node_id(id) = ((id >> 12) & 1023) AS node_bits,
       snowflake_sequence(id) = (id & 4095) AS sequence_bits,
       snowflake_sequence(id) BETWEEN 0 AND 4095 AS sequence_in_range,
       snowflake_from_timestamp(snowflake_timestamp(id)) <= id AS from_timestamp_below,
       snowflake_from_timestamp(snowflake_timestamp(id) + interval '1 millisecond') > id
         AS next_ms_above
FROM (SELECT snowflake_next_id() AS id) AS s;

-- The state a DBA sees.
SELECT node_id, last_id IS NOT NULL AS has_last_id,
       snowflake_node_id(last_id) = node_id AS last_id_node,
       last_id_time = snowflake_timestamp(last_id) AS last_id_time_matches,
       reserved_until >= last_id_time AS reserved_ahead,
       clock_drift_ms >= 0 AS drift_not_negative,
       reservation_writes > 0 AS reservation_written,
       reservation_failures, clock_behind_errors, clock_warnings,
       lease_claims, leases_lost, fence_expirations, state
FROM snowflake_status();
