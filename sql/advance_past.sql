-- snowflake_advance_past(id): every later ID is greater than id; refused past
-- the drift bound, for negative IDs, at the end of the layout, and for
-- non-superusers. Runs last on its server: it moves IDs ahead of the clock.
CREATE OR REPLACE FUNCTION sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;

-- An ID in the past: nothing to do, IDs continue as before.
SELECT snowflake_advance_past(snowflake_next_id() - 4096);
SELECT snowflake_advance_past(0);

-- An ID 2 s ahead of the clock (within snowflake.max_clock_drift, 10 s):
-- the next ID is past it, in the next millisecond. The next call borrows:
-- a clock condition, for the server log only. Even a client that asks for
-- LOG messages gets nothing; snowflake_status() counts it.
CREATE TEMP TABLE target AS
  SELECT snowflake_from_timestamp(clock_timestamp() + interval '2 s') + (1023 << 12) + 4095 AS id;
SELECT snowflake_advance_past(id) FROM target;
CREATE TEMP TABLE before AS SELECT clock_warnings, borrow_events FROM snowflake_status();
SET client_min_messages = log;
CREATE TEMP TABLE next AS SELECT snowflake_next_id() AS id;
RESET client_min_messages;
SELECT s.clock_warnings - b.clock_warnings AS new_clock_warnings,
       s.borrow_events - b.borrow_events AS new_borrow_events
FROM snowflake_status() s, before b;
SELECT n.id > t.id AS next_is_greater,
       snowflake_timestamp(n.id) = snowflake_timestamp(t.id) + interval '1 ms' AS next_millisecond,
       snowflake_sequence(n.id) AS sequence
FROM next n, target t;
-- It is durable: the reservation covers it.
SELECT reserved_until >= snowflake_timestamp(id) AS reserved
FROM snowflake_status(), target;
-- Calling it again with the same ID changes nothing.
SELECT snowflake_advance_past(id) FROM target;
SET client_min_messages = log;
SELECT snowflake_next_id() > n.id AS still_increasing FROM next n;
RESET client_min_messages;

-- Refusals.
SELECT snowflake_advance_past(-1);
SELECT snowflake_advance_past(9223372036854775807);
SELECT sqlstate_of('SELECT snowflake_advance_past(-1)') AS negative,
       sqlstate_of('SELECT snowflake_advance_past(9223372036854775807)') AS end_of_layout,
       sqlstate_of($$SELECT snowflake_advance_past(
         snowflake_from_timestamp(clock_timestamp() + interval '1 hour'))$$) AS too_far_ahead,
       sqlstate_of('SELECT snowflake_advance_past(NULL)') AS null_is_a_no_op;
-- Too far ahead: the message names the gap, which depends on the clock; its
-- shape is checked here.
DO $$
BEGIN
  PERFORM snowflake_advance_past(snowflake_from_timestamp(clock_timestamp() + interval '1 hour'));
EXCEPTION WHEN invalid_parameter_value THEN
  DECLARE
    msg text; detail text; hint text;
  BEGIN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
    RAISE NOTICE 'message: %', regexp_replace(msg, '\d+', 'N', 'g');
    RAISE NOTICE 'detail: %', detail;
    RAISE NOTICE 'hint: %', regexp_replace(hint, '\d{4,}', 'N', 'g');
  END;
END $$;
-- Superusers only: not granted to PUBLIC, and refused even if granted.
CREATE ROLE snowflake_regress_user;
SET ROLE snowflake_regress_user;
SELECT snowflake_advance_past(1);
RESET ROLE;
GRANT EXECUTE ON FUNCTION snowflake_advance_past(bigint) TO snowflake_regress_user;
SET ROLE snowflake_regress_user;
SELECT snowflake_advance_past(1);
RESET ROLE;
REVOKE EXECUTE ON FUNCTION snowflake_advance_past(bigint) FROM snowflake_regress_user;
DROP ROLE snowflake_regress_user;

SELECT proname, provolatile, proparallel, proisstrict,
       cardinality(proacl) AS grants_owner_only
FROM pg_proc WHERE proname = 'snowflake_advance_past';
DROP FUNCTION sqlstate_of(text);
