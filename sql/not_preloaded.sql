-- CREATE EXTENSION without shared_preload_libraries: generation explains the fix.
CREATE EXTENSION snowflake;
SELECT snowflake_next_id();
SELECT node_id FROM snowflake_status();
SELECT snowflake_sequence(4095) AS decoding_still_works;
DO $$
BEGIN
  PERFORM snowflake_next_id();
EXCEPTION WHEN object_not_in_prerequisite_state THEN
  RAISE NOTICE 'SQLSTATE %: %', SQLSTATE, SQLERRM;
END $$;
