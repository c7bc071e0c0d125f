# bench/sections.sh: the measurements, one function per section of issue 4.
# Sourced by bench/run.sh, which provides: $work (the server's socket
# directory), $raw (raw.csv), $quick, $repo, bench_psql, PG_RUN_USER.
#
# Owns: what is run, in which order, how often, and how each run becomes one
# row of raw.csv: section,metric,clients,n,round,value,unit. Medians, ratios
# and the targets are computed later, from raw.csv only (bench/sql/report.sql).
#
# Fairness rules kept here:
#   - Repeated runs are interleaved: each round runs every variant once, in an
#     order rotated by one each round, so slow drift of the machine (other
#     load, the page cache, the WAL) spreads over all variants alike.
#   - Bulk statements are timed on the server (clock_timestamp() before and
#     after, in bench_time()/bench_span()), without client round trips.
#   - INSERT tables are truncated and checkpointed before every run.
#   - A full run starts pgbench and INSERT with an unrecorded warm-up run of
#     each variant (first touch of shared buffers, WAL segments created).

cap_ids_per_s=4096000

if [[ $quick == 1 ]]; then
  pgbench_seconds=${BENCH_SECONDS:-1}
  pgbench_rounds=${BENCH_ROUNDS:-1}
  pgbench_clients=(1 4)
  bulk_sizes=(20000 200000)
  bulk_runs=${BENCH_BULK_RUNS:-1}
  insert_seconds=${BENCH_SECONDS:-1}
  insert_rounds=${BENCH_INSERT_ROUNDS:-1}
  insert_clients=(1)
  core_args=(--benchmark_repetitions=1 --benchmark_min_time=0.02)
  warmup_seconds=0
  fleet_sizes=(32)
  fleet_steady_s=4
  fleet_variants=()
  fleet_before_sizes=()
  table_rows=${BENCH_TABLE_ROWS:-100000}
  table_progress_s=1
else
  pgbench_seconds=${BENCH_SECONDS:-4}
  pgbench_rounds=${BENCH_ROUNDS:-5}
  pgbench_clients=(1 4 16)
  bulk_sizes=(2000000 20000000)
  bulk_runs=${BENCH_BULK_RUNS:-3}
  insert_seconds=${BENCH_SECONDS:-4}
  insert_rounds=${BENCH_INSERT_ROUNDS:-3}
  insert_clients=(1 2)
  core_args=(--benchmark_repetitions=5 --benchmark_min_time=0.5)
  warmup_seconds=2
  fleet_sizes=(64 256 1024)
  # Six keep-alive intervals (14 s each): a window that is not a multiple of
  # them counts 2 or 3 keep-alives of servers that started together.
  fleet_steady_s=84
  # label|fleet_sim arguments: the other scenarios of issue 17, at 1024.
  fleet_variants=("fixed ids|--servers 1024 --node-ids fixed"
    "etcd leader killed|--servers 1024 --kill-leader-after-ms 1000"
    "restarts|--servers 1024 --busy 0.5 --scenarios rolling,kill"
    "1025th server|--servers 1025")
  # The protocol before issue 17, built from git history, for the same
  # figures from the same tool (BENCH_FLEET_BEFORE= skips it).
  fleet_before_commit=${BENCH_FLEET_BEFORE-f3ab5d1}
  fleet_before_sizes=(64 256 1024)
  table_rows=${BENCH_TABLE_ROWS:-20000000}
  table_progress_s=5
fi
# Section 12 (table_scale): the client counts.
read -r -a table_clients <<<"${BENCH_TABLE_CLIENTS:-1 4}"
# The biggest bulk size is also the one for two concurrent sessions.
bulk_big=${bulk_sizes[-1]}
ncpu=$(nproc)

# record SECTION METRIC CLIENTS N ROUND VALUE UNIT: one row of raw.csv.
record() {
  printf '%s,"%s",%s,%s,%s,%s,%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" >>"$raw"
  printf '  %-7s %-38s clients %-2s n %-8s run %s: %s %s\n' "$1" "$2" "$3" "$4" "$5" \
    "$(awk -v v="$6" 'BEGIN { printf (v >= 1000 ? "%.0f" : "%.3f"), v }')" "$7"
}

# calc EXPR: floating-point arithmetic (awk), printed with 6 decimals.
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

# section_header TEXT: announces a section, with the machine's load average
# (the benchmark shares the machine with whatever else runs on it).
section_header() {
  echo "== $* [at ${SECONDS} s; load average $(cut -d' ' -f1-3 /proc/loadavg)]"
}

