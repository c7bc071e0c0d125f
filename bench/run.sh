#!/usr/bin/env bash
# bench/run.sh: `make bench`, the benchmark of issue 4, in one run.
#
# Owns: the run as a whole. Installs what is missing (scripts/install-deps.sh
# bench), builds and installs the extension, starts ONE throwaway tuned server
# (unix socket only, in a temporary directory owned by the unprivileged
# PostgreSQL user; stopped and removed on exit, whatever happens), runs every
# section of bench/sections.sh against it, so that all ratios share one
# baseline, and writes the report (bench/report.sh).
#
#   make bench                      full run, about 35 minutes on 2 cores
#   BENCH_QUICK=1 bench/run.sh      smoke run (under a minute), for make test
#
# Results (stable paths; a quick run writes to bench/results/quick/ instead,
# so that make test never overwrites the figures of a full run):
#   bench/results/summary.md   markdown tables + the machine, for the README
#   bench/results/bench.png    the chart (gnuplot)
#   bench/results/latest.csv   every figure: median, min, max, ratio
#   bench/results/raw.csv      every single measurement
#   bench/results/core.json    Google Benchmark's own output
#   bench/results/table_scale.{md,png}, table_scale_progress.csv   section 12
#                              (the key at table scale) on its own
# Knobs (environment): BENCH_RESULTS (output directory), BENCH_SECONDS and
# BENCH_ROUNDS (pgbench runs), BENCH_BULK_RUNS, BENCH_INSERT_ROUNDS,
# BENCH_CPU_IDLE=1 (do not keep idle CPUs polling, see below), BENCH_SECTIONS
# (run only these sections, e.g. BENCH_SECTIONS=sync_standby), BENCH_TABLE_ROWS,
# BENCH_TABLE_CLIENTS and BENCH_TABLE_KEYS (section 12).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

quick=${BENCH_QUICK:-0}
[[ $quick == 0 ]] || quick=1

scripts/install-deps.sh bench
# make test has built and installed already, and runs this beside the TAP
# tests: installing again would replace snowflake.so under servers starting.
if [[ ${SNOWFLAKE_BENCH_INSTALLED:-0} != 1 ]]; then
  make -s
  make -s install
fi
source scripts/pg_user.sh

if [[ $quick == 1 ]]; then
  results=${BENCH_RESULTS:-$repo/bench/results/quick}
else
  results=${BENCH_RESULTS:-$repo/bench/results}
fi
mkdir -p "$results"
raw="$results/raw.csv"
: >"$raw"

# The server's directory: data/, the socket, the log, and scratch files.
work=$(pg_user_dir snowflake-bench)
stop_server() {
  if [[ -f "$work/standby/postmaster.pid" ]]; then
    as_pg_user pg_ctl -D "$work/standby" -m fast stop >/dev/null 2>&1 || true
  fi
  if [[ -f "$work/data/postmaster.pid" ]]; then
    as_pg_user pg_ctl -D "$work/data" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap stop_server EXIT
trap 'exit 130' INT TERM

echo "== snowflake benchmark ($([[ $quick == 1 ]] && echo quick smoke run || echo full run))"
echo "   server: $work (unix socket only), results: $results"
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SECONDS=0

as_pg_user initdb -D "$work/data" --auth=trust --no-sync >/dev/null
# Tuning: enough shared buffers for every table of the INSERT runs, no
# checkpoint, autovacuum or JIT compilation inside a timed run, WAL segments
# recycled rather than created during the INSERT runs, and one backend per
# bulk statement. synchronous_commit stays on (the default) for
# the single-statement runs, as a user has it (a sequence's nextval() flushes
# WAL every 32 values); the INSERT runs set it off per session (issue 4).
# fsync stays on: reservations are fsynced as in production.
cat >>"$work/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$work'
shared_preload_libraries = 'snowflake'
snowflake.node_id = 1
max_connections = 40
shared_buffers = 1GB
wal_buffers = 64MB
min_wal_size = 4GB
max_wal_size = 16GB
checkpoint_timeout = 1h
autovacuum = off
jit = off
max_parallel_workers_per_gather = 0
CONF
as_pg_user pg_ctl -D "$work/data" -l "$work/server.log" -w start >/dev/null

# On a VM, a CPU that halts when idle takes tens of microseconds to wake, and
# a one-client ping-pong (pgbench, 1 client) then measures that, not the
# database: 15k TPS instead of 60k, flipping between the two with the
# machine's other load. As root, the run asks the kernel (PM QoS) to keep
# idle CPUs polling, for as long as this script holds the file open; it is
# opened after the server started, so the server does not inherit it.
# BENCH_CPU_IDLE=1 leaves the CPUs' idle states alone.
cpu_idle="default idle states"
if [[ ${BENCH_CPU_IDLE:-0} != 1 && -w /dev/cpu_dma_latency ]] &&
  { exec {cpu_latency_fd}>/dev/cpu_dma_latency; } 2>/dev/null &&
  printf '\x00\x00\x00\x00' >&"$cpu_latency_fd"; then
  cpu_idle="idle CPUs kept polling (PM QoS cpu_dma_latency=0) during the run"
fi

# psql on the bench database: unaligned, quiet, stop on the first error.
bench_psql() {
  psql -h "$work" -U "$PG_RUN_USER" -d bench -X -q -At -v ON_ERROR_STOP=1 "$@"
}
psql -h "$work" -U "$PG_RUN_USER" -d postgres -X -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE bench"
bench_psql -f bench/sql/setup.sql

source bench/sections.sh
# BENCH_SECTIONS: a subset, e.g. "sync_standby" (each section carries its own
# baseline, so its ratios stand alone); the report marks the rest "not measured".
for section in ${BENCH_SECTIONS:-pgbench bulk bulk_two_sessions insert core sync_standby batch type etcd fleet table_scale}; do
  "bench_$section"
done

load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed_s=$SECONDS
source bench/report.sh
write_report
