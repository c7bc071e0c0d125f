-- The settings as PostgreSQL reports them.
SELECT name, setting, unit, vartype, context, min_val, max_val, boot_val, short_desc
FROM pg_settings WHERE name LIKE 'snowflake.%' ORDER BY name;
SHOW snowflake.node_id;
SHOW snowflake.max_clock_drift;
