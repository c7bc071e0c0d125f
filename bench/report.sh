# bench/report.sh: the outputs of a run. Sourced by bench/run.sh, once every
# section has run and while the server is still up (the summaries are
# computed in SQL, by bench/sql/report.sql, on the raw measurements).
#
# Owns: the table on stdout and the files in $results:
#   latest.csv   every figure: section, metric, clients, n, unit, runs,
#                median, min, max, baseline, ratio, ratio_min, ratio_max
#   summary.md   the machine, the targets and one table per section
#   bench.png    the chart (bench/plot.gp)
# and, when section 12 (table_scale) ran, the same section on its own:
#   table_scale.md, table_scale.png (bench/table_scale.gp); sections.sh wrote
#   table_scale_progress.csv.
# Uses from run.sh: $raw, $results, $work, $repo, $quick, bench_psql,
# $started_at, $elapsed_s, $load_at_start, $load_at_end, $cpu_idle; from
# sections.sh: $table_rows, $table_progress_s, $table_clients.
# shellcheck disable=SC2154 # those are set by the scripts that source this one

# describe_machine: one line naming the machine the figures came from:
# nproc, the CPU model of /proc/cpuinfo, memory, kernel, clock source.
describe_machine() {
  local cpu mem
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
  printf '%s cores (nproc) of %s, %s RAM, Linux %s, clock source %s' \
    "$(nproc)" "${cpu:-unknown CPU}" "$mem" "$(uname -r)" \
    "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
}

# describe_code: the commit measured, and whether src/ differed from it.
describe_code() {
  local commit
  if ! commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null); then
    echo "an unknown commit"
    return
  fi
  if ! git -C "$repo" diff --quiet HEAD -- src 2>/dev/null; then
    commit="$commit with uncommitted changes in src/"
  fi
  echo "$commit"
}

write_report() {
  bench_psql -c "\copy bench_raw FROM STDIN WITH (FORMAT csv)" <"$raw"
  bench_psql -f "$repo/bench/sql/report.sql"

  local order="ORDER BY ord / 100, clients, n, ord"
  bench_psql -c "\copy (SELECT section, metric, clients, n, unit, runs, median, min, max,
                        baseline, ratio, ratio_min, ratio_max
                        FROM bench_summary $order) TO STDOUT WITH (FORMAT csv, HEADER)" \
    >"$results/latest.csv"

  local machine pg_version code mode
  machine=$(describe_machine)
  pg_version=$(bench_psql -c "SHOW server_version")
  code=$(describe_code)
  mode="full run"
  [[ $quick == 1 ]] && mode="quick smoke run (figures not comparable)"

  echo
  echo "== results ($mode): medians of repeated runs; ratios to this run's baselines"
  echo "   machine: $machine"
  echo "   PostgreSQL $pg_version, snowflake $code; load average $load_at_start at start, $load_at_end at end"
  echo "   $cpu_idle"
  bench_psql -P format=aligned -P tuples_only=off -P footer=off -c "
    SELECT section, metric, clients AS c, CASE WHEN n = 0 THEN '' ELSE n::text END AS n,
           runs, lpad(bench_fmt(median, unit), 13) AS median, lpad(bench_fmt(min, unit), 13) AS min,
           lpad(bench_fmt(max, unit), 13) AS max, unit, to_char(ratio, 'FM990.000') AS ratio,
           to_char(ratio_min, 'FM990.000') || '–' || to_char(ratio_max, 'FM990.000') AS \"min–max\",
           baseline AS \"ratio to\"
    FROM bench_summary $order"
  echo
  bench_psql -P format=aligned -P tuples_only=off -P footer=off -c "
    SELECT target, goal,
           CASE WHEN use_ratio THEN to_char(measured, 'FM990.000')
                ELSE bench_fmt(measured, unit) END AS measured,
           verdict
    FROM bench_targets ORDER BY ord"

  write_summary_md "$machine" "$pg_version" "$code" "$mode" >"$results/summary.md"
  write_chart "$machine" "$pg_version" "$mode"
  write_fleet_chart "$machine" "$mode"
  echo
  echo "wrote $results/summary.md, $results/latest.csv, $results/raw.csv, $results/bench.png"
  # Section 12 also stands alone (its own page and chart), when it ran.
  if [[ -s $results/table_scale_progress.csv ]] &&
    (($(bench_psql -c "SELECT count(*) FROM bench_raw WHERE section = 'table_scale'") > 0)); then
    write_table_scale_md "$machine" "$pg_version" "$code" "$mode" >"$results/table_scale.md"
    write_table_scale_chart "$machine" "$pg_version" "$mode"
    echo "wrote $results/table_scale.md, $results/table_scale.png, $results/table_scale_progress.csv"
  fi
  echo "benchmark done in ${elapsed_s} s; the server is stopped and its directory removed on exit."
}

