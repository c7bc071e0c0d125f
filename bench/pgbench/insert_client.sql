\set n :n + 1
INSERT INTO ins_client (id, v) SELECT (:n::bigint * 1000 + g) * :nclients + :client_id, g FROM generate_series(1, 1000) AS g;