# rotate ROUND ITEMS...: the items, rotated left by ROUND-1.
rotate() {
  local round=$1
  shift
  local items=("$@") k=$(((round - 1) % $#)) i
  for ((i = 0; i < $#; i++)); do printf '%s\n' "${items[(k + i) % $#]}"; done
}

# snowflake_counters: "reservation_writes next_ms_waits" from snowflake_status().
snowflake_counters() {
  bench_psql -F' ' -c "SELECT reservation_writes, next_ms_waits FROM snowflake_status()"
}

# server_cpu_ticks: CPU time used by the server so far, in clock ticks: the
# postmaster, its children that exited and were reaped (the backends of
# finished runs), and its living children.
server_cpu_ticks() {
  local pm child
  pm=$(head -1 "$work/data/postmaster.pid")
  {
    sed 's/^.*) //' "/proc/$pm/stat" | awk '{ print $12 + $13 + $14 + $15 }'
    for child in $(pgrep -P "$pm"); do
      sed 's/^.*) //' "/proc/$child/stat" 2>/dev/null | awk '{ print $12 + $13 }'
    done
  } | awk '{ t += $1 } END { print t }'
}

# children_cpu_seconds: CPU time of this shell's finished children (here:
# pgbench), from the builtin times, which must not run in a subshell (a
# forked shell starts with no children).
children_cpu_seconds() {
  times >"$work/times.out"
  awk 'NR == 2 { n = split($0, f, /[ ms]+/); print (f[1] + f[3]) * 60 + f[2] + f[4] }' "$work/times.out"
}

# run_pgbench FILE CLIENTS SECONDS [PGBENCH ARGS...]: prints "TPS CPU", the
# TPS without the initial connection time and the CPU time (server and
# pgbench) per transaction in microseconds; fails if any transaction failed.
# CPU per transaction is far less sensitive than TPS to other work on the
# machine: it tells a real cost from a slow moment.
run_pgbench() {
  local file=$1 clients=$2 seconds=$3 out tps xacts
  shift 3
  local jobs=$((clients < ncpu ? clients : ncpu)) pm_children server0 client0 server1 client1 i
  pm_children=$(pgrep -c -P "$(head -1 "$work/data/postmaster.pid")")
  server0=$(server_cpu_ticks)
  children_cpu_seconds >"$work/client0"
  if ! out=$(pgbench -h "$work" -U "$PG_RUN_USER" -n -M prepared -T "$seconds" \
    -c "$clients" -j "$jobs" "$@" -f "$repo/bench/pgbench/$file" bench 2>&1); then
    echo "pgbench $file failed:" >&2
    echo "$out" >&2
    return 1
  fi
  children_cpu_seconds >"$work/client1"
  # The backends exit once pgbench disconnects; wait until they are reaped,
  # so that their CPU time is in the postmaster's.
  for ((i = 0; i < 100; i++)); do
    (($(pgrep -c -P "$(head -1 "$work/data/postmaster.pid")") <= pm_children)) && break
    sleep 0.05
  done
  server1=$(server_cpu_ticks)
  client0=$(<"$work/client0")
  client1=$(<"$work/client1")
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' <<<"$out")
  xacts=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  if [[ -z $tps || -z $xacts ]] || ! grep -q '^number of failed transactions: 0 ' <<<"$out"; then
    echo "pgbench $file: no TPS, or failed transactions:" >&2
    echo "$out" >&2
    return 1
  fi
  echo "$tps $(calc "(($server1 - $server0) / $(getconf CLK_TCK) + $client1 - $client0) * 1e6 / $xacts")"
}

# 1. Single statements with pgbench -M prepared, ratio to SELECT 1.
bench_pgbench() {
  section_header "1. pgbench -M prepared, one statement per transaction," \
    "${pgbench_rounds} rounds of ${pgbench_seconds} s, interleaved"
  local -A label=(
    [select1.sql]="SELECT 1"
    [snowflake.sql]="snowflake_next_id()"
    [nextval_cache1.sql]="nextval CACHE 1"
    [nextval_cache100.sql]="nextval CACHE 100"
    [uuid.sql]="gen_random_uuid()"
  )
  local files=(select1.sql snowflake.sql nextval_cache1.sql nextval_cache100.sql uuid.sql)
  local round clients file tps cpu out
  if ((warmup_seconds > 0)); then
    for file in "${files[@]}"; do run_pgbench "$file" 4 "$warmup_seconds" >/dev/null; done
  fi
  for ((round = 1; round <= pgbench_rounds; round++)); do
    for clients in "${pgbench_clients[@]}"; do
      for file in $(rotate "$round" "${files[@]}"); do
        out=$(run_pgbench "$file" "$clients" "$pgbench_seconds")
        read -r tps cpu <<<"$out"
        record pgbench "${label[$file]}" "$clients" 0 "$round" "$tps" TPS
        record pgbench_cpu "${label[$file]}" "$clients" 0 "$round" "$cpu" "µs CPU/tx"
      done
    done
  done
}

# The bulk statements, by metric. Literal: the statement issue 4 names.
bulk_query() {
  local metric=$1 n=$2
  case $metric in
    "count(*)") echo "SELECT count(*) FROM generate_series(1, $n)" ;;
    "snowflake_next_id()") echo "SELECT count(snowflake_next_id()) FROM generate_series(1, $n)" ;;
    "nextval CACHE 1") echo "SELECT count(nextval('bench_seq_cache1')) FROM generate_series(1, $n)" ;;
    "nextval CACHE 100") echo "SELECT count(nextval('bench_seq_cache100')) FROM generate_series(1, $n)" ;;
    "gen_random_uuid()") echo "SELECT count(gen_random_uuid()) FROM generate_series(1, $n)" ;;
    # The same IDs, plus the first and last, to time generation itself.
    "snowflake_next_id() sustained")
      echo "SELECT count(id), min(id), max(id) FROM" \
        "(SELECT snowflake_next_id() AS id FROM generate_series(1, $n)) AS s" ;;
    # generate_series() in FROM is materialised before the first row comes
    # out; in the select list (ProjectSet) it streams. Same count, same IDs.
    "snowflake_next_id() streaming series")
      echo "SELECT count(snowflake_next_id()) FROM (SELECT generate_series(1, $n)) AS s" ;;
    "count(*) streaming series") echo "SELECT count(*) FROM (SELECT generate_series(1, $n)) AS s" ;;
    *) echo "unknown bulk metric $metric" >&2; return 1 ;;
  esac
}

