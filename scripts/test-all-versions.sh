#!/usr/bin/env bash
# make test-all-versions: the build, pg_regress and the TAP suite on every
# supported PostgreSQL major, each in a Debian root file system that has it
# from Debian's own packages (scripts/rootfs.sh):
#
#   15  Debian 12 bookworm     17  Debian 13 trixie     18  Debian unstable (sid)
#
# The root file systems are made on the first run (mmdebstrap, about a minute
# each) and cached in $SNOWFLAKE_ROOTFS_DIR (default /var/cache/snowflake);
# each version then runs in a throwaway overlay, so the cache stays clean.
# The versions run side by side, each in its own namespaces; their output is
# printed, one version after the other, when all have ended.
# Prints a table and exits non-zero if any version fails. Run as root.
#
#   SNOWFLAKE_PG_VERSIONS="17 18"   only these majors (default: all below)
#   SNOWFLAKE_TAP_TESTS="tests/t/013_clock_jump.pl"   only these TAP files
#                                   (pg_regress runs in full; for a look at
#                                   one test on another major, not for CI)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

# major:suite, oldest first. 16 and 19 are in no Debian suite reachable here.
all_versions=(15:bookworm 17:trixie 18:sid)

if [[ $(id -u) -ne 0 ]]; then
  echo "make test-all-versions needs root (mmdebstrap, chroot, mounts)" >&2
  exit 1
fi
scripts/install-deps.sh versions
source scripts/rootfs.sh

wanted=${SNOWFLAKE_PG_VERSIONS:-}
out=$repo/build/versions
rm -rf "$out"
mkdir -p "$out"
# The release tests/t/033_upgrade_in_place.pl starts from: git is not in the
# root file systems, so it is exported here (suite-in-rootfs.sh copies it).
scripts/upgrade-source.sh "$out/upgrade-from" >/dev/null

# One major: its root file system (made or cached), then the suite inside it.
# Prints everything to its own log; the table row is made from its steps file.
run_major() {
  local major=$1 suite=$2 results=$out/pg$1 packages
  mkdir -p "$results"
  : >"$results/steps"
  printf '=== PostgreSQL %s (Debian %s)\n' "$major" "$suite"
  read -r -a packages <<<"$(SNOWFLAKE_PG_MAJOR=$major scripts/install-deps.sh --list build suite | xargs)"
  if rootfs_ensure "$suite-pg$major" "$suite" "${packages[@]}"; then
    echo "$ROOTFS_SECONDS" >"$results/rootfs_seconds"
    echo "root file system: $ROOTFS ($([[ $ROOTFS_SECONDS -eq 0 ]] && echo cached || echo "built in ${ROOTFS_SECONDS}s"))"
    rootfs_run "$ROOTFS" --ro "$repo" /snowflake-src --bind "$results" /snowflake-results -- \
      /snowflake-src/scripts/suite-in-rootfs.sh "$major" /snowflake-src /snowflake-results \
      "${SNOWFLAKE_TAP_TESTS:-}" || true
  else
    echo fail >"$results/rootfs_seconds"
    echo "rootfs FAIL 0" >>"$results/steps"
  fi
}

# The majors run side by side: each in its own namespaces (rootfs_run), so
# their servers, ports and /tmp never meet, and most of a suite's time is
# spent waiting (TAP), which the other major's work fills.
declare -A pids=() starts=()
majors=()
for entry in "${all_versions[@]}"; do
  major=${entry%%:*} suite=${entry#*:}
  [[ -n $wanted && " $wanted " != *" $major "* ]] && continue
  majors+=("$major")
  starts[$major]=$SECONDS
  run_major "$major" "$suite" >"$out/pg$major.log" 2>&1 &
  pids[$major]=$!
done

rows=()
failed=0
for major in "${majors[@]}"; do
  wait "${pids[$major]}" || true
  elapsed=$((SECONDS - starts[$major]))
  results=$out/pg$major
  cat "$out/pg$major.log"
  # One row: version, root file system, build, regress, TAP, time, result.
  declare -A st=() secs=()
  while read -r name status s; do st[$name]=$status secs[$name]=$s; done <"$results/steps"
  cell() { [[ -n ${st[$1]:-} ]] && echo "${st[$1]} ${secs[$1]}s" || echo "-"; }
  result=pass
  for s in build install regress tap; do [[ ${st[$s]:-} == ok ]] || result=FAIL; done
  [[ $result == pass ]] || failed=1
  server=$(cat "$results/server_version" 2>/dev/null || echo "?")
  rootfs_cell=$(cat "$results/rootfs_seconds" 2>/dev/null || echo fail)
  [[ $rootfs_cell =~ ^[0-9]+$ ]] && { [[ $rootfs_cell -eq 0 ]] && rootfs_cell=cached || rootfs_cell="built ${rootfs_cell}s"; }
  rows+=("$(printf '| %-7s | %-8s | %-12s | %-9s | %-9s | %-9s | %5ss | %-6s |' \
    "$major" "$server" "$rootfs_cell" "$(cell build)" "$(cell regress)" "$(cell tap)" \
    "$elapsed" "$result")")
  unset st secs
done

{
  printf '\n| version | server   | root fs      | build     | regress   | TAP       |  time | result |\n'
  printf '|---------|----------|--------------|-----------|-----------|-----------|------:|--------|\n'
  printf '%s\n' "${rows[@]}"
} | tee "$out/summary.md"
if [[ $failed -ne 0 ]]; then
  echo "test-all-versions: FAILED; logs, regression.diffs and TAP logs are under $out/" >&2
  exit 1
fi
echo "test-all-versions: every version passed"
