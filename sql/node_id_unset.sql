-- Preloaded, but snowflake.node_id is not set: generation refuses, decoding works.
CREATE EXTENSION snowflake;
SHOW snowflake.node_id;
SELECT snowflake_next_id();
CREATE TABLE t (id bigint PRIMARY KEY DEFAULT snowflake_next_id(), v int);
INSERT INTO t (v) VALUES (1);
SELECT count(*) AS rows_inserted FROM t;
SELECT snowflake_node_id(4095::bigint << 12) AS decoding_still_works;
SELECT node_id, last_id, reservation_writes, state FROM snowflake_status();
DO $$
BEGIN
  PERFORM snowflake_next_id();
EXCEPTION WHEN object_not_in_prerequisite_state THEN
  RAISE NOTICE 'SQLSTATE %: %', SQLSTATE, SQLERRM;
END $$;
-- 1.1: the batch and the floor refuse without a node id too.
SELECT snowflake_next_ids(3);
SELECT snowflake_advance_past(1);
SELECT '384714070210670592'::snowflake AS type_works;
