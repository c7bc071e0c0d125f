-- The product's main use: a primary key with DEFAULT snowflake_next_id().
SET timezone = 'UTC';
-- Right after a start without state, IDs may run up to 2.5 s ahead of the
-- clock (docs/backup-restore.md, "Why"): this test is about steady state.
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    PERFORM snowflake_next_id();
    EXIT WHEN (SELECT clock_drift_ms FROM snowflake_status()) = 0;
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
CREATE TABLE orders (
  id bigint PRIMARY KEY DEFAULT snowflake_next_id(),
  n bigserial,
  item text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

INSERT INTO orders (item) SELECT 'item ' || n FROM generate_series(1, 5000) AS n;
INSERT INTO orders (item) VALUES ('one more') RETURNING id > 0 AS returned_id;

-- One row per ID, all from this node, in insertion order.
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_ids,
       bool_and(snowflake_node_id(id) = 42) AS all_node_42
FROM orders;
SELECT bool_and(id > prev) AS ids_follow_insertion_order
FROM (SELECT id, lag(id) OVER (ORDER BY n) AS prev FROM orders) AS s
WHERE prev IS NOT NULL;

-- The ID's time agrees with the row's creation time to within a second.
SELECT bool_and(abs(extract(epoch FROM snowflake_timestamp(id) - created_at)) < 1)
  AS id_time_is_creation_time
FROM orders;

-- A time range answered by the primary key.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT count(*) FROM orders
WHERE id >= snowflake_from_timestamp('2024-06-01 00:00+00')
  AND id < snowflake_from_timestamp('2024-06-02 00:00+00');
RESET enable_seqscan;
SELECT count(*) = (SELECT count(*) FROM orders) AS range_finds_all
FROM orders
WHERE id >= snowflake_from_timestamp(now() - interval '1 hour')
  AND id < snowflake_from_timestamp(now() + interval '1 hour');

-- Explicit IDs still work, and a duplicate is caught by the key as usual.
\set VERBOSITY terse
INSERT INTO orders (id, item) SELECT id, 'copy' FROM orders ORDER BY id LIMIT 1;
\set VERBOSITY default
DROP TABLE orders;
