/* snowflake--1.2--1.3.sql: version 1.3 of the SQL API: snowflake_status()
 * counts clock warnings and node-id lease events.
 *
 * A fresh CREATE EXTENSION snowflake runs snowflake--1.0.sql and then the
 * update scripts in order, so a fresh 1.3 and an updated 1.0, 1.1 or 1.2 are
 * the same by construction (sql/upgrade.sql). Never edit a released script.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION snowflake UPDATE TO '1.3'" to load this file. \quit

-- A row with more columns is another return type, so the function is made
-- again, as pg_stat_statements does for its own. It calls a C entry point of
-- its own: the library keeps serving the 1.0 row (snowflake_status) to
-- databases not updated yet. A view built on snowflake_status() stops this
-- update with a dependency error; drop the view and create it again after.
DROP FUNCTION snowflake_status();

-- For DBAs: the generator's state and counters since the server started.
--   clock_warnings     clock conditions logged (the clock behind the last ID
--                      or the stored reservation: borrowing, or beyond
--                      snowflake.max_clock_drift); server log only
--   lease_claims       node ids claimed in etcd
--   leases_lost        leases lost while a node id was held
--   fence_expirations  times the fence ran out while a node id was held
--                      (etcd did not confirm the lease in time)
CREATE FUNCTION snowflake_status(
    OUT node_id integer,
    OUT last_id bigint,
    OUT last_id_time timestamptz,
    OUT reserved_until timestamptz,
    OUT clock_drift_ms bigint,
    OUT borrow_events bigint,
    OUT next_ms_waits bigint,
    OUT clock_behind_errors bigint,
    OUT clock_warnings bigint,
    OUT reservation_writes bigint,
    OUT reservation_failures bigint,
    OUT lease_claims bigint,
    OUT leases_lost bigint,
    OUT fence_expirations bigint,
    OUT state text)
RETURNS record
AS 'MODULE_PATHNAME', 'snowflake_status_1_3'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

REVOKE ALL ON FUNCTION snowflake_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION snowflake_status() TO pg_monitor;
