INSERT INTO ts_keys (v) SELECT g FROM generate_series(1, 1000) AS g;
