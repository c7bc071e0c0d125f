-- The update path: a database that installed 1.0 and updated through 1.1
-- and 1.2 to the default version ends up with exactly the catalogue
-- footprint of a fresh CREATE EXTENSION snowflake: every member object
-- and its definition, operator families with their members, casts, ACLs.
SELECT default_version FROM pg_available_extensions WHERE name = 'snowflake';
SELECT version FROM pg_available_extension_versions WHERE name = 'snowflake' ORDER BY 1;
SELECT * FROM pg_extension_update_paths('snowflake') WHERE path IS NOT NULL ORDER BY 1, 2;

-- The footprint: one line per fact, with OIDs replaced by names.
CREATE FUNCTION public.snowflake_footprint() RETURNS SETOF text LANGUAGE sql AS $$
  WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'snowflake'),
  members AS (
    SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
  SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM members
  UNION ALL
  SELECT 'function ' || p.oid::regprocedure || ' ' || p.prokind::text || ' ' ||
         coalesce(pg_get_functiondef(p.oid), '') || ' acl=' || coalesce(p.proacl::text, 'default')
    || ' strict=' || p.proisstrict || ' volatile=' || p.provolatile::text || ' parallel=' || p.proparallel::text
    || ' leakproof=' || p.proleakproof || ' rows=' || p.prorows || ' cost=' || p.procost
  FROM members m JOIN pg_proc p ON p.oid = m.objid
  WHERE m.classid = 'pg_proc'::regclass AND p.prokind::text = 'f'
  UNION ALL
  SELECT 'aggregate ' || a.aggfnoid::regprocedure || ' ' || a.aggtransfn::regproc || ' '
    || a.aggcombinefn::regproc || ' ' || a.aggsortop::regoperator || ' '
    || a.aggtranstype::regtype
  FROM members m JOIN pg_aggregate a ON a.aggfnoid = m.objid
  WHERE m.classid = 'pg_proc'::regclass
  UNION ALL
  SELECT 'operator ' || o.oid::regoperator || ' ' || o.oprcode::regproc || ' com='
    || o.oprcom::regoperator::text || ' neg=' || o.oprnegate::regoperator::text || ' '
    || o.oprrest::regproc || ' ' || o.oprjoin::regproc || ' ' || o.oprcanhash || ' ' || o.oprcanmerge
  FROM members m JOIN pg_operator o ON o.oid = m.objid
  WHERE m.classid = 'pg_operator'::regclass
  UNION ALL
  SELECT 'type ' || t.typname || ' ' || t.typlen || ' ' || t.typbyval || ' ' || t.typalign::text || ' '
    || t.typstorage::text || ' ' || t.typcategory::text || ' ' || t.typinput::regproc || ' '
    || t.typoutput::regproc || ' ' || t.typreceive::regproc || ' ' || t.typsend::regproc
  FROM members m JOIN pg_type t ON t.oid = m.objid
  WHERE m.classid = 'pg_type'::regclass
  UNION ALL
  SELECT 'cast ' || c.castsource::regtype || ' -> ' || c.casttarget::regtype || ' '
    || c.castmethod::text || ' ' || c.castcontext::text || ' ' || c.castfunc::regprocedure::text
  FROM members m JOIN pg_cast c ON c.oid = m.objid
  WHERE m.classid = 'pg_cast'::regclass
  UNION ALL
  SELECT 'opclass ' || am.amname || ' ' || oc.opcname || ' ' || oc.opcintype::regtype || ' '
    || oc.opcdefault || ' ' || f.opfname
  FROM members m JOIN pg_opclass oc ON oc.oid = m.objid JOIN pg_am am ON am.oid = oc.opcmethod
  JOIN pg_opfamily f ON f.oid = oc.opcfamily
  WHERE m.classid = 'pg_opclass'::regclass
  UNION ALL
  SELECT 'amop ' || am.amname || ' ' || f.opfname || ' ' || ao.amoplefttype::regtype || ' '
    || ao.amoprighttype::regtype || ' ' || ao.amopstrategy || ' ' || ao.amopopr::regoperator
  FROM members m JOIN pg_opfamily f ON f.oid = m.objid JOIN pg_am am ON am.oid = f.opfmethod
  JOIN pg_amop ao ON ao.amopfamily = f.oid
  WHERE m.classid = 'pg_opfamily'::regclass
  UNION ALL
  SELECT 'amproc ' || am.amname || ' ' || f.opfname || ' ' || ap.amproclefttype::regtype || ' '
    || ap.amprocrighttype::regtype || ' ' || ap.amprocnum || ' ' || ap.amproc::regprocedure
  FROM members m JOIN pg_opfamily f ON f.oid = m.objid JOIN pg_am am ON am.oid = f.opfmethod
  JOIN pg_amproc ap ON ap.amprocfamily = f.oid
  WHERE m.classid = 'pg_opfamily'::regclass
  UNION ALL
  SELECT 'comment ' || pg_describe_object(d.classoid, d.objoid, d.objsubid) || ' ' || d.description
  FROM members m JOIN pg_description d ON d.classoid = m.classid AND d.objoid = m.objid
$$;

-- Install 1.0, use it, update; the same database keeps working.
CREATE TABLE upgrade_items (id bigint PRIMARY KEY DEFAULT snowflake_next_id(), v int);
DROP EXTENSION snowflake CASCADE;
CREATE EXTENSION snowflake VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
ALTER TABLE upgrade_items ALTER COLUMN id SET DEFAULT snowflake_next_id();
INSERT INTO upgrade_items (v) VALUES (1);
SELECT count(*) AS members_1_0 FROM pg_depend
WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'snowflake') AND deptype = 'e';
ALTER EXTENSION snowflake UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
INSERT INTO upgrade_items (v) VALUES (2);
-- On 1.2 the row of snowflake_status() is 1.0's, 11 columns: this (newer)
-- library still serves it, through its 1.0 entry point.
ALTER EXTENSION snowflake UPDATE TO '1.2';
SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
SELECT count(*) AS status_columns_1_2 FROM json_object_keys((SELECT row_to_json(s) FROM snowflake_status() s));
SELECT node_id, reservation_failures, state FROM snowflake_status();
ALTER EXTENSION snowflake UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
INSERT INTO upgrade_items (v) VALUES (3);
-- 1.3's row: the clock-warning and lease counters (no etcd here: no lease).
SELECT k AS status_column FROM json_object_keys((SELECT row_to_json(s) FROM snowflake_status() s)) k;
SELECT node_id, lease_claims, leases_lost, fence_expirations, state FROM snowflake_status();
-- Each entry point checks the row it is called with.
CREATE FUNCTION public.status_of_wrong_shape(OUT node_id integer, OUT state text) RETURNS record
  AS '$libdir/snowflake', 'snowflake_status_1_3' LANGUAGE C;
