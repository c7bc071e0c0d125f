-- bench/sql/setup.sql: the objects the benchmark needs in its throwaway
-- database "bench" (run once by bench/run.sh, right after the server starts).
--
-- Owns: the baseline sequences, the four INSERT target tables, the results
-- table the report reads, and two timing helpers for the bulk queries.

CREATE EXTENSION snowflake;

-- Baselines for single calls and bulk generation.
CREATE SEQUENCE bench_seq_cache1 CACHE 1;
CREATE SEQUENCE bench_seq_cache100 CACHE 100;

-- Multi-row INSERT targets: the same row (an id key and one int), with the id
-- from each generator. Truncated before every pgbench run.
CREATE TABLE ins_snowflake (id bigint PRIMARY KEY DEFAULT snowflake_next_id(), v int NOT NULL);
CREATE TABLE ins_bigserial (id bigserial PRIMARY KEY, v int NOT NULL);
CREATE TABLE ins_uuid (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), v int NOT NULL);
CREATE TABLE ins_client (id bigint PRIMARY KEY, v int NOT NULL);
-- The same as ins_snowflake with a snowflake column (section 9, the type's cost).
CREATE TABLE ins_snowflake_type (id snowflake PRIMARY KEY DEFAULT snowflake_next_id(),
                                 v int NOT NULL);

-- Every measurement, one row per run; bench/run.sh loads raw.csv into it.
CREATE TABLE bench_raw (
  section text NOT NULL,   -- pgbench | bulk | bulk2 | insert | core | reservations | bound | batch | type
  metric text NOT NULL,    -- what was measured (the generator, mostly)
  clients int NOT NULL,    -- pgbench clients, concurrent sessions or threads
  n bigint NOT NULL,       -- rows per bulk statement; 0 where it does not apply
  round int NOT NULL,      -- repetition number
  value float8 NOT NULL,
  unit text NOT NULL
);

-- Runs a bulk query and returns the server's clock before and after it, as
-- Unix epoch seconds: the statement's time without client round trips.
CREATE FUNCTION bench_time(query text, OUT started float8, OUT finished float8)
LANGUAGE plpgsql AS $$
DECLARE
  ignored bigint;
BEGIN
  started := extract(epoch FROM clock_timestamp());
  EXECUTE query INTO ignored;
  finished := extract(epoch FROM clock_timestamp());
END $$;

-- Like bench_time for a query returning (count, min id, max id) of snowflake
-- IDs; also returns the milliseconds carried by the first and the last ID
-- (Unix epoch ms), so the rate of generation itself can be told apart from
-- the rest of the statement.
CREATE FUNCTION bench_span(query text, OUT started float8, OUT finished float8,
                           OUT ids bigint, OUT first_ms float8, OUT last_ms float8)
LANGUAGE plpgsql AS $$
DECLARE
  lo bigint;
  hi bigint;
BEGIN
  started := extract(epoch FROM clock_timestamp());
  EXECUTE query INTO ids, lo, hi;
  finished := extract(epoch FROM clock_timestamp());
  first_ms := extract(epoch FROM snowflake_timestamp(lo)) * 1000;
  last_ms := extract(epoch FROM snowflake_timestamp(hi)) * 1000;
END $$;