# 2. (and 6.) One bulk statement in one backend; reservation writes per second
# while the snowflake statements run.
bench_bulk() {
  section_header "2. bulk, one statement in one backend, ${bulk_runs} runs, interleaved" \
    "(6. reservation writes during the snowflake runs)"
  local metrics=("count(*)" "snowflake_next_id()" "nextval CACHE 1" "nextval CACHE 100"
    "gen_random_uuid()" "snowflake_next_id() sustained" "snowflake_next_id() streaming series"
    "count(*) streaming series")
  local round n metric query row started finished ids first_ms last_ms before after elapsed
  for ((round = 1; round <= bulk_runs; round++)); do
    for n in "${bulk_sizes[@]}"; do
      while IFS= read -r metric; do
        query=$(bulk_query "$metric" "$n")
        before=$(snowflake_counters)
        if [[ $metric == *sustained ]]; then
          row=$(bench_psql -F' ' -c "SELECT * FROM bench_span(\$q\$$query\$q\$)")
          read -r started finished ids first_ms last_ms <<<"$row"
          [[ $ids == "$n" ]] || { echo "bulk: $ids IDs, expected $n" >&2; return 1; }
          # Generation itself: the IDs' own milliseconds, first to last.
          record bulk "$metric" 1 "$n" "$round" "$(calc "$n / (($last_ms - $first_ms + 1) / 1000)")" IDs/s
          # What comes before the first ID, and what it allows the literal
          # statement at most, with every ID at the layout's cap.
          local lead_s
          lead_s=$(calc "$first_ms / 1000 - $started")
          record bound "time before the first ID" 1 "$n" "$round" "$lead_s" s
          record bound "literal statement at most (cap)" 1 "$n" "$round" \
            "$(calc "$n / ($lead_s + $n / $cap_ids_per_s)")" IDs/s
        else
          row=$(bench_psql -F' ' -c "SELECT * FROM bench_time(\$q\$$query\$q\$)")
          read -r started finished <<<"$row"
          record bulk "$metric" 1 "$n" "$round" "$(calc "$n / ($finished - $started)")" IDs/s
        fi
        if [[ $metric == snowflake* && $n == "$bulk_big" ]]; then
          after=$(snowflake_counters)
          elapsed=$(calc "$finished - $started")
          record reservations "reservation writes/s, 1 session" 1 "$n" "$round" \
            "$(calc "(${after% *} - ${before% *}) / $elapsed")" writes/s
        fi
      done < <(rotate "$((round + ${#bulk_sizes[@]} - 1))" "${metrics[@]}")
    done
  done
}

# 3. Two sessions, each running the same bulk statement at once. Each times
# itself on the server; the aggregate is both counts over the wall time from
# the first start to the last finish.
bench_bulk_two_sessions() {
  section_header "3. bulk, two concurrent sessions of n=$bulk_big each, ${bulk_runs} runs, interleaved"
  local metrics=("count(*)" "snowflake_next_id()" "snowflake_next_id() sustained"
    "nextval CACHE 1" "nextval CACHE 100")
  local round metric query fn before after s1 s2 f1 f2 i1 i2 lo1 lo2 hi1 hi2 wall
  for ((round = 1; round <= bulk_runs; round++)); do
    while IFS= read -r metric; do
      query=$(bulk_query "$metric" "$bulk_big")
      fn=bench_time
      [[ $metric == *sustained ]] && fn=bench_span
      before=$(snowflake_counters)
      bench_psql -F' ' -c "SELECT * FROM $fn(\$q\$$query\$q\$)" >"$work/session1.out" &
      local pid1=$!
      bench_psql -F' ' -c "SELECT * FROM $fn(\$q\$$query\$q\$)" >"$work/session2.out" &
      local pid2=$!
      wait "$pid1"
      wait "$pid2"
      after=$(snowflake_counters)
      read -r s1 f1 i1 lo1 hi1 <"$work/session1.out"
      read -r s2 f2 i2 lo2 hi2 <"$work/session2.out"
      wall=$(calc "($f1 > $f2 ? $f1 : $f2) - ($s1 < $s2 ? $s1 : $s2)")
      if [[ $metric == *sustained ]]; then
        record bulk2 "$metric" 2 "$bulk_big" "$round" \
          "$(calc "($i1 + $i2) / ((($hi1 > $hi2 ? $hi1 : $hi2) - ($lo1 < $lo2 ? $lo1 : $lo2) + 1) / 1000)")" \
          IDs/s
      else
        record bulk2 "$metric" 2 "$bulk_big" "$round" "$(calc "2 * $bulk_big / $wall")" IDs/s
      fi
      if [[ $metric == snowflake* ]]; then
        record reservations "reservation writes/s, 2 sessions" 2 "$bulk_big" "$round" \
          "$(calc "(${after% *} - ${before% *}) / $wall")" writes/s
      fi
    done < <(rotate "$round" "${metrics[@]}")
  done
}

# insert_run TABLE CLIENTS SECONDS: empties TABLE, then prints "TPS CPU"
# (run_pgbench) of pgbench inserting 1000 rows per statement into it.
insert_run() {
  local table=$1 clients=$2 seconds=$3 extra=()
  bench_psql -c "TRUNCATE $table RESTART IDENTITY" -c "CHECKPOINT"
  # Client-supplied ids: a per-client counter, interleaved across clients, so
  # that ids are unique and ascending like the generators'.
  [[ $table == ins_client ]] && extra=(-D n=0 -D "nclients=$clients")
  PGOPTIONS="-c synchronous_commit=off" \
    run_pgbench "insert_${table#ins_}.sql" "$clients" "$seconds" "${extra[@]}"
}

# 4. Multi-row INSERT, 1000 rows per statement, synchronous_commit = off.
bench_insert() {
  section_header "4. INSERT of 1000 rows per statement, synchronous_commit=off," \
    "${insert_rounds} rounds of ${insert_seconds} s, interleaved"
  local -A label=(
    [ins_snowflake]="snowflake_next_id() default"
    [ins_bigserial]="bigserial"
    [ins_uuid]="gen_random_uuid() default"
    [ins_client]="client-supplied ids"
  )
  local tables=(ins_client ins_snowflake ins_bigserial ins_uuid)
  local round clients table tps cpu out
  if ((warmup_seconds > 0)); then
    for table in "${tables[@]}"; do insert_run "$table" "${insert_clients[-1]}" "$warmup_seconds" >/dev/null; done
  fi
  for ((round = 1; round <= insert_rounds; round++)); do
    for clients in "${insert_clients[@]}"; do
      for table in $(rotate "$round" "${tables[@]}"); do
        out=$(insert_run "$table" "$clients" "$insert_seconds")
        read -r tps cpu <<<"$out"
        record insert "${label[$table]}" "$clients" 1000 "$round" "$(calc "$tps * 1000")" rows/s
        record insert_cpu "${label[$table]}" "$clients" 1000 "$round" "$(calc "$cpu / 1000")" \
          "µs CPU/row"
      done
    done
  done
  bench_psql -c "TRUNCATE ins_client, ins_snowflake, ins_bigserial, ins_uuid"
}

