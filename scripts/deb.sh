#!/usr/bin/env bash
# make deb / make deb-test: the Debian packages, one per supported
# PostgreSQL major, each built the way Debian builds its PostgreSQL
# extensions (debian/: pg_buildext, debian/pgversions) on the release that
# ships that major, in a clean build root:
#
#   15  Debian 12 bookworm     17  Debian 13 trixie     18  Debian unstable (sid)
#
#   deb.sh build   for each major, side by side: a build root of its release
#                  (mmdebstrap's buildd variant, i.e. build-essential, plus
#                  exactly the Build-Depends of debian/control.in, installed
#                  with apt-get satisfy; cached in $SNOWFLAKE_ROOTFS_DIR like
#                  the root file systems of make test-all-versions) builds
#                  postgresql-<major>-snowflake with dpkg-buildpackage from a
#                  clean copy of the tree (the files git knows), offline;
#                  then that release's lintian (a root file system of its own)
#                  checks it, failing on any error or warning (no overrides).
#                  The packages land in build/deb/, logs in build/deb/pg<major>/.
#   deb.sh test    build, then installs each package with apt on a clean
#                  root file system of its release that has only
#                  postgresql-<major> and the package's declared Depends (the
#                  test is offline), adds the two lines to postgresql.conf,
#                  restarts, and uses the extension (deb-smoke-test.sh).
#
# debian/control is kept in git as `pg_buildext updatecontrol` makes it for
# unstable (the changelog's distribution), as Debian's PostgreSQL team keeps
# theirs; the 18 build on sid checks it (pg_buildext checkcontrol), the 15
# and 17 builds regenerate it, as backports and apt.postgresql.org do.
#
#   SNOWFLAKE_PG_VERSIONS="17"   only these majors (default: all below)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
action=${1:-build}
[[ $action == build || $action == test ]] || { echo "usage: $0 build|test" >&2; exit 2; }

# major:suite:control, oldest first (the suites of make test-all-versions).
all_versions=(15:bookworm:update 17:trixie:update 18:sid:check)

if [[ $(id -u) -ne 0 ]]; then
  echo "make deb needs root (mmdebstrap, chroot, mounts)" >&2
  exit 1
fi
scripts/install-deps.sh deb
source scripts/rootfs.sh

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
upstream=${version%-*}
extversion=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" snowflake.control)
out=$repo/build/deb
rm -rf "$out"
mkdir -p "$out"

# The clean tree: the files git knows (tracked, or new and not ignored), as
# they are in the working tree; no build products, no .git.
src=$out/src/snowflake-$upstream
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$src"

# The build roots get debian/control.in's Build-Depends and nothing else.
build_depends=$(perl -MDpkg::Control::Info -e '
  my $b = Dpkg::Control::Info->new("debian/control.in")->get_source->{"Build-Depends"};
  $b =~ s/\s+/ /g; $b =~ s/^ +| *,? *$//g; print $b')
echo "Build-Depends (debian/control.in): $build_depends"

# step NAME CMD...: runs CMD, records status and seconds in the steps file.
step() {
  local name=$1 start=$SECONDS rc=0
  shift
  echo "=== $name"
  "$@" || rc=$?
  echo "$name $([[ $rc -eq 0 ]] && echo ok || echo FAIL) $((SECONDS - start))" >>"$results/steps"
  return "$rc"
}

# A root file system, noting in the log whether it was cached.
ensure() {
  rootfs_ensure "$@" || return 1
  echo "root file system: $ROOTFS ($([[ $ROOTFS_SECONDS -eq 0 ]] && echo cached || echo "built in ${ROOTFS_SECONDS}s"))"
}

build_in_root() { # MAJOR SUITE CONTROL
  ensure --variant buildd --satisfy "$build_depends" "$2-deb-build" "$2" &&
    rootfs_run "$ROOTFS" --ro "$src" /snowflake-src --bind "$results" /snowflake-out -- \
      /snowflake-src/scripts/deb-build-in-rootfs.sh "$1" /snowflake-src /snowflake-out "$3"
}

lintian_in_root() { # SUITE
  # Made (or found) in the background while the package was built.
  wait "$lintian_root_pid" || true
  cat "$results/lintian-root.log"
  rootfs_ensure "$1-lintian" "$1" lintian || return 1
  local rc=0
  rootfs_run "$ROOTFS" --ro "$results" /snowflake-out -- \
    runuser -u nobody -- env HOME=/tmp sh -c 'cd /snowflake-out && lintian --info --display-info \
      --fail-on error,warning ./*.changes' >"$results/lintian.txt" 2>&1 || rc=$?
  echo "lintian $(rootfs_run "$ROOTFS" -- lintian --version | sed 's/^Lintian v//') (Debian $1)"
  if [[ -s $results/lintian.txt ]]; then cat "$results/lintian.txt"; else echo "(no tags)"; fi
  return "$rc"
}

test_in_root() { # MAJOR SUITE
  local deb deb_depends
  deb=$results/postgresql-$1-snowflake_${version}_$(dpkg --print-architecture).deb
  # The test runs offline (its own network namespace), so what apt would
  # fetch from Debian for the package, its declared Depends (libcurl4, ...),
  # is part of the clean root file system from the start; nothing else is.
  read -r -a deb_depends <<<"$(dpkg-deb -f "$deb" Depends | tr ',' '\n' |
    sed 's/|.*//; s/(.*)//; s/^ *//; s/ *$//' | grep -v '^$' | sort -u | xargs)"
  echo "the package's Depends: ${deb_depends[*]}"
  ensure "$2-clean-pg$1" "$2" "postgresql-$1" "${deb_depends[@]}" &&
    rootfs_run "$ROOTFS" --ro "$results" /snowflake-deb --ro "$repo/scripts" /snowflake-scripts -- \
      /snowflake-scripts/deb-smoke-test.sh "/snowflake-deb/$(basename "$deb")" "$extversion"
}

