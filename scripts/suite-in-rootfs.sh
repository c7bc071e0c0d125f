#!/usr/bin/env bash
# Runs inside a root file system of make test-all-versions (as root, from
# scripts/rootfs.sh's rootfs_run): the build, then everything
# `make installcheck` runs (pg_regress, then the TAP tests), for the one
# PostgreSQL major installed there. Nothing here names a test: new sql/
# files and tests/t/*.pl are covered as soon as make installcheck runs them.
#
#   suite-in-rootfs.sh MAJOR SRC RESULTS [TAP_FILES]
#     SRC        the source tree (read-only here; copied to a directory the
#                unprivileged server user owns)
#     RESULTS    gets one line per step, "step status seconds", and on a
#                failure the step's log, regression.diffs and the TAP logs
#     TAP_FILES  only these TAP files (a space-separated list; default: all)
set -uo pipefail
major=$1 src=$2 results=$3 tap_files=${4:-}

pg_bindir=/usr/lib/postgresql/$major/bin
export PG_CONFIG=$pg_bindir/pg_config
export PATH=$pg_bindir:$PATH
user=postgres # made by the postgresql-common package
id "$user" >/dev/null

# PostgreSQL::Test::Cluster ships with the server packages, but where is
# a packaging choice: find it rather than assume PGXS's own include path.
cluster_pm=$( (dpkg -L "postgresql-client-$major" "postgresql-$major" "postgresql-server-dev-$major" 2>/dev/null;
  find /usr/lib/postgresql/"$major" /usr/share/perl5 /usr/lib/x86_64-linux-gnu/perl5 -path '*/PostgreSQL/Test/Cluster.pm' 2>/dev/null) |
  grep '/PostgreSQL/Test/Cluster\.pm$' | head -n 1)
if [[ -z $cluster_pm ]]; then
  echo "tap_framework fail 0" >>"$results/steps"
  echo "PostgreSQL::Test::Cluster not found for PostgreSQL $major" >&2
  exit 1
fi
perl_lib=${cluster_pm%/PostgreSQL/Test/Cluster.pm}
echo "PostgreSQL $("$PG_CONFIG" --version); TAP framework: $perl_lib"
version=$("$PG_CONFIG" --version)
version=${version#PostgreSQL }
echo "${version%% *}" >"$results/server_version"

stage=$(mktemp -d /tmp/snowflake.XXXXXX)
tar -C "$src" --exclude=./.git --exclude=./build -cf - . | tar -xf - -C "$stage"
# Objects built on the host (another major's) must not count as up to date.
make -C "$stage" clean >/dev/null 2>&1 || true
# The release the in-place upgrade test starts from (test-all-versions.sh).
[[ -d $src/build/versions/upgrade-from ]] && cp -r "$src/build/versions/upgrade-from" "$stage/"
chown -R "$user" "$stage"

as_user() { runuser -u "$user" -- env PATH="$PATH" PG_CONFIG="$PG_CONFIG" PERL5LIB="$perl_lib" "$@"; }

# step NAME CMD...: runs CMD, records status and seconds, keeps its log.
failed=0
step() {
  local name=$1 start=$SECONDS rc
  shift
  echo "=== PostgreSQL $major: $name"
  "$@" >"$results/$name.log" 2>&1
  rc=$?
  echo "$name $([[ $rc -eq 0 ]] && echo ok || echo FAIL) $((SECONDS - start))" >>"$results/steps"
  if [[ $rc -ne 0 ]]; then
    failed=1
    tail -n 40 "$results/$name.log"
  fi
  return "$rc"
}

# The disk-full TAP test needs a tiny file system to fill (as in make test).
tmpfs=$(mktemp -d /tmp/snowflake-tmpfs.XXXXXX)
mount -t tmpfs -o size=512k,mode=0700 snowflake-test-tmpfs "$tmpfs" && chown "$user" "$tmpfs"

if step build as_user make -C "$stage" -j"$(nproc)" && step install make -C "$stage" install; then
  step regress as_user make -C "$stage" installcheck TAP_TESTS=
  # Several TAP files at once, as in make test (scripts/test.sh); one per
  # core, not two: make test-all-versions runs the majors side by side.
  step tap as_user env SNOWFLAKE_TEST_TMPFS="$tmpfs" make -C "$stage" installcheck-tap \
    PROVE_FLAGS="--timer -j$(nproc)" ${tap_files:+PROVE_TESTS="$tap_files"}
fi

if [[ $failed -ne 0 ]]; then
  for f in "$stage"/regression.diffs "$stage"/output_*/regression.diffs; do
    [[ -f $f ]] && cp "$f" "$results/$(basename "$(dirname "$f")")-regression.diffs"
  done
  [[ -d $stage/tmp_check/log ]] && cp -r "$stage/tmp_check/log" "$results/tap-logs"
  # Logs that tests keep in their own directories (etcd, Patroni, ...).
  (cd "$stage/tmp_check" 2>/dev/null &&
    find . -path ./log -prune -o \( -name '*.log' -o -name '*.yml' \) -size -20M -print |
    while read -r f; do mkdir -p "$results/tap-files/$(dirname "$f")" && cp "$f" "$results/tap-files/$f"; done)
fi
exit "$failed"
