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
SELECT snowflake_next_id() AS id FROM big;

-- Both workers ran, 100000 rows each. Read from EXPLAIN's JSON, not its text,
-- whose row counts PostgreSQL 18 prints with decimals.
CREATE FUNCTION explain_analyze_json(query text) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
  plan json;
BEGIN
  EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || query INTO plan;
  RETURN plan->0->'Plan';
END
$$;
SELECT p->>'Node Type' AS node,
       (p->>'Workers Launched')::int AS workers_launched,
       p->'Plans'->0->>'Node Type' AS worker_node,
       round((p->'Plans'->0->>'Actual Rows')::numeric) AS rows_per_worker,
       (p->'Plans'->0->>'Actual Loops')::int AS loops
FROM explain_analyze_json('SELECT snowflake_next_id() AS id FROM big') AS p;

-- And no ID came out twice.
SELECT count(*) AS ids, count(DISTINCT id) AS distinct_ids
FROM (SELECT snowflake_next_id() AS id FROM big) AS s;
DROP FUNCTION explain_analyze_json(text);
DROP TABLE big;