# One major, from build root to smoke test; everything into its own log.
run_major() { # MAJOR SUITE CONTROL
  results=$out/pg$1
  mkdir -p "$results"
  : >"$results/steps"
  printf '=== postgresql-%s-snowflake (Debian %s)\n' "$1" "$2"
  # lintian's root file system does not depend on the build: made meanwhile.
  ensure "$2-lintian" "$2" lintian >"$results/lintian-root.log" 2>&1 &
  lintian_root_pid=$!
  step build build_in_root "$1" "$2" "$3" || { wait "$lintian_root_pid" || true; return 1; }
  local deb
  deb=$results/postgresql-$1-snowflake_${version}_$(dpkg --print-architecture).deb
  cp "$deb" "$out/"
  dpkg-deb --field "$deb" Package Version Depends
  dpkg-deb --contents "$deb" | awk '{print $1, $3, $6}'
  local rc=0
  step lintian lintian_in_root "$2" || rc=1
  if [[ $action == test ]]; then step test test_in_root "$1" "$2" || rc=1; fi
  return "$rc"
}

wanted=${SNOWFLAKE_PG_VERSIONS:-}
declare -A pids=() starts=()
majors=()
for entry in "${all_versions[@]}"; do
  IFS=: read -r major suite control <<<"$entry"
  [[ -n $wanted && " $wanted " != *" $major "* ]] && continue
  majors+=("$major")
  starts[$major]=$SECONDS
  run_major "$major" "$suite" "$control" >"$out/pg$major.log" 2>&1 &
  pids[$major]=$!
done

rows=()
failed=0
for major in "${majors[@]}"; do
  rc=0
  wait "${pids[$major]}" || rc=$?
  elapsed=$((SECONDS - starts[$major]))
  cat "$out/pg$major.log"
  declare -A st=()
  while read -r name status s; do st[$name]="$status ${s}s"; done <"$out/pg$major/steps"
  result=pass
  [[ $rc -eq 0 ]] || { result=FAIL; failed=1; }
  rows+=("$(printf '| %-7s | %-10s | %-10s | %-10s | %4ss | %-6s |' "$major" \
    "${st[build]:--}" "${st[lintian]:--}" "${st[test]:--}" "$elapsed" "$result")")
  unset st
done
{
  printf '\n| package | build      | lintian    | test       |  time | result |\n'
  printf '|---------|------------|------------|------------|------:|--------|\n'
  printf '%s\n' "${rows[@]}"
} | tee "$out/summary.md"
if [[ $failed -ne 0 ]]; then
  echo "make deb$([[ $action == test ]] && echo -test): FAILED; logs under $out/" >&2
  exit 1
fi
ls "$out"/*.deb
