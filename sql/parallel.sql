-- snowflake_next_id() is PARALLEL SAFE: parallel workers draw from the same
-- shared-memory generator, so a parallel plan issues no value twice.
CREATE TABLE big AS SELECT n FROM generate_series(1, 200000) AS n;
ANALYZE big;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;

-- The function is evaluated in the workers, below the Gather.
EXPLAIN (VERBOSE, COSTS OFF)
SELECT count(*), count(DISTINCT id) FROM (SELECT snowflake_next_id() AS id FROM big) AS s;
-- Both workers ran, 100000 rows each, and no ID came out twice.
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT snowflake_next_id() AS id FROM big;
SELECT count(*) AS ids, count(DISTINCT id) AS distinct_ids
FROM (SELECT snowflake_next_id() AS id FROM big) AS s;
DROP TABLE big;