# 8. Batches: snowflake_next_ids(1000) against 1000 calls of
# snowflake_next_id() in one statement, pgbench -M prepared, 1 and 2 clients
# (1000 IDs per transaction; two clients share the layout's cap).
bench_batch() {
  section_header "8. batches: snowflake_next_ids(1000) / 1000 x snowflake_next_id()," \
    "${pgbench_rounds} rounds of ${pgbench_seconds} s, interleaved"
  local -A label=(
    [next_id_x1000.sql]="1000 x snowflake_next_id()"
    [next_ids_1000.sql]="snowflake_next_ids(1000)"
  )
  local files=(next_id_x1000.sql next_ids_1000.sql)
  local round clients file tps cpu out
  if ((warmup_seconds > 0)); then
    for file in "${files[@]}"; do run_pgbench "$file" 1 "$warmup_seconds" >/dev/null; done
  fi
  for ((round = 1; round <= pgbench_rounds; round++)); do
    for clients in 1 2; do
      for file in $(rotate "$round" "${files[@]}"); do
        out=$(run_pgbench "$file" "$clients" "$pgbench_seconds")
        read -r tps cpu <<<"$out"
        record batch "${label[$file]}" "$clients" 1000 "$round" "$(calc "$tps * 1000")" IDs/s
        record batch_cpu "${label[$file]}" "$clients" 1000 "$round" "$(calc "$cpu / 1000")" \
          "µs CPU/ID"
      done
    done
  done
}

# 9. The snowflake type's cost: INSERT of 1000 rows per statement into a
# snowflake key against the same into a bigint key, both filled by
# snowflake_next_id() (the assignment cast is binary: no function call).
bench_type() {
  section_header "9. INSERT into a snowflake column / a bigint column, synchronous_commit=off," \
    "${insert_rounds} rounds of ${insert_seconds} s, interleaved"
  local -A label=(
    [ins_snowflake]="bigint column"
    [ins_snowflake_type]="snowflake column"
  )
  local tables=(ins_snowflake ins_snowflake_type)
  local round table tps cpu out
  if ((warmup_seconds > 0)); then
    for table in "${tables[@]}"; do insert_run "$table" 1 "$warmup_seconds" >/dev/null; done
  fi
  for ((round = 1; round <= insert_rounds; round++)); do
    for table in $(rotate "$round" "${tables[@]}"); do
      out=$(insert_run "$table" 1 "$insert_seconds")
      read -r tps cpu <<<"$out"
      record type "${label[$table]}" 1 1000 "$round" "$(calc "$tps * 1000")" rows/s
      record type_cpu "${label[$table]}" 1 1000 "$round" "$(calc "$cpu / 1000")" "µs CPU/row"
    done
  done
  bench_psql -c "TRUNCATE ins_snowflake, ins_snowflake_type"
}

# 5. Google Benchmark of the core (bench/core), built in the server's scratch
# directory; every repetition becomes one row, in ns per ID.
bench_core() {
  section_header "5. core micro-benchmarks (Google Benchmark, bench/core)"
  local build="$work/core-build" json="$work/core.json"
  (source "$repo/scripts/ccache.sh" &&
    cmake -S "$repo/bench/core" -B "$build" -DCMAKE_CXX_COMPILER_LAUNCHER="$CCACHE_LAUNCHER" >/dev/null &&
    cmake --build "$build" -j "$ncpu" >/dev/null)
  "$build/core_bench" "${core_args[@]}" --benchmark_display_aggregates_only=true \
    --benchmark_out="$json" --benchmark_out_format=json | sed 's/^/  /'
  # Google Benchmark writes NaN (e.g. the cv of a counter that is always 0),
  # which is not JSON.
  sed -E 's/: *-?(nan|NaN|inf|Inf|Infinity)\b/: null/g' "$json" >"$results/core.json"
  # ns per ID from items_per_second: for two threads, the aggregate rate.
  bench_psql -v json="$(cat "$results/core.json")" >>"$raw" <<'SQL'
COPY (
  SELECT 'core',
         CASE split_part(b->>'run_name', '/', 1)
           WHEN 'BM_NextId_StepFakeClock' THEN 'NextId step (fake clock)'
           WHEN 'BM_NextId_SystemClock' THEN 'NextId with SystemClock (waits at cap)'
           WHEN 'BM_SystemClockNowMs' THEN 'SystemClock::NowMs() (clock read)'
           WHEN 'BM_PlanNext' THEN 'PlanNext() (decision only)'
         END,
         coalesce(substring(b->>'run_name' FROM 'threads:([0-9]+)')::int, 1),
         0,
         (b->>'repetition_index')::int + 1,
         1e9 / (b->>'items_per_second')::float8,
         'ns/ID'
  FROM jsonb_array_elements((:'json')::jsonb->'benchmarks') AS b
  WHERE b->>'run_type' = 'iteration'
) TO STDOUT WITH (FORMAT csv);
SQL
}

