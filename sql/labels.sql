-- The declared volatility, strictness, parallel labels and privileges.
SELECT p.oid::regprocedure AS function,
       CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END
         AS volatility,
       p.proisstrict AS strict,
       CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END
         AS parallel,
       p.prorettype::regtype AS returns
FROM pg_proc AS p
JOIN pg_depend AS d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension AS e ON e.oid = d.refobjid AND e.extname = 'snowflake'
ORDER BY p.proname, p.oid::regprocedure::text;

-- Volatile means a new value per row, never folded into a constant.
SELECT count(DISTINCT snowflake_next_id()) AS distinct_per_row FROM generate_series(1, 100);

-- Immutable decoders can be used in an index expression.
CREATE TABLE labelled (id bigint);
CREATE INDEX labelled_time ON labelled (snowflake_timestamp(id));
DROP TABLE labelled;

SELECT has_function_privilege('pg_monitor', 'snowflake_status()', 'EXECUTE') AS pg_monitor_status,
       has_function_privilege('public', 'snowflake_status()', 'EXECUTE') AS public_status,
       has_function_privilege('public', 'snowflake_next_id()', 'EXECUTE') AS public_next_id;

SELECT extversion FROM pg_extension WHERE extname = 'snowflake';
