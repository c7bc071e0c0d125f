/* snowflake--1.0--1.1.sql: version 1.1 of the SQL API.
 *
 * A fresh CREATE EXTENSION snowflake runs snowflake--1.0.sql and then this
 * script (PostgreSQL chains them), so a fresh 1.1 and an updated 1.0 are the
 * same by construction; sql/upgrade.sql compares their catalogue footprints.
 * Never edit a released script: each version adds its own update script.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION snowflake UPDATE TO '1.1'" to load this file. \quit

---------------------------------------------------------------------------
-- The snowflake type: a bigint underneath (8 bytes, by value, the same
-- binary form), a type of its own so that JSON renders it as a string.
---------------------------------------------------------------------------
CREATE TYPE snowflake;

-- Text input and output: the decimal number, bigint's syntax.
CREATE FUNCTION snowflake_in(cstring) RETURNS snowflake
AS 'MODULE_PATHNAME', 'snowflake_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_out(snowflake) RETURNS cstring
AS 'MODULE_PATHNAME', 'snowflake_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- Binary input and output: bigint's own functions, so binary COPY and
-- drivers see the 8 bytes of a bigint.
CREATE FUNCTION snowflake_recv(internal) RETURNS snowflake
AS 'int8recv' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_send(snowflake) RETURNS bytea
AS 'int8send' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE snowflake (
    INPUT = snowflake_in,
    OUTPUT = snowflake_out,
    RECEIVE = snowflake_recv,
    SEND = snowflake_send,
    LIKE = bigint,         -- 8 bytes, passed by value, aligned as bigint
    CATEGORY = 'N'         -- numeric: GREATEST, COALESCE, UNION with bigint give bigint
);
COMMENT ON TYPE snowflake IS 'a snowflake ID: a bigint that JSON renders as a string';

-- Casts without a function (the bits are the same). To bigint implicitly, so
-- every bigint function (the decoders, arithmetic) takes a snowflake and a
-- snowflake column may reference a bigint key; from bigint on assignment, so
-- DEFAULT snowflake_next_id() and INSERT of a bigint fill a snowflake column.
CREATE CAST (snowflake AS bigint) WITHOUT FUNCTION AS IMPLICIT;
CREATE CAST (bigint AS snowflake) WITHOUT FUNCTION AS ASSIGNMENT;
CREATE FUNCTION snowflake(integer) RETURNS snowflake
AS 'int48' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE CAST (integer AS snowflake) WITH FUNCTION snowflake(integer) AS ASSIGNMENT;

---------------------------------------------------------------------------
-- Comparison operators: snowflake with snowflake, and with bigint and
-- integer in both directions, so WHERE id = 42 and joins to bigint columns
-- compare without a cast and use a snowflake index. Each is bigint's
-- built-in function (LANGUAGE internal): no cost over bigint's operators.
---------------------------------------------------------------------------

-- snowflake with snowflake
CREATE FUNCTION snowflake_eq(snowflake, snowflake) RETURNS boolean
AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_ne(snowflake, snowflake) RETURNS boolean
AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_lt(snowflake, snowflake) RETURNS boolean
AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_le(snowflake, snowflake) RETURNS boolean
AS 'int8le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_gt(snowflake, snowflake) RETURNS boolean
AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_ge(snowflake, snowflake) RETURNS boolean
AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OPERATOR = (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = snowflake, RIGHTARG = snowflake, FUNCTION = snowflake_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE FUNCTION snowflake_cmp(snowflake, snowflake) RETURNS integer
AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

-- snowflake with bigint
CREATE FUNCTION snowflake_eq(snowflake, bigint) RETURNS boolean
AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_ne(snowflake, bigint) RETURNS boolean
AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_lt(snowflake, bigint) RETURNS boolean
AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_le(snowflake, bigint) RETURNS boolean
AS 'int8le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_gt(snowflake, bigint) RETURNS boolean
AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_ge(snowflake, bigint) RETURNS boolean
AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OPERATOR = (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = snowflake, RIGHTARG = bigint, FUNCTION = snowflake_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE FUNCTION snowflake_cmp(snowflake, bigint) RETURNS integer
AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

-- bigint with snowflake
CREATE FUNCTION snowflake_eq(bigint, snowflake) RETURNS boolean
AS 'int8eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_ne(bigint, snowflake) RETURNS boolean
AS 'int8ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_lt(bigint, snowflake) RETURNS boolean
AS 'int8lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_le(bigint, snowflake) RETURNS boolean
AS 'int8le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_gt(bigint, snowflake) RETURNS boolean
AS 'int8gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_ge(bigint, snowflake) RETURNS boolean
AS 'int8ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OPERATOR = (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = bigint, RIGHTARG = snowflake, FUNCTION = snowflake_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE FUNCTION snowflake_cmp(bigint, snowflake) RETURNS integer
AS 'btint8cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

-- snowflake with integer
CREATE FUNCTION snowflake_eq(snowflake, integer) RETURNS boolean
AS 'int84eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_ne(snowflake, integer) RETURNS boolean
AS 'int84ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_lt(snowflake, integer) RETURNS boolean
AS 'int84lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_le(snowflake, integer) RETURNS boolean
AS 'int84le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_gt(snowflake, integer) RETURNS boolean
AS 'int84gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_ge(snowflake, integer) RETURNS boolean
AS 'int84ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OPERATOR = (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = snowflake, RIGHTARG = integer, FUNCTION = snowflake_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE FUNCTION snowflake_cmp(snowflake, integer) RETURNS integer
AS 'btint84cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

-- integer with snowflake
CREATE FUNCTION snowflake_eq(integer, snowflake) RETURNS boolean
AS 'int48eq' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_ne(integer, snowflake) RETURNS boolean
AS 'int48ne' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_lt(integer, snowflake) RETURNS boolean
AS 'int48lt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_le(integer, snowflake) RETURNS boolean
AS 'int48le' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_gt(integer, snowflake) RETURNS boolean
AS 'int48gt' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION snowflake_ge(integer, snowflake) RETURNS boolean
AS 'int48ge' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE OPERATOR = (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_eq,
    COMMUTATOR = =, NEGATOR = <>, RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR <> (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_ne,
    COMMUTATOR = <>, NEGATOR = =, RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR < (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_lt,
    COMMUTATOR = >, NEGATOR = >=, RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR <= (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_le,
    COMMUTATOR = >=, NEGATOR = >, RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR > (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_gt,
    COMMUTATOR = <, NEGATOR = <=, RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR >= (LEFTARG = integer, RIGHTARG = snowflake, FUNCTION = snowflake_ge,
    COMMUTATOR = <=, NEGATOR = <, RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE FUNCTION snowflake_cmp(integer, snowflake) RETURNS integer
AS 'btint48cmp' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

---------------------------------------------------------------------------
-- Index support. B-tree: one family holding snowflake, the cross-type
-- operators, and bigint's own operators (a foreign key from a bigint column
-- to a snowflake key compares bigint with bigint through the key's family).
-- Hash: snowflake hashes as bigint does, so hash joins mix the two.
---------------------------------------------------------------------------
CREATE FUNCTION snowflake_sortsupport(internal) RETURNS void
AS 'btint8sortsupport' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS snowflake_ops DEFAULT FOR TYPE snowflake USING btree AS
    OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
    FUNCTION 1 snowflake_cmp(snowflake, snowflake),
    FUNCTION 2 snowflake_sortsupport(internal);

ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (snowflake, bigint), OPERATOR 2 <= (snowflake, bigint), OPERATOR 3 = (snowflake, bigint),
    OPERATOR 4 >= (snowflake, bigint), OPERATOR 5 > (snowflake, bigint),
    FUNCTION 1 snowflake_cmp(snowflake, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (bigint, snowflake), OPERATOR 2 <= (bigint, snowflake), OPERATOR 3 = (bigint, snowflake),
    OPERATOR 4 >= (bigint, snowflake), OPERATOR 5 > (bigint, snowflake),
    FUNCTION 1 snowflake_cmp(bigint, snowflake);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (snowflake, integer), OPERATOR 2 <= (snowflake, integer), OPERATOR 3 = (snowflake, integer),
    OPERATOR 4 >= (snowflake, integer), OPERATOR 5 > (snowflake, integer),
    FUNCTION 1 snowflake_cmp(snowflake, integer);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (integer, snowflake), OPERATOR 2 <= (integer, snowflake), OPERATOR 3 = (integer, snowflake),
    OPERATOR 4 >= (integer, snowflake), OPERATOR 5 > (integer, snowflake),
    FUNCTION 1 snowflake_cmp(integer, snowflake);
ALTER OPERATOR FAMILY snowflake_ops USING btree ADD
    OPERATOR 1 < (bigint, bigint), OPERATOR 2 <= (bigint, bigint), OPERATOR 3 = (bigint, bigint),
    OPERATOR 4 >= (bigint, bigint), OPERATOR 5 > (bigint, bigint),
    FUNCTION 1 (bigint, bigint) btint8cmp(bigint, bigint);

CREATE FUNCTION snowflake_hash(snowflake) RETURNS integer
AS 'hashint8' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_hash_extended(snowflake, bigint) RETURNS bigint
AS 'hashint8extended' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR CLASS snowflake_ops DEFAULT FOR TYPE snowflake USING hash AS
    OPERATOR 1 = ,
    FUNCTION 1 snowflake_hash(snowflake),
    FUNCTION 2 snowflake_hash_extended(snowflake, bigint);
ALTER OPERATOR FAMILY snowflake_ops USING hash ADD
    OPERATOR 1 = (snowflake, bigint), OPERATOR 1 = (bigint, snowflake),
    OPERATOR 1 = (snowflake, integer), OPERATOR 1 = (integer, snowflake),
    OPERATOR 1 = (bigint, bigint),
    FUNCTION 1 (bigint) hashint8(bigint), FUNCTION 2 (bigint) hashint8extended(bigint, bigint),
    FUNCTION 1 (integer) hashint4(integer), FUNCTION 2 (integer) hashint4extended(integer, bigint);

-- min() and max() keep the type (through the implicit cast they would
-- return bigint, and JSON would render a number).
CREATE FUNCTION snowflake_larger(snowflake, snowflake) RETURNS snowflake
AS 'int8larger' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION snowflake_smaller(snowflake, snowflake) RETURNS snowflake
AS 'int8smaller' LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE;
CREATE AGGREGATE max(snowflake) (SFUNC = snowflake_larger, STYPE = snowflake, SORTOP = >,
    COMBINEFUNC = snowflake_larger, PARALLEL = SAFE);
CREATE AGGREGATE min(snowflake) (SFUNC = snowflake_smaller, STYPE = snowflake, SORTOP = <,
    COMBINEFUNC = snowflake_smaller, PARALLEL = SAFE);

---------------------------------------------------------------------------
-- Batches, restores, conversions.
---------------------------------------------------------------------------

-- n IDs of this server, strictly increasing, each greater than every ID
-- issued before the call; whole runs of one millisecond are claimed with one
-- compare-and-swap each. 1 <= n <= 1000000. VOLATILE and PARALLEL SAFE for
-- the reasons snowflake_next_id() is.
CREATE FUNCTION snowflake_next_ids(n integer)
RETURNS SETOF bigint
AS 'MODULE_PATHNAME', 'snowflake_next_ids'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE ROWS 1000;

-- After a restore or a recovered state file: durably makes every later ID of
-- this server greater than id, as setval() does for a sequence. Superusers
-- only; refused when it would run IDs further ahead of the clock than
-- snowflake.max_clock_drift.
CREATE FUNCTION snowflake_advance_past(id bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'snowflake_advance_past'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION snowflake_advance_past(bigint) FROM PUBLIC;


-- Moves a serial, bigserial or IDENTITY key column to DEFAULT
-- snowflake_next_id(): widens it to bigint if narrower, widens every
-- single-column foreign key that references it (in any schema, partitioned
-- or not), drops the identity or the sequence the column owned, and returns
-- the statements in the order it runs them. dry_run (the default) only
-- returns them. Everything happens in the caller's transaction, so it all
-- takes effect or none of it. Refused: partitions (convert the partitioned
-- table), composite keys, columns of other types or without their own
-- sequence, and tables whose existing values are not below the IDs issued now.
CREATE FUNCTION snowflake_convert_column(tbl regclass, col name, dry_run boolean DEFAULT true)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $convert$
DECLARE
  rel record;
  att record;
  fk record;
  target text;
  ext_schema text;
  seq text;
  max_value bigint;
  first_id_now bigint;
  stmts text[] := '{}';
  stmt text;
BEGIN
  SELECT c.relkind, c.relispartition, format('%I.%I', n.nspname, c.relname) AS name INTO rel
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = tbl;
  target := rel.name;
  IF rel.relkind NOT IN ('r', 'p') THEN
    RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
      MESSAGE = format('%s is not a table', target),
      HINT = 'snowflake_convert_column() converts a key column of a table or a partitioned table.';
  END IF;
  IF rel.relispartition THEN
    RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
      MESSAGE = format('%s is a partition', target),
      HINT = format('Convert the partitioned table instead: snowflake_convert_column(%L, %L).',
                    (SELECT inhparent::regclass::text FROM pg_inherits WHERE inhrelid = tbl), col);
  END IF;

  SELECT a.attnum, a.atttypid, a.attidentity INTO att
    FROM pg_attribute a
   WHERE a.attrelid = tbl AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
  IF NOT FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'undefined_column',
      MESSAGE = format('column %I of %s does not exist', col, target);
  END IF;
  IF att.atttypid NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) THEN
    RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
      MESSAGE = format('column %I of %s is of type %s', col, target, att.atttypid::regtype),
      HINT = 'Only smallint, integer and bigint key columns (serial, bigserial, IDENTITY) can be converted.';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_constraint
              WHERE contype IN ('p', 'u') AND conrelid = tbl
                AND att.attnum = ANY (conkey) AND cardinality(conkey) > 1)
     OR EXISTS (SELECT 1 FROM pg_constraint
                 WHERE contype = 'f' AND confrelid = tbl
                   AND att.attnum = ANY (confkey) AND cardinality(confkey) > 1) THEN
    RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
      MESSAGE = format('column %I of %s is part of a composite key', col, target),
      DETAIL = 'A key of several columns does not get its values from one generator.',
      HINT = 'Convert only single-column keys; set DEFAULT snowflake_next_id() on this column yourself if that is what you want.';
  END IF;
  IF att.attidentity = '' THEN
    seq := pg_get_serial_sequence(target, col);
    IF seq IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
        MESSAGE = format('column %I of %s is not a serial, bigserial or IDENTITY column', col, target),
        DETAIL = 'It neither is an identity column nor owns a sequence.',
        HINT = 'Set DEFAULT snowflake_next_id() yourself if its values come from elsewhere.';
    END IF;
  END IF;

  SELECT format('%I', n.nspname) INTO ext_schema
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
   WHERE e.extname = 'snowflake';
  -- New IDs must be larger than every existing value.
  EXECUTE format('SELECT max(%I)::bigint FROM %s', col, target) INTO max_value;
  EXECUTE format('SELECT %s.snowflake_from_timestamp(clock_timestamp())', ext_schema) INTO first_id_now;
  IF max_value >= first_id_now THEN
    RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
      MESSAGE = format('column %I of %s holds %s, not below the IDs issued now', col, target, max_value),
      DETAIL = format('New IDs start at about %s; they would not all be larger than the existing values.', first_id_now),
      HINT = 'Keep the sequence, or move the large values out of the way first.';
  END IF;

  stmts := stmts || format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', target);
  IF att.attidentity <> '' THEN
    stmts := stmts || format('ALTER TABLE %s ALTER COLUMN %I DROP IDENTITY', target, col);
  END IF;
  IF att.atttypid <> 'bigint'::regtype THEN
    stmts := stmts || format('ALTER TABLE %s ALTER COLUMN %I TYPE bigint', target, col);
  END IF;
  -- Referencing columns narrower than bigint; a constraint cloned onto a
  -- partition (conparentid <> 0) is covered by its partitioned table's.
  FOR fk IN
    SELECT format('%I.%I', n.nspname, c.relname) AS tab, a.attname
      FROM pg_constraint k
      JOIN pg_class c ON c.oid = k.conrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
     WHERE k.contype = 'f' AND k.confrelid = tbl AND k.confkey = ARRAY[att.attnum]
       AND k.conparentid = 0 AND a.atttypid <> 'bigint'::regtype
     ORDER BY 1, 2
  LOOP
    stmts := stmts || format('ALTER TABLE %s ALTER COLUMN %I TYPE bigint', fk.tab, fk.attname);
  END LOOP;
  stmts := stmts || format('ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s.snowflake_next_id()',
                           target, col, ext_schema);
  IF seq IS NOT NULL THEN
    stmts := stmts || format('DROP SEQUENCE %s', seq);
  END IF;

  IF NOT dry_run THEN
    FOREACH stmt IN ARRAY stmts LOOP
      EXECUTE stmt;
    END LOOP;
  END IF;
  RETURN QUERY SELECT unnest(stmts);
END
$convert$;
