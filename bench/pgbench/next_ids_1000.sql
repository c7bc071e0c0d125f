SELECT count(*) FROM snowflake_next_ids(1000);
