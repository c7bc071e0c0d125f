-- Every error the SQL API raises on a preloaded server, with its SQLSTATE.
-- (Not preloaded, node id unset: see not_preloaded.sql and node_id_unset.sql;
-- recovery, clock and disk errors: the TAP tests.)
CREATE FUNCTION sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;

-- A negative ID is out of range (22003), never a wrapped value.
SELECT snowflake_timestamp(-1);
SELECT snowflake_node_id(-9223372036854775808);
SELECT snowflake_sequence(-4096);
SELECT sqlstate_of('SELECT snowflake_timestamp(-1)') AS timestamp_negative,
       sqlstate_of('SELECT snowflake_node_id(-1)') AS node_id_negative,
       sqlstate_of('SELECT snowflake_sequence(-1)') AS sequence_negative;

-- A time outside 2024-01-01 .. 2093-09-06 15:47:35.551 is out of range (22008).
SELECT snowflake_from_timestamp('2023-12-31 23:59:59.999999+00');
SELECT snowflake_from_timestamp('2093-09-06 15:47:35.552+00');
SELECT sqlstate_of($$SELECT snowflake_from_timestamp('infinity')$$) AS infinity,
       sqlstate_of($$SELECT snowflake_from_timestamp('-infinity')$$) AS minus_infinity,
       sqlstate_of($$SELECT snowflake_from_timestamp('1970-01-01+00')$$) AS before_epoch;

-- The node id cannot change while the server runs; out-of-range values are
-- refused by PostgreSQL's own validation.
SET snowflake.node_id = 5;
ALTER SYSTEM SET snowflake.node_id = 1024;
ALTER SYSTEM SET snowflake.node_id = -2;
SELECT sqlstate_of('SET snowflake.node_id = 5') AS set_node_id,
       sqlstate_of('SET snowflake.max_clock_drift = 1') AS set_max_clock_drift;
-- PostgreSQL 17 and later print this range with its unit (2000 ms .. 2147483647 ms):
-- expected/errors_1.out is this file's output there; change both.
ALTER SYSTEM SET snowflake.max_clock_drift = -1;
SHOW snowflake.node_id;

-- The snowflake. prefix is reserved: a typo is an error, not a silent placeholder.
SET snowflake.nodeid = 5;

-- snowflake_status() is for superusers and pg_monitor only.
CREATE ROLE snowflake_regress_app;
SET ROLE snowflake_regress_app;
SELECT node_id FROM snowflake_status();
SELECT sqlstate_of('SELECT snowflake_next_id()') AS app_may_generate;
RESET ROLE;
DROP ROLE snowflake_regress_app;
