#!/usr/bin/env bash
# make test: installs what is missing, builds, and runs every test:
#   1. formatting (clang-format), clang-tidy, and the build with -Wall -Wextra -Werror;
#   2. the core's GoogleTest suite, plain, under ASan+UBSan, and under TSan,
#      and a bounded libFuzzer run (scripts/fuzz.sh);
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

step "fuzzing the type's text input and the decoders (libFuzzer, ${FUZZ_SECONDS:-60} s)"
FUZZ_SECONDS=${FUZZ_SECONDS:-60} scripts/fuzz.sh

step "pg_regress and TAP tests"
source scripts/pg_user.sh
stage=$(pg_user_dir snowflake-test)
# The checkout may sit where the unprivileged user cannot read or write
# (e.g. /root), so the SQL and TAP tests run in a copy it owns.
tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$stage"
[[ $(id -u) -eq 0 ]] && chown -R "$PG_RUN_USER" "$stage"
# The disk-full TAP test (tests/t/006_disk_faults.pl) needs a file system it
# can fill: a tiny tmpfs, which only root can mount. Without it, it skips.
tmpfs=""
if [[ $(id -u) -eq 0 ]]; then
  tmpfs=$(pg_user_dir snowflake-tmpfs)
  if mount -t tmpfs -o size=512k,mode=0700 snowflake-test-tmpfs "$tmpfs"; then
    chown "$PG_RUN_USER" "$tmpfs"
    trap 'umount "$tmpfs" || umount -l "$tmpfs"; rmdir "$tmpfs"' EXIT
  else
    rmdir "$tmpfs"
    tmpfs=""
  fi
fi
if ! as_pg_user env SNOWFLAKE_TEST_TMPFS="$tmpfs" make -C "$stage" installcheck PROVE_FLAGS="--timer"; then
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
