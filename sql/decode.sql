-- Decoding fixed IDs, and snowflake_from_timestamp() at the layout's edges.
SET timezone = 'UTC';
SET datestyle = 'ISO';

-- The smallest and the largest ID.
SELECT id, snowflake_timestamp(id), snowflake_node_id(id), snowflake_sequence(id)
FROM (VALUES (0::bigint), (9223372036854775807)) AS v(id);

-- Each field on its own: 1 ms, node 1023, sequence 4095, and a mix.
SELECT id, snowflake_timestamp(id), snowflake_node_id(id), snowflake_sequence(id)
FROM (VALUES ((1::bigint << 22)),
             ((1023::bigint << 12)),
             (4095::bigint),
             ((123456789::bigint << 22) | (512 << 12) | 77)) AS v(id);

-- The first ID of a millisecond; sub-millisecond parts are cut off.
SELECT ts, snowflake_from_timestamp(ts)
FROM (VALUES (timestamptz '2024-01-01 00:00:00+00'),
             (timestamptz '2024-01-01 00:00:00.0019+00'),
             (timestamptz '2024-01-01 00:00:00.001+00'),
             (timestamptz '2026-06-15 12:30:45.678+02'),
             (timestamptz '2093-09-06 15:47:35.551+00'),
             (timestamptz '2093-09-06 15:47:35.551999+00')) AS v(ts);

-- Round trips: timestamp -> first ID -> timestamp gives the millisecond back.
SELECT bool_and(snowflake_timestamp(snowflake_from_timestamp(ts)) = date_trunc('milliseconds', ts))
  AS timestamp_round_trip
FROM (SELECT timestamptz '2024-01-01 00:00:00+00' + n * interval '37 days 1.234567 seconds' AS ts
      FROM generate_series(0, 680) AS n) AS s;

-- ID -> parts -> ID for IDs spread over the whole range.
SELECT bool_and(snowflake_from_timestamp(snowflake_timestamp(id))
                  + (snowflake_node_id(id)::bigint << 12) + snowflake_sequence(id) = id)
  AS id_round_trip
FROM (SELECT n * 1152921504606846 + (n * 7919) % 4194304 AS id
      FROM generate_series(0::bigint, 7999) AS n) AS s;

-- Numeric order is time order.
SELECT snowflake_from_timestamp('2025-01-01 00:00:00.001+00')
         > snowflake_from_timestamp('2025-01-01 00:00:00+00') + (1023 << 12) + 4095
  AS later_ms_sorts_after_any_node_and_sequence;

-- Decoders are STRICT.
SELECT snowflake_timestamp(NULL) IS NULL AS t, snowflake_node_id(NULL) IS NULL AS n,
       snowflake_sequence(NULL) IS NULL AS s, snowflake_from_timestamp(NULL) IS NULL AS f;
