/* snowflake--1.1--1.2.sql: version 1.2 of the SQL API: the node-id registry.
 *
 * A fresh CREATE EXTENSION snowflake runs snowflake--1.0.sql and then the
 * update scripts in order, so a fresh 1.2 and an updated 1.0 or 1.1 are the
 * same by construction (sql/upgrade.sql). Never edit a released script.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION snowflake UPDATE TO '1.2'" to load this file. \quit

-- The node-id registry in etcd (snowflake.etcd_endpoints): one row per node
-- id that has a holder or a high-water mark. It shows host names and data
-- directories, so, like snowflake_status(), it is for pg_monitor.
CREATE FUNCTION snowflake_fleet(
    OUT node_id integer,
    OUT holder_host text,
    OUT holder_port integer,
    OUT holder_system_identifier bigint,
    OUT holder_data_directory text,
    OUT holder_started_at timestamptz,
    OUT lease_id bigint,
    OUT lease_expires_in interval,
    OUT high_water timestamptz,
    OUT this_server boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'snowflake_fleet'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION snowflake_fleet() IS
  'node ids leased in etcd: holders, lease time left, high-water marks';
REVOKE ALL ON FUNCTION snowflake_fleet() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION snowflake_fleet() TO pg_monitor;
