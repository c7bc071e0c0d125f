#!/usr/bin/env bash
# make test: installs what is missing, builds, and runs every test:
#   1. the build with -Wall -Wextra -Werror;
#   2. in the background: pg_regress on throwaway servers (preloaded, node id
#      unset, not preloaded), then the TAP tests (PostgreSQL::Test::Cluster;
#      the client examples among them, node-pg installed by npm ci first),
#      as an unprivileged user, several TAP files at once (prove -j); and a
#      short smoke run of the benchmark, so it does not rot;
#   3. beside them: formatting (clang-format), clang-tidy (in the background
#      too, beside what follows), META.json (PGXN) and
#      the versions and file names in the docs, the docs against the code
#      (every message in docs/troubleshooting.md, cited sections exist), the
#      alert rules and metric names of monitoring/ (promtool),
#      the core's GoogleTest suite, plain, under ASan+UBSan and under TSan,
#      then every libFuzzer target in tests/fuzz/ for a bounded time.
# Compiles go through a compiler cache shared by the clones on this machine
# (scripts/ccache.sh; SNOWFLAKE_CCACHE=0 compiles everything).
# At the end it prints each phase's time and the ten slowest TAP files.
#
# Why side by side: the TAP tests spend most of their time waiting (for a
# lease to run out, a standby to catch up, a clock to pass a mark), the
# compiles and the sanitizer runs spend theirs computing. The computing runs
# at a lower priority (nice), so the servers under test get the CPU first.
#
#   SNOWFLAKE_TAP_JOBS   TAP files run at once (default 2 per core)
#   FUZZ_SECONDS         per fuzz target (default 30)
# Exits non-zero if anything failed, and prints regression.diffs if pg_regress did.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
source scripts/phases.sh
source scripts/ccache.sh
phases_init "$repo/build/test-logs"

phase "dependencies" scripts/install-deps.sh test
[[ -n $CCACHE_LAUNCHER ]] && ccache --zero-stats >/dev/null
phase "build" make -s -j"$(nproc)" CCACHE="$CCACHE_LAUNCHER"
phase "install" make -s install
failed=()
# node-pg for the client examples (tests/t/037_clients.pl), before the tree
# is staged: the staged copy has examples/node/node_modules.
phase "node-pg for the examples (npm ci)" scripts/examples.sh prepare || failed+=("npm ci")

source scripts/pg_user.sh
stage=$(stage_tree snowflake-test)
# The disk-full TAP tests need file systems they can fill, which only root
# can mount; without them those parts skip:
#   - a tiny tmpfs for the state directory (tests/t/006_disk_faults.pl);
#   - a tmpfs that holds a whole data directory, for a first start on a full
#     disk (tests/t/022_first_start.pl).
# Each is used by one test file only, so TAP files running at once never share one.
tmpfs=""
datafs=""
cleanup() {
  local m
  phases_stop
  for m in "$tmpfs" "$datafs"; do
    [[ -n $m ]] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    rmdir "$m" 2>/dev/null || true
  done
}
trap cleanup EXIT
if [[ $(id -u) -eq 0 ]]; then
  tmpfs=$(pg_user_dir snowflake-tmpfs)
  if mount -t tmpfs -o size=512k,mode=0700 snowflake-test-tmpfs "$tmpfs"; then
    chown "$PG_RUN_USER" "$tmpfs"
  else
    rmdir "$tmpfs"
    tmpfs=""
  fi
  datafs=$(pg_user_dir snowflake-datafs)
  if mount -t tmpfs -o size=48m,mode=0700 snowflake-test-datafs "$datafs"; then
    chown "$PG_RUN_USER" "$datafs"
  else
    rmdir "$datafs"
    datafs=""
  fi
fi

tap_jobs=${SNOWFLAKE_TAP_JOBS:-$((2 * $(nproc)))}
sql_tests() {
  as_pg_user env SNOWFLAKE_TEST_TMPFS="$tmpfs" SNOWFLAKE_TEST_DATAFS="$datafs" SNOWFLAKE_CLIENTS_REQUIRED=1 \
    make -C "$stage" installcheck PROVE_FLAGS="--timer -j$tap_jobs"
}
phase_bg "pg_regress and TAP" sql_tests
# A smoke run, its rounds timed, not counted: beside everything else it takes
# as long and does less, and its figures are not comparable anyway
# (bench/README.md).
[[ -x bench/run.sh ]] &&
  phase_bg "benchmark smoke run" env BENCH_QUICK=1 SNOWFLAKE_BENCH_INSTALLED=1 nice -n 10 bench/run.sh

phase "format check" make -s format-check || failed+=("format check")
# clang-tidy beside the unit tests rather than before them: the machine
# still idles a fifth of the time while TAP files wait, and clang-tidy
# (one process a file) fills it.
phase_bg "clang-tidy" nice -n 10 make -s lint
phase "PGXN: META.json" make -s pgxn-check || failed+=("META.json")
phase "docs against the code" make -s docs-check || failed+=("docs-check")
phase "monitoring: alert rules and metric names" make -s monitoring-check || failed+=("monitoring-check")
phase "GoogleTest (plain, ASan+UBSan, TSan)" scripts/gtest.sh || failed+=(GoogleTest)
phase "fuzzing (${FUZZ_SECONDS:-30} s per target)" env FUZZ_SECONDS="${FUZZ_SECONDS:-30}" nice -n 10 scripts/fuzz.sh ||
  failed+=(fuzzing)
phase_wait "clang-tidy" || failed+=(clang-tidy)
if [[ -x bench/run.sh ]] && ! phase_wait "benchmark smoke run"; then
  failed+=("benchmark smoke run")
fi
if ! phase_wait "pg_regress and TAP"; then
  failed+=("pg_regress or TAP")
  show_sql_test_failures "$stage"
fi

phases_report "$PHASES_DIR/pg_regress and TAP.log"
if [[ -n $CCACHE_LAUNCHER ]]; then
  printf 'compiler cache (%s): ' "$CCACHE_DIR"
  ccache --print-stats | awk -F'\t' '$1 == "direct_cache_hit" || $1 == "preprocessed_cache_hit" { hit += $2 }
    $1 == "cache_miss" { miss = $2 } END { printf "%d hits, %d misses in this run\n", hit, miss }'
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  printf '\nmake test FAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
rm -rf "$stage"
printf '\n=== all tests passed\n'
