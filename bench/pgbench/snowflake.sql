SELECT snowflake_next_id();
