-- The snowflake type: text and binary forms, casts, operators with
-- snowflake, bigint and integer, index use, foreign keys both ways, JSON.
CREATE OR REPLACE FUNCTION sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;

-- Text form: the decimal number, bigint's syntax, the whole bigint range.
SELECT '384714070210670592'::snowflake AS id,
       '  +42  '::snowflake AS spaces_and_sign,
       '-7'::snowflake AS negative_holds,
       '9223372036854775807'::snowflake AS max,
       '-9223372036854775808'::snowflake AS min;
SELECT 'abc'::snowflake;
SELECT '12 34'::snowflake;
SELECT ''::snowflake;
SELECT '1e3'::snowflake;
SELECT '9223372036854775808'::snowflake;
SELECT sqlstate_of($$SELECT 'x'::snowflake$$) AS syntax,
       sqlstate_of($$SELECT '-9223372036854775809'::snowflake$$) AS out_of_range;
-- Whatever bigint accepts, snowflake accepts with the same value, and back.
SELECT t, t::bigint = t::snowflake::bigint AS same_value,
       t::snowflake::text = t::bigint::text AS same_text
FROM unnest(ARRAY['0', '007', ' 1', '-0', '+5', E'\t12\n', '4611686018427387904']) AS t;

-- The type is a bigint underneath.
SELECT typlen, typbyval, typalign, typcategory FROM pg_type WHERE typname = 'snowflake';
SELECT snowflake_send('384714070210670592') = int8send(384714070210670592) AS binary_as_bigint;
SELECT pg_column_size('1'::snowflake) AS bytes;

-- Casts: to bigint implicitly, from bigint and integer on assignment.
SELECT castsource::regtype, casttarget::regtype, castmethod, castcontext
FROM pg_cast WHERE 'snowflake'::regtype IN (castsource, casttarget) ORDER BY 1, 2;
SELECT pg_typeof(snowflake_next_id()::snowflake) AS typ,
       snowflake_node_id('384714070210670592'::snowflake) AS decoder_takes_it,
       '10'::snowflake + 1 AS arithmetic_is_bigint;

-- Comparisons: every operator, both directions, with bigint and integer.
SELECT a, b,
       a::snowflake = b::snowflake AS ss_eq, a::snowflake < b::snowflake AS ss_lt,
       a::snowflake <= b::snowflake AS ss_le, a::snowflake > b::snowflake AS ss_gt,
       a::snowflake >= b::snowflake AS ss_ge, a::snowflake <> b::snowflake AS ss_ne
FROM (VALUES (1, 2), (2, 2), (3, 2)) AS v(a, b);
SELECT a, b,
       a::snowflake = b::bigint AS sb_eq, a::snowflake < b::bigint AS sb_lt,
       a::snowflake >= b::bigint AS sb_ge, a::snowflake <> b::bigint AS sb_ne,
       a::bigint = b::snowflake AS bs_eq, a::bigint < b::snowflake AS bs_lt,
       a::bigint <= b::snowflake AS bs_le, a::bigint > b::snowflake AS bs_gt,
       a::snowflake = b AS si_eq, a::snowflake <= b AS si_le, a::snowflake > b AS si_gt,
       a = b::snowflake AS is_eq, a < b::snowflake AS is_lt, a >= b::snowflake AS is_ge,
       a <> b::snowflake AS is_ne
FROM (VALUES (1, 2), (2, 2), (3, 2)) AS v(a, b);
SELECT o.oprname, o.oprleft::regtype, o.oprright::regtype, o.oprcanhash, o.oprcanmerge
FROM pg_operator o
WHERE 'snowflake'::regtype IN (o.oprleft, o.oprright) AND o.oprname = '='
ORDER BY 2, 3;
-- Beyond 2^53, where a double would round: exact.
SELECT '9007199254740993'::snowflake = 9007199254740993 AS exact,
       '9007199254740993'::snowflake = 9007199254740992 AS not_rounded;

-- Mixed with bigint, the common type is bigint (the type is in the numeric category).
SELECT greatest('5'::snowflake, 7::bigint) AS greatest, pg_typeof(coalesce(NULL::snowflake, 1::bigint)) AS coalesce_type;
SELECT pg_typeof(v) AS union_type FROM (SELECT '1'::snowflake AS v UNION ALL SELECT 2::bigint) AS u LIMIT 1;

-- ORDER BY, DISTINCT, GROUP BY, min and max keep the type.
SELECT max(v), min(v), pg_typeof(max(v)) AS max_type, count(DISTINCT v)
FROM (VALUES ('3'::snowflake), ('1'), ('2'), ('2')) AS t(v);
SELECT v FROM (VALUES ('3'::snowflake), ('10'), ('2')) AS t(v) ORDER BY v;

-- A table keyed by snowflake, filled by snowflake_next_id().
CREATE TABLE sf_orders (id snowflake PRIMARY KEY DEFAULT snowflake_next_id(), item text);
INSERT INTO sf_orders (item) SELECT 'item ' || g FROM generate_series(1, 5000) AS g;
INSERT INTO sf_orders (id, item) VALUES (42, 'small'), (snowflake_next_id(), 'bigint in');
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_ids,
       bool_and(snowflake_node_id(id) = 42) FILTER (WHERE id > 42) AS node_42
