-- bench/sql/uuidv7.sql: time-ordered UUIDs (version 7, RFC 9562) for the
-- table-scale section (bench/sections.sh, bench_table_scale).
--
-- Owns: bench_uuidv7() and bench_uuidv7_sub_ms().
--
-- bench_uuidv7(): the pure-SQL recipe commonly used before PostgreSQL 18, as
-- published by Daniel Vérité, "Implementing UUIDs v7 in pure SQL"
-- (https://postgresql.verite.pro/blog/2024/07/15/uuid-v7-pure-sql.html,
-- 2024-07-15): take a random version-4 UUID, overlay its first 48 bits with the
-- Unix time in milliseconds (big-endian), and turn the version nibble from 4
-- (0100) into 7 (0111) by setting bits 52 and 53 (set_bit numbers bits from
-- the least significant bit of each byte). UUIDs of the same millisecond are
-- in random order among themselves. LANGUAGE sql without arguments: the
-- planner inlines it into the INSERT.
--
-- bench_uuidv7_sub_ms(): the layout of PostgreSQL 18's uuidv7() (RFC 9562,
-- section 6.2, method 3): the 12 bits after the version ("rand_a") carry the
-- fraction of the millisecond (here in 1/4096 ms, from clock_timestamp()'s
-- microseconds), so that a backend's UUIDs ascend within a millisecond too;
-- the remaining 62 bits stay random. PL/pgSQL, because the time is read once
-- and used twice. On PostgreSQL 18 the section uses uuidv7() itself instead.

CREATE FUNCTION bench_uuidv7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT encode(
           set_bit(
             set_bit(
               overlay(uuid_send(gen_random_uuid())
                       PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                                         FROM 3)
                       FROM 1 FOR 6),
               52, 1),
             53, 1),
           'hex')::uuid
$$;

CREATE FUNCTION bench_uuidv7_sub_ms() RETURNS uuid
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
DECLARE
  -- Unix time in 1/4096 ms: the milliseconds, then 12 bits of fraction.
  t bigint := floor(extract(epoch FROM clock_timestamp()) * 4096000)::bigint;
BEGIN
  -- The first 8 bytes: 48 bits of milliseconds, version 7, 12 bits of
  -- fraction; byte 8 on (the variant and rand_b) from a random UUID.
  RETURN encode(overlay(uuid_send(gen_random_uuid())
                        PLACING int8send(((t >> 12) << 16) | (7 << 12) | (t & 4095))
                        FROM 1 FOR 8),
                'hex')::uuid;
END
$$;
