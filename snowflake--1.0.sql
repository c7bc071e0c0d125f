/* snowflake--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION snowflake" to load this file. \quit

-- Issues the next ID. VOLATILE: every call returns a new value.
-- PARALLEL SAFE: the generator lives in shared memory, so leader and parallel
-- workers draw from one lock-free sequence and never repeat a value (the same
-- choice as gen_random_uuid()).
CREATE FUNCTION snowflake_next_id()
RETURNS bigint
AS 'MODULE_PATHNAME', 'snowflake_next_id'
LANGUAGE C VOLATILE PARALLEL SAFE;

-- Decoders: pure functions of the ID.
CREATE FUNCTION snowflake_timestamp(id bigint)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'snowflake_timestamp'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION snowflake_node_id(id bigint)
RETURNS integer
AS 'MODULE_PATHNAME', 'snowflake_node_id'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION snowflake_sequence(id bigint)
RETURNS integer
AS 'MODULE_PATHNAME', 'snowflake_sequence'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The smallest ID of the millisecond that contains ts: for range scans on a
-- primary key, WHERE id >= snowflake_from_timestamp(a) AND id < snowflake_from_timestamp(b).
CREATE FUNCTION snowflake_from_timestamp(ts timestamptz)
RETURNS bigint
AS 'MODULE_PATHNAME', 'snowflake_from_timestamp'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- For DBAs: the generator's state and counters since the server started.
CREATE FUNCTION snowflake_status(
    OUT node_id integer,
    OUT last_id bigint,
    OUT last_id_time timestamptz,
    OUT reserved_until timestamptz,
    OUT clock_drift_ms bigint,
    OUT borrow_events bigint,
    OUT next_ms_waits bigint,
    OUT clock_behind_errors bigint,
    OUT reservation_writes bigint,
    OUT reservation_failures bigint,
    OUT state text)
RETURNS record
AS 'MODULE_PATHNAME', 'snowflake_status'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;

REVOKE ALL ON FUNCTION snowflake_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION snowflake_status() TO pg_monitor;
