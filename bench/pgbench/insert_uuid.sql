INSERT INTO ins_uuid (v) SELECT g FROM generate_series(1, 1000) AS g;