# 7. A synchronous standby attached (issue 7): every renewal is a WAL record
# that waits for the standby's flush. pgbench at 4 clients against SELECT 1,
# and the sustained bulk statement, on the same server as above.
bench_sync_standby() {
  section_header "7. with a synchronous standby, ${pgbench_rounds} rounds of ${pgbench_seconds} s," \
    "and ${bulk_runs} bulk runs of n=$bulk_big"
  as_pg_user pg_basebackup -h "$work" -U "$PG_RUN_USER" -D "$work/standby" -R -X stream \
    --checkpoint=fast >/dev/null
  echo "port = 5433" | as_pg_user tee -a "$work/standby/postgresql.conf" >/dev/null
  as_pg_user pg_ctl -D "$work/standby" -l "$work/standby.log" -w start >/dev/null
  bench_psql -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
  local i
  for ((i = 0; i < 100; i++)); do
    [[ $(bench_psql -c "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") == 1 ]] && break
    sleep 0.1
  done
  ((i < 100)) || { echo "the standby did not become synchronous" >&2; return 1; }

  local -A label=([select1.sql]="SELECT 1" [snowflake.sql]="snowflake_next_id()")
  local round file tps cpu out row started finished ids first_ms last_ms
  for ((round = 1; round <= pgbench_rounds; round++)); do
    for file in $(rotate "$round" select1.sql snowflake.sql); do
      out=$(run_pgbench "$file" 4 "$pgbench_seconds")
      read -r tps cpu <<<"$out"
      record sync_pgbench "${label[$file]}" 4 0 "$round" "$tps" TPS
    done
  done
  for ((round = 1; round <= bulk_runs; round++)); do
    row=$(bench_psql -F' ' -c "SELECT * FROM bench_span(\$q\$$(bulk_query "snowflake_next_id() sustained" "$bulk_big")\$q\$)")
    read -r started finished ids first_ms last_ms <<<"$row"
    [[ $ids == "$bulk_big" ]] || { echo "sync bulk: $ids IDs, expected $bulk_big" >&2; return 1; }
    record sync_bulk "snowflake_next_id() sustained" 1 "$bulk_big" "$round" \
      "$(calc "$bulk_big / (($last_ms - $first_ms + 1) / 1000)")" IDs/s
  done

  bench_psql -c "ALTER SYSTEM RESET synchronous_standby_names" -c "SELECT pg_reload_conf()" >/dev/null
  as_pg_user pg_ctl -D "$work/standby" -m fast -w stop >/dev/null
}