SELECT * FROM public.status_of_wrong_shape();
DROP FUNCTION public.status_of_wrong_shape();
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_ids FROM upgrade_items;
CREATE TEMP TABLE updated AS SELECT * FROM public.snowflake_footprint() AS line;

-- A fresh install (the default version) in the same database.
ALTER TABLE upgrade_items ALTER COLUMN id DROP DEFAULT;
DROP EXTENSION snowflake;
CREATE EXTENSION snowflake;
SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
CREATE TEMP TABLE fresh AS SELECT * FROM public.snowflake_footprint() AS line;

-- Identical, and not trivially so.
-- (How many lines depends on the server version: PostgreSQL 17 and later
-- also record the array type as a member.)
SELECT count(*) > 200 AS substantial FROM fresh;
SELECT 'only after update: ' || line FROM (SELECT line FROM updated EXCEPT ALL SELECT line FROM fresh) AS d
UNION ALL
SELECT 'only in fresh: ' || line FROM (SELECT line FROM fresh EXCEPT ALL SELECT line FROM updated) AS d;
-- What the default version has (member kinds), so a change to the API shows up here too.
SELECT split_part(line, ' ', 1) AS kind FROM fresh GROUP BY 1 ORDER BY 1;

DROP TABLE upgrade_items;
DROP FUNCTION public.snowflake_footprint();