# write_summary_md MACHINE PG_VERSION CODE MODE: markdown for the README.
write_summary_md() {
  local machine=$1 pg_version=$2 code=$3 mode=$4
  cat <<MD
# snowflake benchmark

\`make bench\`, $mode, $started_at, ${elapsed_s} s.

- Machine: $machine; $cpu_idle.
- PostgreSQL $pg_version; snowflake at $code. One throwaway server, unix socket only:
  shared_buffers=1GB, autovacuum, JIT and parallel query off, fsync on, synchronous_commit on
  except for the INSERT runs (off). The pgbench clients run on the same machine as the server.
- Load average (1, 5, 15 min): $load_at_start at start, $load_at_end at end.
- Every figure is the median of repeated runs, interleaved across the variants; min and max
  beside it. Ratios are to baselines of this same run. All figures: \`latest.csv\`.

![snowflake benchmark](bench.png)

## Targets

$(bench_psql -c "SELECT bench_md_targets()")

## 1. pgbench, one statement per transaction (TPS, ratio to SELECT 1)

\`pgbench -M prepared\`, ${pgbench_rounds} rounds of ${pgbench_seconds} s per statement and
client count, interleaved.

$(bench_psql -c "SELECT bench_md_grid('pgbench', 'statement')")

### CPU time per transaction (server and pgbench, µs; ratio = SELECT 1's / this)

The same runs, by CPU time instead of wall time: other work on the machine moves TPS far
more than it moves the CPU a transaction costs.

$(bench_psql -c "SELECT bench_md_grid('pgbench_cpu', 'statement')")

## 2. Bulk, one statement in one backend (IDs/s, ratio to the 4,096,000/s cap)

\`SELECT count(f()) FROM generate_series(1, n)\`, timed on the server. "sustained" is the
same IDs timed by their own first and last milliseconds: generation alone, without the time
PostgreSQL spends materialising \`generate_series()\` before the first row (section "bound").
"streaming series" is \`SELECT count(f()) FROM (SELECT generate_series(1, n)) s\`, which does
not materialise the series.

$(bench_psql -c "SELECT bench_md('bulk')")

### What bounds the literal bulk statement

$(bench_psql -c "SELECT bench_md('bound')")

## 3. Two concurrent sessions, each running the bulk statement (aggregate IDs/s)

$(bench_psql -c "SELECT bench_md('bulk2')")

## 4. Multi-row INSERT, 1000 rows per statement (rows/s, ratio to client-supplied ids)

\`INSERT ... SELECT ... FROM generate_series(1, 1000)\` through pgbench, into
\`(id <type> PRIMARY KEY, v int)\`, synchronous_commit=off, table truncated before each run.
Client-supplied ids are unique and ascending (a per-client counter, interleaved across
clients).

$(bench_psql -c "SELECT bench_md_grid('insert', 'id from')")

### CPU time per row (server and pgbench, µs; ratio = client-supplied's / this)

$(bench_psql -c "SELECT bench_md_grid('insert_cpu', 'id from')")

## 5. Core step, Google Benchmark (ns per ID; ratio = rate to the cap)

snowflake::NextId() on one shared GeneratorState. "fake clock": a clock that moves one ms
every 4096 reads, so the step never waits. "SystemClock": the real clock; at the cap a call
spins until the next millisecond, so 244.14 ns per ID is the cap itself. Two threads: the
aggregate rate of both.

$(bench_psql -c "SELECT bench_md('core')")

## 6. Reservation writes (fsyncs of the state file) during the bulk runs

$(bench_psql -c "SELECT bench_md('reservations')")

## 7. With a synchronous standby attached

The same server with a streaming standby (on the same machine) named in
\`synchronous_standby_names\`: every renewal's WAL record waits for the standby's flush before
IDs of the new window are issued (docs/high-availability.md). pgbench at 4 clients,
ratio to \`SELECT 1\` in the same rounds; the bulk statement timed by its IDs' own milliseconds.

$(bench_psql -c "SELECT bench_md('sync_pgbench')")

$(bench_psql -c "SELECT bench_md('sync_bulk')")

## 8. Batches: snowflake_next_ids(1000) against 1000 calls of snowflake_next_id() (IDs/s)

\`SELECT count(*) FROM snowflake_next_ids(1000)\` against
\`SELECT count(snowflake_next_id()) FROM generate_series(1, 1000)\`, \`pgbench -M prepared\`,
${pgbench_rounds} rounds of ${pgbench_seconds} s, interleaved; ratio to the 1000 calls.

$(bench_psql -c "SELECT bench_md_grid('batch', 'IDs from')")

### CPU time per ID (server and pgbench, µs; ratio = 1000 calls' / this)

$(bench_psql -c "SELECT bench_md_grid('batch_cpu', 'IDs from')")

## 10. With node ids leased from etcd

The same server with \`snowflake.etcd_endpoints\` pointing at one etcd member on loopback
(docs/fleets.md): the reservation writer holds the node id under a lease and
raises its high-water mark in etcd before every reservation window; calls check the lease's fence
(one read of the monotonic clock). Each round runs pgbench with etcd on and, after a restart, with
it off (the order alternates), each time \`SELECT 1\` and \`snowflake_next_id()\` at 4 and 16
clients; the ratio is to \`SELECT 1\` of the same round (both halves). What the lease loop costs
is the difference between \`snowflake_next_id()\` and \`snowflake_next_id() without etcd\`. The
bulk statement runs with etcd on, timed by its IDs' own milliseconds.

$(bench_psql -c "SELECT bench_md('etcd_pgbench')")

CPU time per transaction (server and pgbench, µs; ratio = SELECT 1's / this):

$(bench_psql -c "SELECT bench_md('etcd_pgbench_cpu')")

$(bench_psql -c "SELECT bench_md('etcd_bulk')")

Off the hot path: CPU time of the reservation writer and of the etcd member while
\`snowflake_next_id()\` runs at 4 clients (ms of CPU per second), with etcd on and off. A fleet
runs etcd on other machines; here it shares the two cores with the server and pgbench, so its
part is taken from the figures above.

$(bench_psql -c "SELECT bench_md('etcd_background')")

## 9. The snowflake type: INSERT into a snowflake key against a bigint key (rows/s)

1000 rows per statement, both keys filled by \`DEFAULT snowflake_next_id()\`,
synchronous_commit=off, 1 client; ratio to the bigint column.

$(bench_psql -c "SELECT bench_md('type')")

$(bench_psql -c "SELECT bench_md('type_cpu')")

## 11. A fleet of simulated servers on a three-member etcd (\`bench/fleet/\`)

Each simulated server runs the reservation writer's lease code (the core's \`LeaseKeeper\`,
\`NodeLease\` and etcd client, a step every 50 ms) against a real three-member etcd 3.4 on
loopback, which shares the machine's cores; busy ones also run the core's generator and
reservation steps. All start at once with \`snowflake.node_id\` unset (column n: the fleet's size):
\`storm_all_held_s\` is the time until every server holds a distinct node id, \`storm_*_per_server\`
the etcd requests each sent until then (by kind), \`storm_etcd_cpu_s\` etcd's CPU meanwhile. Then
steady state with half the servers issuing: requests per second per busy and idle server, and
etcd CPU per server. \`ids_duplicated\` counts IDs issued twice across the fleet (must be 0).
Rows named \`<scenario>:<figure>\` are the other scenarios at 1024 (fixed node ids, the etcd leader
killed during the storm, a rolling restart a tenth at a time and a tenth killed with \`kill -9\`
and restarted, the 1025th server); \`before:<figure>\` is the protocol before issue 17 (the
same tool, built from git at \`BENCH_FLEET_BEFORE\`, default f3ab5d1; -1 s: not every server
held an id within 300 s). Chart: [fleet.png](fleet.png).

$(bench_psql -c "SELECT bench_md('fleet')")

$(if (($(bench_psql -c "SELECT count(*) FROM bench_raw WHERE section = 'table_scale'") > 0)); then
    table_scale_md_body
  else
    printf '## 12. The key at table scale (issue 19)\n\nNot measured in this run.\n'
  fi)
MD
}

# table_scale_md_body: section 12 of summary.md (also in table_scale.md).
table_scale_md_body() {
  cat <<MD
## 12. The key at table scale (issue 19)

${table_rows} rows per run into \`ts_keys (id <key> PRIMARY KEY, v int)\` through pgbench
(\`INSERT ... SELECT ... FROM generate_series(1, 1000)\`, 1000 rows per statement, each client
running its share), synchronous_commit=off, one run per key and client count, a new table each
run. The server for this section: shared_buffers=128MB (the primary key outgrows it), and
PostgreSQL's default WAL and checkpoint settings (max_wal_size=1GB, checkpoint_timeout=5min,
full_page_writes on), so checkpoints happen during a run and every page first changed after one
is written whole to WAL. UUIDv7: the pure-SQL recipe commonly used before PostgreSQL 18
(milliseconds, then random bits: UUIDs of one millisecond in random order), and "UUIDv7 sub-ms",
PostgreSQL 18's layout (the fraction of the millisecond after it, so that a backend's UUIDs
ascend): \`uuidv7()\` on 18, a PL/pgSQL function before (both in \`bench/sql/uuidv7.sql\`). Figures are whole-run totals; in brackets the ratio to bigserial at
the same client count (rows/s: higher is faster; every other column: higher is more).
"Blocks read" are heap and index blocks not found in shared_buffers
(\`pg_statio_user_tables\`: from the operating system's page cache or the disk), which counts
each block the table or index grows by once; "read back" is what exceeds their final size in
blocks: blocks needed again after shared_buffers had evicted them. WAL bytes are the distance
the WAL insert position moved, full-page images from \`pg_stat_wal\`.

$(bench_psql -c "SELECT bench_md_table_scale()")

![rows/s while the table grows](table_scale.png)

Rows/s over time (pgbench \`--progress=${table_progress_s}\`): \`table_scale_progress.csv\`.
MD
}

# write_table_scale_md MACHINE PG_VERSION CODE MODE: section 12 alone, with
# the machine and the server it ran on.
write_table_scale_md() {
  local machine=$1 pg_version=$2 code=$3 mode=$4 disk
  disk=$(df -h --output=source,size "$work" | awk 'NR == 2 { print $1 " (" $2 ")" }')
  cat <<MD
# The key at table scale

\`make bench\` section \`table_scale\` (\`BENCH_SECTIONS=table_scale bench/run.sh\`), $mode,
$started_at.

- Machine: $machine; disk $disk
  ($(lsblk -dno ROTA "$(df --output=source "$work" | tail -1)" 2>/dev/null |
    awk '{ print ($1 == 1 ? "rotational" : "not rotational") }' || echo "kind unknown")); $cpu_idle.
- PostgreSQL $pg_version, shared_buffers=$(bench_psql -c "SHOW shared_buffers") during the rest of
  the run, 128MB during this section; snowflake at $code. One throwaway server, unix socket
  only; the pgbench clients run on the same machine.
- Load average (1, 5, 15 min): $load_at_start at start, $load_at_end at end.

$(table_scale_md_body)
MD
}

# write_table_scale_chart MACHINE PG_VERSION MODE: table_scale.png, rows/s
# against rows inserted per key and client count, and the index size and WAL
# per row (bench/table_scale.gp).
write_table_scale_chart() {
  local machine=$1 pg_version=$2 mode=$3 data="$work/plot"
  mkdir -p "$data"
  rm -f "$data"/ts_*.dat
  # One file per client count and key (the key's place in table_scale.gp's list).
  awk -F, -v dir="$data" 'NR > 1 {
      k = $1; gsub(/"/, "", k)
      i = (k == "bigserial") ? 1 : (k == "snowflake_next_id() bigint") ? 2 : (k == "snowflake type") ? 3 \
          : (k == "UUIDv7") ? 4 : (k == "UUIDv7 sub-ms") ? 5 : 6
      printf "%s %s\n", $4 / 1e6, $5 / 1000 >(dir "/ts_" $2 "_" i ".dat")
    }' "$results/table_scale_progress.csv"
  local c
  for c in "${table_clients[@]}"; do
    for k in 1 2 3 4 5 6; do [[ -f $data/ts_${c}_$k.dat ]] || echo "NaN NaN" >"$data/ts_${c}_$k.dat"; done
  done
  bench_psql -c "
    SELECT k || ',' || replace(g.metric, ',', ' ') || ',' || string_agg(
             bench_nan(i.median) || ',' || bench_nan(w.median), ',' ORDER BY c.clients)
    FROM (VALUES (1, 'bigserial'), (2, 'snowflake_next_id() bigint'), (3, 'snowflake type'),
                 (4, 'UUIDv7'), (5, 'UUIDv7 sub-ms'), (6, 'gen_random_uuid()')) AS g(k, metric)
    CROSS JOIN unnest('{$(IFS=,; echo "${table_clients[*]}")}'::int[]) AS c(clients)
    LEFT JOIN bench_summary i ON i.section = 'table_scale_index' AND i.metric = g.metric
                             AND i.clients = c.clients
    LEFT JOIN bench_summary w ON w.section = 'table_scale_wal' AND w.metric = g.metric
                             AND w.clients = c.clients
    GROUP BY k, g.metric ORDER BY k" >"$data/ts_bars.csv"
  gnuplot -e "datadir='$data'; out='$results/table_scale.png'; clients='${table_clients[*]}'" \
    -e "heading=\"The key at table scale: ${table_rows} rows per run, $mode, $started_at, PostgreSQL $pg_version, shared_buffers=128MB\\n$machine\"" \
    "$repo/bench/table_scale.gp"
}

# write_fleet_chart MACHINE MODE: fleet.png (issue 17): claim time and etcd
# requests per server against fleet size, before and after, from section 11's
# rows of $raw. A storm that did not finish is drawn at the timeout (300 s).
write_fleet_chart() {
  local machine=$1 mode=$2 data="$work/plot/fleet.dat"
  mkdir -p "$work/plot"
  awk -F, '$1 == "fleet" {
      gsub(/"/, "", $2); n = $4; v = $6
      if ($2 == "storm_all_held_s") after_s[n] = v
      else if ($2 == "storm_requests_per_server") after_r[n] = v
      else if ($2 == "before:storm_all_held_s") before_s[n] = v
      else if ($2 == "before:storm_requests_per_server") before_r[n] = v
      sizes[n] = 1
    }
    END {
      for (n in sizes) if ((n in after_s) || (n in before_s)) {
        bs = (n in before_s) ? (before_s[n] < 0 ? 300 : before_s[n]) : "NaN"
        printf "%d %s %s %s %s\n", n, (n in after_s) ? after_s[n] : "NaN", bs,
          (n in after_r) ? after_r[n] : "NaN", (n in before_r) ? before_r[n] : "NaN"
      }
    }' "$raw" | sort -n >"$data"
  [[ -s $data ]] || return 0
  gnuplot -e "data='$data'; out='$results/fleet.png'" \
    -e "heading=\"snowflake: a fleet starting at once, node ids unset ($mode, $started_at)\\n$machine\"" \
    "$repo/bench/fleet/plot.gp"
}

# write_chart MACHINE PG_VERSION MODE: bench.png from the summary views.
write_chart() {
  local machine=$1 pg_version=$2 mode=$3 data="$work/plot"
  mkdir -p "$data"
  bench_psql -c "SELECT label || ',' || cols FROM bench_plot_pgbench ORDER BY clients" >"$data/pgbench.csv"
  bench_psql -c "SELECT label || ',' || cols FROM bench_plot_bulk ORDER BY k" >"$data/bulk.csv"
  bench_psql -c "SELECT label || ',' || cols FROM bench_plot_insert ORDER BY clients" >"$data/insert.csv"
  bench_psql -c "SELECT label || ',' || cols FROM bench_plot_core ORDER BY k" >"$data/core.csv"
  gnuplot -e "datadir='$data'; out='$results/bench.png'" \
    -e "heading=\"snowflake benchmark, $mode, $started_at, PostgreSQL $pg_version\\n$machine\"" \
    "$repo/bench/plot.gp"
}
