-- The settings as PostgreSQL reports them.
SELECT name, setting, unit, vartype, context, min_val, max_val, boot_val, short_desc
FROM pg_settings WHERE name LIKE 'snowflake.%' ORDER BY name;
SHOW snowflake.node_id;
SHOW snowflake.max_clock_drift;

-- etcd's TLS and authentication settings are for superusers only: a role
-- without pg_read_all_settings sees none of them in pg_settings, and SHOW
-- refuses them (the message differs by version, so not shown here); the
-- endpoints, prefix and TTL are not secret.
CREATE ROLE snowflake_settings_reader;
SET ROLE snowflake_settings_reader;
SELECT name FROM pg_settings WHERE name LIKE 'snowflake.etcd%' OR name = 'snowflake.node_lease_ttl'
ORDER BY name;
RESET ROLE;
DROP ROLE snowflake_settings_reader;
-- A malformed endpoint list is refused (it is a postmaster setting, so ALTER
-- SYSTEM is where a DBA would meet the check).
ALTER SYSTEM SET snowflake.etcd_endpoints = 'etcd1:2379';
ALTER SYSTEM SET snowflake.etcd_endpoints = 'http://a:2379,,http://b:2379';
ALTER SYSTEM SET snowflake.etcd_prefix = 'snowflake/';