FROM sf_orders;
CREATE TABLE bi_orders (id bigint PRIMARY KEY);
INSERT INTO bi_orders SELECT id FROM sf_orders;
ANALYZE sf_orders, bi_orders;

-- Index use: snowflake with integer, bigint, text literal, snowflake;
-- commuted; ranges from snowflake_from_timestamp(); hash index.
EXPLAIN (COSTS OFF) SELECT * FROM sf_orders WHERE id = 42;
EXPLAIN (COSTS OFF) SELECT * FROM sf_orders WHERE id = 42::bigint;
EXPLAIN (COSTS OFF) SELECT * FROM sf_orders WHERE id = '42';
EXPLAIN (COSTS OFF) SELECT * FROM sf_orders WHERE 42::bigint = id;
EXPLAIN (COSTS OFF) SELECT * FROM sf_orders WHERE 42 = id;
EXPLAIN (COSTS OFF) SELECT * FROM sf_orders
WHERE id >= snowflake_from_timestamp('2026-01-01') AND id < snowflake_from_timestamp('2026-01-02');
SELECT item FROM sf_orders WHERE id = 42;
SET enable_seqscan = off;
CREATE INDEX sf_orders_hash ON sf_orders USING hash (id);
EXPLAIN (COSTS OFF) SELECT * FROM sf_orders WHERE id = 42::bigint;
DROP INDEX sf_orders_hash;
-- Joins to a bigint column use the snowflake key's index ...
SET enable_hashjoin = off;
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF) SELECT * FROM bi_orders b JOIN sf_orders s ON s.id = b.id WHERE b.id < 100;
-- ... and hash and merge joins mix the two types.
RESET enable_hashjoin;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM bi_orders b JOIN sf_orders s ON s.id = b.id;
SELECT count(*) AS joined FROM bi_orders b JOIN sf_orders s ON s.id = b.id;
SET enable_hashjoin = off;
RESET enable_mergejoin;
EXPLAIN (COSTS OFF) SELECT count(*) FROM bi_orders b JOIN sf_orders s ON s.id = b.id;
SELECT count(*) AS joined FROM bi_orders b JOIN sf_orders s ON s.id = b.id;
RESET enable_hashjoin;
RESET enable_nestloop;
-- A bigint column's own index needs the comparison in bigint: cast the
-- snowflake side (free: the cast is binary).
EXPLAIN (COSTS OFF) SELECT * FROM bi_orders WHERE id = '42'::snowflake::bigint;
RESET enable_seqscan;

-- Foreign keys both ways.
CREATE TABLE sf_lines (id snowflake PRIMARY KEY DEFAULT snowflake_next_id(),
                       order_id bigint REFERENCES sf_orders);
CREATE TABLE bi_lines (id bigint PRIMARY KEY DEFAULT snowflake_next_id(),
                       order_id snowflake REFERENCES bi_orders);
INSERT INTO sf_lines (order_id) VALUES (42);
INSERT INTO bi_lines (order_id) VALUES ('42');
INSERT INTO sf_lines (order_id) VALUES (43);
INSERT INTO bi_lines (order_id) VALUES ('43');
SELECT sqlstate_of('INSERT INTO sf_lines (order_id) VALUES (43)') AS bigint_to_snowflake,
       sqlstate_of($$INSERT INTO bi_lines (order_id) VALUES ('43')$$) AS snowflake_to_bigint,
       sqlstate_of('DELETE FROM sf_orders WHERE id = 42') AS delete_referenced,
       sqlstate_of('DELETE FROM bi_orders WHERE id = 42') AS delete_referenced_bigint;

-- JSON: a string, in every function that renders a row or a value.
SELECT to_json('384714070210670592'::snowflake) AS to_json,
       to_jsonb('384714070210670592'::snowflake) AS to_jsonb,
       jsonb_build_object('id', '384714070210670592'::snowflake) AS jsonb_build_object,
       json_build_object('id', '384714070210670592'::snowflake) AS json_build_object,
       to_json(384714070210670592::bigint) AS bigint_is_a_number;
SELECT row_to_json(o) AS row_to_json FROM sf_orders o WHERE id = 42;
SELECT json_agg(v ORDER BY v) AS json_agg, jsonb_agg(v ORDER BY v) AS jsonb_agg
FROM (VALUES ('384714070210670592'::snowflake), ('42')) AS t(v);
SELECT jsonb_typeof(to_jsonb(id)) AS jsonb_type, json_typeof(to_json(id)) AS json_type,
       (to_jsonb(id) #>> '{}')::snowflake = id AS round_trips
FROM sf_orders WHERE id = 42;

-- A driver that does not know the type reads the digits (psql shows libpq's
-- text result here).
SELECT id, id::text = id::bigint::text AS text_as_bigint FROM sf_orders WHERE id = 42;

DROP TABLE sf_lines, bi_lines, sf_orders, bi_orders;
DROP FUNCTION sqlstate_of(text);