# process_cpu_ns PID: the CPU time one process (all its threads) used so
# far, in nanoseconds (the scheduler's own account: clock ticks are too
# coarse for a process that wakes for a millisecond a second); 0 when it is
# gone.
process_cpu_ns() {
  cat /proc/"${1:-none}"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

# etcd_server on|off PORT: restarts the bench server with etcd coordination on
# (the etcd member on PORT) or off, and waits until it issues IDs (with etcd:
# until it claimed its node id; a clean stop released it, so at once).
etcd_server() {
  local mode=$1 port=$2 i
  as_pg_user sed -i '/^snowflake.etcd_endpoints/d' "$work/data/postgresql.conf"
  if [[ $mode == on ]]; then
    printf "snowflake.etcd_endpoints = 'http://127.0.0.1:%s'\n" "$port" |
      as_pg_user tee -a "$work/data/postgresql.conf" >/dev/null
  fi
  as_pg_user pg_ctl -D "$work/data" -l "$work/server.log" -w -m fast restart >/dev/null
  for ((i = 0; i < 100; i++)); do
    [[ $(bench_psql -c "SELECT state FROM snowflake_status()") == ready ]] && break
    sleep 0.1
  done
  ((i < 100)) || { echo "the server did not become ready with etcd $mode" >&2; return 1; }
  [[ $mode == off ]] || [[ $(bench_psql -c "SHOW snowflake.etcd_endpoints") == http* ]] ||
    { echo "etcd_endpoints is not set" >&2; return 1; }
}

# 10. (issue 9) With node ids leased from etcd: the same server with
# snowflake.etcd_endpoints pointing at a single etcd member on loopback, so
# that the reservation writer keeps a lease and raises the node id's
# high-water mark in etcd before every window. Each round runs pgbench twice,
# once with etcd on and once with it off (a restart between, the order
# rotated), each time SELECT 1 and snowflake_next_id() at 4 and 16 clients:
# the ratio to SELECT 1 with etcd on, and beside it the same ratio with etcd
# off, taken in the same rounds, so the cost of the lease loop is the
# difference. Then the bulk statement with etcd on, timed by its IDs.
bench_etcd() {
  section_header "10. with node ids leased from etcd, ${pgbench_rounds} rounds of ${pgbench_seconds} s" \
    "with etcd on and off, and ${bulk_runs} bulk runs of n=$bulk_big"
  # Below PostgreSQL::Test::Cluster's range (10200-32767) and the kernel's
  # ephemeral ports: make test runs this beside the TAP tests.
  local client_port=$((7000 + RANDOM % 1000)) peer_port
  peer_port=$((client_port + 1000))
  as_pg_user etcd --name bench --data-dir "$work/etcd" \
    --listen-client-urls "http://127.0.0.1:$client_port" \
    --advertise-client-urls "http://127.0.0.1:$client_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "bench=http://127.0.0.1:$peer_port" >"$work/etcd.log" 2>&1 &
  # $! is runuser's; etcd itself is found by its data directory, to stop it.
  local i etcd_pid=""
  for ((i = 0; i < 50; i++)); do
    etcd_pid=$(pgrep -f -- "^etcd --name bench --data-dir $work/etcd" | head -n 1) || true
    [[ -n $etcd_pid ]] && break
    sleep 0.1
  done
  for ((i = 0; i < 100; i++)); do
    etcdctl --endpoints="http://127.0.0.1:$client_port" endpoint health >/dev/null 2>&1 && break
    sleep 0.1
  done
  ((i < 100)) || { echo "etcd did not start (see $work/etcd.log)" >&2; return 1; }

  local -A label=([select1.sql]="SELECT 1" [snowflake.sql]="snowflake_next_id()")
  local round file tps cpu out row started finished ids first_ms last_ms
  local clients mode metric writer_pid etcd0 writer0
  for ((round = 1; round <= pgbench_rounds; round++)); do
    for mode in $(rotate "$round" on off); do
      etcd_server "$mode" "$client_port" || return 1
      # After each restart, as at the start of section 1: an unrecorded warm-up.
      if ((warmup_seconds > 0)); then
        for file in select1.sql snowflake.sql; do run_pgbench "$file" 4 "$warmup_seconds" >/dev/null; done
      fi
      writer_pid=$(pgrep -P "$(head -1 "$work/data/postmaster.pid")" -f 'snowflake reservation writer')
      for clients in 4 16; do
        for file in $(rotate "$round" select1.sql snowflake.sql); do
          etcd0=$(process_cpu_ns "$etcd_pid")
          writer0=$(process_cpu_ns "$writer_pid")
          started=$(date +%s.%N)
          out=$(run_pgbench "$file" "$clients" "$pgbench_seconds")
          finished=$(date +%s.%N)
          read -r tps cpu <<<"$out"
          metric=${label[$file]}
          # SELECT 1 does not call snowflake: one baseline, from both halves.
          [[ $mode == off && $file == snowflake.sql ]] && metric="snowflake_next_id() without etcd"
          record etcd_pgbench "$metric" "$clients" 0 "$round" "$tps" TPS
          record etcd_pgbench_cpu "$metric" "$clients" 0 "$round" "$cpu" "µs CPU/tx"
          # Off the hot path, while snowflake_next_id() runs: the lease loop's
          # CPU in the reservation writer and in the etcd member (which a
          # fleet runs on other machines; here it shares the two cores).
          if [[ $file == snowflake.sql && $clients == 4 ]]; then
            record etcd_background "reservation writer, etcd $mode" "$clients" 0 "$round" \
              "$(calc "($(process_cpu_ns "$writer_pid") - $writer0) / 1e6 / ($finished - $started)")" "ms CPU/s"
            record etcd_background "etcd member, etcd $mode" "$clients" 0 "$round" \
              "$(calc "($(process_cpu_ns "$etcd_pid") - $etcd0) / 1e6 / ($finished - $started)")" "ms CPU/s"
          fi
        done
      done
    done
  done
  etcd_server on "$client_port" || return 1
  for ((round = 1; round <= bulk_runs; round++)); do
    row=$(bench_psql -F' ' -c "SELECT * FROM bench_span(\$q\$$(bulk_query "snowflake_next_id() sustained" "$bulk_big")\$q\$)")
    read -r started finished ids first_ms last_ms <<<"$row"
    [[ $ids == "$bulk_big" ]] || { echo "etcd bulk: $ids IDs, expected $bulk_big" >&2; return 1; }
    record etcd_bulk "snowflake_next_id() sustained" 1 "$bulk_big" "$round" \
      "$(calc "$bulk_big / (($last_ms - $first_ms + 1) / 1000)")" IDs/s
  done

  # Back to the server without etcd, for any later section.
  etcd_server off "$client_port" || return 1
  [[ -n $etcd_pid ]] && kill "$etcd_pid" 2>/dev/null
  for ((i = 0; i < 100; i++)); do
    pgrep -f -- "^etcd --name bench --data-dir $work/etcd" >/dev/null || break
    sleep 0.1
  done
  wait 2>/dev/null || true
}

# 11. (issue 17) A fleet of simulated servers against a real three-member
# etcd on loopback (bench/fleet/fleet_sim: each simulated server runs the
# reservation writer's LeaseKeeper, NodeLease and etcd client, and the core's
# generator when busy). Per fleet size: every server starts at once with
# snowflake.node_id unset; the time until all hold distinct node ids, the
# etcd requests per server that took, by kind, and etcd's CPU; then steady
# state, half the servers issuing and half idle: requests per second per
# server, and etcd CPU per server. Then (full run) the other scenarios at
# 1024: fixed node ids, the etcd leader killed during the storm, a rolling
# restart and a tenth killed and restarted, the 1025th server; and the same
# storms with the protocol before issue 17 (fleet_sim of that commit, from
# git), recorded as "before:<figure>". Every ID a simulated server issued is
# checked for duplicates; fleet_sim fails on one, or when not every server
# was assigned an id within its timeout (the "before" runs are recorded
# however they end: at 1024 they did not finish).
fleet_run() {
  local sim=$1 size=$2 prefix=$3 fleet_work out key value unit rc=0
  shift 3
  fleet_work=$(pg_user_dir snowflake-fleet)
  # A storm of the old protocol that does not finish also takes minutes to
  # stop (its servers keep retrying): its figures, line-buffered, are read
  # as they come, and it is killed (its etcd members with it) a minute past
  # its timeout.
  out=$(timeout -s KILL 360 stdbuf -oL "$sim" --work "$fleet_work" --etcd-user "$PG_RUN_USER" \
    --timeout-s "${FLEET_TIMEOUT_S:-300}" "$@") || rc=$?
  # (The simulator of f3ab5d1 left its members running when killed.)
  pkill -KILL -f -- "--data-dir $fleet_work/etcd-" 2>/dev/null || true
  if [[ $rc -ne 0 && -z $prefix ]]; then
    echo "$out" >&2
    echo "fleet_sim $* failed (etcd logs in $fleet_work)" >&2
    return 1
  fi
  rm -rf "$fleet_work"
  while read -r key value; do
    [[ -n $key ]] || continue
    case $key in
      storm_etcd_cpu_s) unit="s CPU" ;;
      steady_etcd_cpu_ms_per_server_s) unit="ms CPU/s" ;;
      *_per_server_s) unit="requests/s" ;;
      *_per_server | *_per_restart) unit=requests ;;
      *_s) unit=s ;;
      *) unit=count ;;
    esac
    record fleet "$prefix$key" 0 "$size" 1 "$value" "$unit"
  done <<<"$out"
}

