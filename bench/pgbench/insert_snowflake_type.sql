INSERT INTO ins_snowflake_type (v) SELECT g FROM generate_series(1, 1000) AS g;
