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
-- 1.1: the batch and the floor need the preload too; the type does not.
SELECT snowflake_next_ids(3);
SELECT snowflake_advance_past(1);
SELECT '384714070210670592'::snowflake AS type_works,
       to_json('384714070210670592'::snowflake) AS json_string;