bench_fleet() {
  section_header "11. a fleet of simulated servers on a three-member etcd, sizes ${fleet_sizes[*]}" \
    "(all start at once; then ${fleet_steady_s} s of steady state, half of them issuing)"
  local build="$work/fleet-build" size variant
  (source "$repo/scripts/ccache.sh" &&
    cmake -S "$repo/bench/fleet" -B "$build" -DCMAKE_CXX_COMPILER_LAUNCHER="$CCACHE_LAUNCHER" >/dev/null &&
    cmake --build "$build" -j "$ncpu" >/dev/null) || return 1
  for size in "${fleet_sizes[@]}"; do
    fleet_run "$build/fleet_sim" "$size" "" --servers "$size" --steady-s "$fleet_steady_s" --busy 0.5 || return 1
  done
  for variant in "${fleet_variants[@]}"; do
    # shellcheck disable=SC2086 # the arguments, split
    fleet_run "$build/fleet_sim" "$(sed -n 's/.*--servers \([0-9]*\).*/\1/p' <<<"${variant#*|}")" \
      "${variant%%|*}:" ${variant#*|} || return 1
  done
  [[ ${#fleet_before_sizes[@]} -gt 0 && -n ${fleet_before_commit:-} ]] || return 0
  local before_src="$work/fleet-before-src" before_build="$work/fleet-before-build"
  mkdir -p "$before_src"
  if ! git -C "$repo" archive "$fleet_before_commit" src/core bench/fleet | tar -xf - -C "$before_src" ||
    ! (source "$repo/scripts/ccache.sh" &&
      cmake -S "$before_src/bench/fleet" -B "$before_build" -DCMAKE_CXX_COMPILER_LAUNCHER="$CCACHE_LAUNCHER" \
        >/dev/null && cmake --build "$before_build" -j "$ncpu" >/dev/null); then
    echo "  (the protocol before issue 17 could not be built from $fleet_before_commit: skipped)"
    return 0
  fi
  for size in "${fleet_before_sizes[@]}"; do
    fleet_run "$before_build/fleet_sim" "$size" "before:" --servers "$size" --steady-s "$fleet_steady_s" \
      --busy 0.5 || true
  done
}

# table_scale_server small|restore: restarts the bench server with a small
# shared_buffers and PostgreSQL's default WAL and checkpoint settings (so that
# the primary key's index outgrows shared_buffers, and checkpoints happen
# during a run, as they do in production: every page first touched after one
# is written whole to WAL), or back to run.sh's tuning.
table_scale_server() {
  local mode=$1 setting
  local settings=("shared_buffers = '128MB'" "wal_buffers = '-1'" "min_wal_size = '80MB'"
    "max_wal_size = '1GB'" "checkpoint_timeout = '5min'")
  for setting in "${settings[@]}"; do
    if [[ $mode == small ]]; then
      bench_psql -c "ALTER SYSTEM SET $setting"
    else
      bench_psql -c "ALTER SYSTEM RESET ${setting%% =*}"
    fi
  done
  as_pg_user pg_ctl -D "$work/data" -l "$work/server.log" -w -m fast restart >/dev/null
}

# table_scale_key KEY: the column definition of the key ts_keys gets.
table_scale_key() {
  case $1 in
    "snowflake_next_id() bigint") echo "bigint PRIMARY KEY DEFAULT snowflake_next_id()" ;;
    "snowflake type") echo "snowflake PRIMARY KEY DEFAULT snowflake_next_id()" ;;
    bigserial) echo "bigserial PRIMARY KEY" ;;
    "gen_random_uuid()") echo "uuid PRIMARY KEY DEFAULT gen_random_uuid()" ;;
    # bench/sql/uuidv7.sql: the pure-SQL recipe used before PostgreSQL 18
    # (milliseconds, then random), and PostgreSQL 18's layout (milliseconds,
    # the fraction of the millisecond, then random): uuidv7() itself on 18.
    "UUIDv7") echo "uuid PRIMARY KEY DEFAULT bench_uuidv7()" ;;
    "UUIDv7 sub-ms")
      if (($(bench_psql -c "SHOW server_version_num") >= 180000)); then
        echo "uuid PRIMARY KEY DEFAULT uuidv7()"
      else
        echo "uuid PRIMARY KEY DEFAULT bench_uuidv7_sub_ms()"
      fi
      ;;
    *) echo "unknown key $1" >&2; return 1 ;;
  esac
}

