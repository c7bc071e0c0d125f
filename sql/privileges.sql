-- Who may call snowflake_next_id() (issue 8, item 10). CREATE EXTENSION
-- leaves it executable by PUBLIC, like any function: every role in every
-- database then draws from this server's 4096 IDs per millisecond. A DBA who
-- wants to limit that revokes it from PUBLIC and grants it to the roles that
-- insert rows. Column defaults run as the role that inserts, not as the
-- table's owner, so that role (or a role it is a member of) needs the grant.
CREATE ROLE regress_sf_app;
CREATE ROLE regress_sf_writer IN ROLE regress_sf_app;
CREATE ROLE regress_sf_other;
CREATE SCHEMA regress_sf AUTHORIZATION regress_sf_app;

-- The default: any role may call it.
SELECT has_function_privilege('regress_sf_other', 'snowflake_next_id()', 'EXECUTE')
  AS public_may_call;
SET ROLE regress_sf_other;
SELECT snowflake_next_id() > 0 AS other_role_got_an_id;
RESET ROLE;

-- Restrict it: revoke from PUBLIC, grant to the application's role.
REVOKE EXECUTE ON FUNCTION snowflake_next_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION snowflake_next_id() TO regress_sf_app;
SELECT r AS role, has_function_privilege(r, 'snowflake_next_id()', 'EXECUTE') AS may_call
FROM unnest(ARRAY['regress_sf_app', 'regress_sf_writer', 'regress_sf_other']) AS r
ORDER BY r;

-- A table owned by the application's role keeps its column default.
SET ROLE regress_sf_app;
CREATE TABLE regress_sf.orders (
  id bigint PRIMARY KEY DEFAULT snowflake_next_id(),
  item text NOT NULL
);
INSERT INTO regress_sf.orders (item) VALUES ('tea'), ('coffee');
GRANT USAGE ON SCHEMA regress_sf TO regress_sf_other;
GRANT INSERT, SELECT ON regress_sf.orders TO regress_sf_other;
RESET ROLE;

-- A member of that role inherits the grant.
SET ROLE regress_sf_writer;
INSERT INTO regress_sf.orders (item) VALUES ('water');
RESET ROLE;
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_ids,
       bool_and(snowflake_node_id(id) = 42) AS all_node_42
FROM regress_sf.orders;

-- A role without the grant is refused with 42501, when it calls the
-- function and when it inserts into the table (the default runs as it).
SET ROLE regress_sf_other;
SELECT snowflake_next_id();
INSERT INTO regress_sf.orders (item) VALUES ('juice');
DO $$
BEGIN
  PERFORM snowflake_next_id();
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'SQLSTATE %', SQLSTATE;
END
$$;
-- Supplying the key itself needs no grant.
INSERT INTO regress_sf.orders (id, item) VALUES (1, 'juice');
RESET ROLE;
SELECT count(*) AS rows FROM regress_sf.orders;

-- Undo, so that later tests see the extension as installed.
DROP SCHEMA regress_sf CASCADE;
GRANT EXECUTE ON FUNCTION snowflake_next_id() TO PUBLIC;
REVOKE EXECUTE ON FUNCTION snowflake_next_id() FROM regress_sf_app;
DROP ROLE regress_sf_writer, regress_sf_app, regress_sf_other;
SELECT has_function_privilege('public', 'snowflake_next_id()', 'EXECUTE') AS public_may_call_again;
