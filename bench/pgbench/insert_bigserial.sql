INSERT INTO ins_bigserial (v) SELECT g FROM generate_series(1, 1000) AS g;
