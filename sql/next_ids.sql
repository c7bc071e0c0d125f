-- snowflake_next_ids(n): n IDs of this server, strictly increasing, each
-- greater than every ID issued before the call.
CREATE OR REPLACE FUNCTION sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;

CREATE TEMP TABLE before AS SELECT snowflake_next_id() AS id;
CREATE TEMP TABLE batch AS
  SELECT row_number() OVER () AS n, id FROM snowflake_next_ids(10000) AS id;
CREATE TEMP TABLE after AS SELECT snowflake_next_id() AS id;
SELECT count(*) AS ids, count(DISTINCT id) AS distinct_ids,
       min(id) > (SELECT id FROM before) AS above_every_earlier_id,
       max(id) < (SELECT id FROM after) AS below_every_later_id,
       bool_and(snowflake_node_id(id) = 42) AS this_node,
       pg_typeof(min(id)) AS type
FROM batch;
-- Strictly increasing, in the order returned.
SELECT bool_and(id > prev) AS increasing
FROM (SELECT id, lag(id) OVER (ORDER BY n) AS prev FROM batch) AS s WHERE prev IS NOT NULL;
-- Taken in runs of one millisecond: 10000 IDs span at least 3 milliseconds,
-- at most 4096 share one, and within a millisecond they are consecutive.
SELECT count(*) >= 3 AS at_least_three_ms, max(c) <= 4096 AS at_most_4096_per_ms,
       bool_and(span = c - 1) AS consecutive_within_ms
FROM (SELECT snowflake_timestamp(id), count(*) AS c, max(id) - min(id) AS span
      FROM batch GROUP BY 1) AS per_ms;

-- Small and large n; in the select list; fills a snowflake and a bigint column.
SELECT count(*) AS one FROM snowflake_next_ids(1);
SELECT count(*) AS limit_n FROM snowflake_next_ids(1000000);
SELECT count(*) AS in_select_list FROM (SELECT snowflake_next_ids(5)) AS s;
CREATE TABLE loaded (id snowflake PRIMARY KEY, b bigint UNIQUE);
INSERT INTO loaded SELECT id, id FROM snowflake_next_ids(5000) AS id;
SELECT count(*) AS loaded FROM loaded;
DROP TABLE loaded;
-- Two calls in one statement never overlap.
SELECT count(*) AS both_calls, count(DISTINCT id) AS distinct_ids
FROM (SELECT snowflake_next_ids(3000) AS id UNION ALL SELECT snowflake_next_ids(3000)) AS s;
SELECT count(*) AS null_gives_no_rows FROM snowflake_next_ids(NULL);

-- Bad n: a clean error (22023) naming the limit.
SELECT snowflake_next_ids(0);
SELECT snowflake_next_ids(-5);
SELECT snowflake_next_ids(1000001);
SELECT sqlstate_of('SELECT snowflake_next_ids(0)') AS zero,
       sqlstate_of('SELECT snowflake_next_ids(-1)') AS negative,
       sqlstate_of('SELECT snowflake_next_ids(2147483647)') AS too_many;

-- Labels.
SELECT proname, provolatile, proparallel, proisstrict, proretset, prorows
FROM pg_proc WHERE proname = 'snowflake_next_ids';

DROP FUNCTION sqlstate_of(text);