# table_scale_run KEY CLIENTS: a new table ts_keys keyed by KEY, filled with
# $table_rows rows by pgbench (1000 rows per statement, synchronous_commit off,
# CLIENTS clients, each running its share of the statements); records the
# rows/s, the primary key's final size, WAL bytes and full-page images, and
# blocks read into shared buffers (heap and index: all of them, and those
# read back after their eviction); appends pgbench's
# progress (rows/s every $table_progress_s s) to table_scale_progress.csv.
table_scale_run() {
  local key=$1 clients=$2 per_client out tps lsn0 fpi0 row wal fpi idx_mb heap_mb reads blocks i
  per_client=$((table_rows / 1000 / clients))
  bench_psql -c "DROP TABLE IF EXISTS ts_keys" \
    -c "CREATE TABLE ts_keys (id $(table_scale_key "$key"), v int NOT NULL)" -c "CHECKPOINT"
  row=$(bench_psql -F' ' -c "SELECT pg_current_wal_lsn(), wal_fpi FROM pg_stat_wal")
  read -r lsn0 fpi0 <<<"$row"
  if ! out=$(PGOPTIONS="-c synchronous_commit=off" pgbench -h "$work" -U "$PG_RUN_USER" -n \
    -M prepared -t "$per_client" -c "$clients" -j "$clients" --progress="$table_progress_s" \
    -f "$repo/bench/pgbench/insert_table_scale.sql" bench 2>&1); then
    echo "pgbench (table_scale, $key, $clients clients) failed:" >&2
    echo "$out" >&2
    return 1
  fi
  tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' <<<"$out")
  if [[ -z $tps ]] || ! grep -q '^number of failed transactions: 0 ' <<<"$out"; then
    echo "pgbench (table_scale): no TPS, or failed transactions:" >&2
    echo "$out" >&2
    return 1
  fi
  # The backends flush their statistics as they exit, after they left
  # pg_stat_activity: wait for them to go, then a moment more.
  for ((i = 0; i < 100; i++)); do
    (($(bench_psql -c "SELECT count(*) FROM pg_stat_activity
                       WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()") == 0)) && break
    sleep 0.1
  done
  sleep "$([[ $quick == 1 ]] && echo 0.2 || echo 1)"
  row=$(bench_psql -F' ' -c "
    SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0'), w.wal_fpi - $fpi0,
           pg_relation_size('ts_keys_pkey') / 1048576.0, pg_relation_size('ts_keys') / 1048576.0,
           coalesce(s.heap_blks_read, 0) + coalesce(s.idx_blks_read, 0),
           (pg_relation_size('ts_keys') + pg_relation_size('ts_keys_pkey')) / current_setting('block_size')::int,
           (SELECT count(*) FROM ts_keys)
    FROM pg_stat_wal AS w, pg_statio_user_tables AS s WHERE s.relname = 'ts_keys'")
  read -r wal fpi idx_mb heap_mb reads blocks i <<<"$row"
  [[ $i == "$((per_client * clients * 1000))" ]] ||
    { echo "table_scale: $i rows in ts_keys, expected $((per_client * clients * 1000))" >&2; return 1; }
  record table_scale "$key" "$clients" "$i" 1 "$(calc "$tps * 1000")" rows/s
  record table_scale_index "$key" "$clients" "$i" 1 "$idx_mb" "MB"
  record table_scale_heap "$key" "$clients" "$i" 1 "$heap_mb" "MB"
  record table_scale_wal "$key" "$clients" "$i" 1 "$(calc "$wal / $i")" "WAL bytes/row"
  record table_scale_fpi "$key" "$clients" "$i" 1 "$(calc "$fpi * 1000 / $i")" "FPI/1000 rows"
  # pg_statio counts every block a relation grows by as read once (a new
  # block comes in through the same call): what exceeds the final size in
  # blocks was read back, after it had been evicted from shared_buffers.
  record table_scale_reads "$key" "$clients" "$i" 1 "$(calc "$reads * 1000 / $i")" "reads/1000 rows"
  record table_scale_reread "$key" "$clients" "$i" 1 \
    "$(calc "($reads > $blocks ? $reads - $blocks : 0) * 1000 / $i")" "read back/1000 rows"
  # progress: 5.0 s, 123.4 tps, lat ... (per interval): rows inserted so far
  # at the end of each interval, and the interval's rate. A run shorter than
  # one interval (the quick run) has none: then one point, the whole run's.
  awk -v key="$key" -v clients="$clients" -v n="$i" -v tps="$tps" '
    /^progress: / {
      t = $2 + 0; rate = $4 * 1000; rows += rate * (t - prev); prev = t
      printf "\"%s\",%d,%.1f,%.0f,%.0f\n", key, clients, t, rows, rate
    }
    END {
      if (prev == 0) printf "\"%s\",%d,%.3f,%.0f,%.0f\n", key, clients, n / tps / 1000, n, tps * 1000
    }' <<<"$out" >>"$results/table_scale_progress.csv"
  bench_psql -c "DROP TABLE ts_keys"
}

# 12. (issue 19) The key at table scale: $table_rows rows into a table whose
# primary key outgrows shared_buffers, keyed by snowflake_next_id() (bigint
# and the snowflake type), bigserial, gen_random_uuid() and UUIDv7, at 1 and
# 4 clients; one run of each (a run is long: the figures are whole-run totals).
bench_table_scale() {
  section_header "12. the key at table scale: ${table_rows} rows per run," \
    "clients ${table_clients[*]}, shared_buffers=128MB"
  local keys=("bigserial" "snowflake_next_id() bigint" "snowflake type" "UUIDv7" "UUIDv7 sub-ms"
    "gen_random_uuid()")
  # BENCH_TABLE_KEYS: only the keys this extended regular expression matches.
  if [[ -n ${BENCH_TABLE_KEYS:-} ]]; then
    mapfile -t keys < <(printf '%s\n' "${keys[@]}" | grep -E -- "$BENCH_TABLE_KEYS")
    ((${#keys[@]} > 0)) || { echo "table_scale: no key matches $BENCH_TABLE_KEYS" >&2; return 1; }
  fi
  local clients key round=0 order
  echo "key,clients,seconds,rows,rows_per_s" >"$results/table_scale_progress.csv"
  table_scale_server small
  [[ $(bench_psql -c "SHOW shared_buffers") == 128MB ]] ||
    { echo "table_scale: shared_buffers is not 128MB" >&2; return 1; }
  bench_psql -f "$repo/bench/sql/uuidv7.sql"
  # The UUIDv7 functions make what they claim: version 7, ascending across
  # milliseconds (and within one, for the sub-ms layout, in one backend).
  [[ $(bench_psql -c "
    SELECT bool_and(uuid_send(u) > uuid_send(p) AND substr(u::text, 15, 1) = '7')
    FROM (SELECT u, lag(u) OVER (ORDER BY i) AS p
          FROM (SELECT i, CASE WHEN i % 2 = 0 THEN bench_uuidv7() ELSE bench_uuidv7_sub_ms() END AS u,
                       pg_sleep(0.002)
                FROM generate_series(1, 20) AS i) AS g) AS s
    WHERE p IS NOT NULL") == t ]] ||
    { echo "table_scale: bench/sql/uuidv7.sql does not make ascending version-7 UUIDs" >&2; return 1; }
  [[ $(bench_psql -c "
    SELECT bool_and(substr(uuid_send(u), 1, 8) >= substr(uuid_send(p), 1, 8))
           AND count(DISTINCT substr(uuid_send(u), 7, 2)) > 1
    FROM (SELECT u, lag(u) OVER (ORDER BY i) AS p
          FROM (SELECT i, bench_uuidv7_sub_ms() AS u FROM generate_series(1, 1000) AS i) AS g) AS s
    WHERE p IS NOT NULL") == t ]] ||
    { echo "table_scale: bench_uuidv7_sub_ms() does not ascend within a millisecond" >&2; return 1; }
  for clients in "${table_clients[@]}"; do
    round=$((round + 1))
    mapfile -t order < <(rotate "$round" "${keys[@]}")
    for key in "${order[@]}"; do
      table_scale_run "$key" "$clients" || return 1
    done
  done
  table_scale_server restore
}
