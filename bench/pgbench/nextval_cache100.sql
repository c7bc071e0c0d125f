SELECT nextval('bench_seq_cache100');
