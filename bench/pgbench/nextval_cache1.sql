SELECT nextval('bench_seq_cache1');
