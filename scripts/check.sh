#!/usr/bin/env bash
# make check: the inner loop between edits, in under 3 minutes on 2 cores.
#   the documentation's facts (make pgxn-check, make docs-check) and the
#   monitoring files (make monitoring-check); build and
#   install; the core's GoogleTest suite (plain, no sanitizer);
#   pg_regress on its three throwaway servers; and a small TAP smoke set
#   (below), side by side with the unit tests.
# It is not the whole suite: make test (and CI) runs everything, with the
# sanitizers, the fuzzers and every TAP file.
#
#   SNOWFLAKE_CHECK_TAP="tests/t/001_standby.pl ..."   another TAP smoke set
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
source scripts/phases.sh
source scripts/ccache.sh
phases_init "$repo/build/check-logs"

# The smoke set: one file per path a change most often breaks, each short:
# a standby (WAL reservations), a crash restart (the state file), the clock
# set back under libfaketime, the library loaded or not, and etcd leases.
tap_smoke=${SNOWFLAKE_CHECK_TAP:-tests/t/001_standby.pl tests/t/008_quick_restarts.pl tests/t/009_time_range.pl
tests/t/025_advance_past.pl tests/t/027_loaded_module.pl tests/t/031_etcd_security.pl}

phase "dependencies" scripts/install-deps.sh test
# The documentation's facts, checked against the code in a second or two.
failed=()
phase "PGXN: META.json and the docs' versions" make -s pgxn-check || failed+=("META.json")
phase "docs against the code" make -s docs-check || failed+=("docs-check")
phase "monitoring: alert rules and metric names" make -s monitoring-check || failed+=("monitoring-check")
phase "build" make -s -j"$(nproc)" CCACHE="$CCACHE_LAUNCHER"
phase "install" make -s install

source scripts/pg_user.sh
stage=$(stage_tree snowflake-check)
trap 'phases_stop' EXIT
sql_tests() {
  # shellcheck disable=SC2086 # a list of files
  as_pg_user make -C "$stage" installcheck PROVE_TESTS="$(echo $tap_smoke)" PROVE_FLAGS="--timer -j$((2 * $(nproc)))"
}
phase_bg "pg_regress and TAP smoke set" sql_tests

phase "GoogleTest (plain)" scripts/gtest.sh plain || failed+=(GoogleTest)
if ! phase_wait "pg_regress and TAP smoke set"; then
  failed+=("pg_regress or TAP")
  show_sql_test_failures "$stage"
fi

phases_report "$PHASES_DIR/pg_regress and TAP smoke set.log"
if [[ ${#failed[@]} -gt 0 ]]; then
  printf '\nmake check FAILED: %s (make test runs everything)\n' "${failed[*]}" >&2
  exit 1
fi
rm -rf "$stage"
printf '\n=== make check passed (the inner loop; make test runs every test)\n'
