#!/usr/bin/env bash
# make test: installs what is missing, builds, and runs every test:
#   1. formatting (clang-format), clang-tidy, META.json (PGXN), and the build
#      with -Wall -Wextra -Werror;
#   2. the core's GoogleTest suite, plain, under ASan+UBSan, and under TSan;
#      then every libFuzzer target in tests/fuzz/ for a bounded time;
#   3. pg_regress on throwaway servers (preloaded, node id unset, not preloaded)
#      and the TAP tests (PostgreSQL::Test::Cluster), as an unprivileged user;
#   4. a short smoke run of the benchmark, so it does not rot.
# Exits non-zero on the first failure and prints regression.diffs if pg_regress fails.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

step() { printf '\n=== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh test

step "format check and clang-tidy"
make -s format-check
make -s lint

step "PGXN: META.json against the meta spec"
make -s pgxn-check

step "build and install"
make -s
make -s install

step "core unit tests (GoogleTest)"
for variant in plain address thread; do
  dir="build/gtest-$variant"
  sanitize=""
  [[ $variant != plain ]] && sanitize=$variant
  cmake -S tests -B "$dir" -DSNOWFLAKE_SANITIZE="$sanitize" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$dir" -j "$(nproc)" >/dev/null
  echo "--- ctest ($variant)"
  ctest --test-dir "$dir" --output-on-failure
done

step "fuzzing (libFuzzer, ${FUZZ_SECONDS:-30} s per target)"
FUZZ_SECONDS=${FUZZ_SECONDS:-30} scripts/fuzz.sh

step "pg_regress and TAP tests"
source scripts/pg_user.sh
stage=$(pg_user_dir snowflake-test)
# The checkout may sit where the unprivileged user cannot read or write
# (e.g. /root), so the SQL and TAP tests run in a copy it owns.
tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$stage"
[[ $(id -u) -eq 0 ]] && chown -R "$PG_RUN_USER" "$stage"
# The disk-full TAP tests need file systems they can fill, which only root
# can mount; without them those parts skip:
#   - a tiny tmpfs for the state directory (tests/t/006_disk_faults.pl);
#   - a tmpfs that holds a whole data directory, for a first start on a full
#     disk (tests/t/022_first_start.pl).
tmpfs=""
datafs=""
cleanup_mounts() {
  local m
  for m in "$tmpfs" "$datafs"; do
    [[ -n $m ]] || continue
    umount "$m" || umount -l "$m"
    rmdir "$m"
  done
}
if [[ $(id -u) -eq 0 ]]; then
  trap cleanup_mounts EXIT
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
if ! as_pg_user env SNOWFLAKE_TEST_TMPFS="$tmpfs" SNOWFLAKE_TEST_DATAFS="$datafs" make -C "$stage" installcheck PROVE_FLAGS="--timer"; then
  for diffs in "$stage"/regression.diffs "$stage"/output_*/regression.diffs; do
    [[ -f $diffs ]] && { echo "--- $diffs"; cat "$diffs"; }
  done
  echo "test servers' logs are under $stage/tmp_check*/ and $stage/tmp_check/log/" >&2
  exit 1
fi
rm -rf "$stage"

if [[ -x bench/run.sh ]]; then
  step "benchmark smoke run"
  BENCH_QUICK=1 bench/run.sh
fi

step "all tests passed"
