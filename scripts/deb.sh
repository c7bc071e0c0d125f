#!/usr/bin/env bash
# make deb / make deb-test: the Debian package, built the way Debian builds
# its PostgreSQL extensions (debian/: pg_buildext, debian/pgversions).
#
#   deb.sh build   builds postgresql-<major>-snowflake for every major in
#                  debian/pgversions that is installed (on Debian 12: 15)
#                  from a copy of the working tree, in build/deb/; runs
#                  lintian (fails on any error or warning not overridden in
#                  debian/) and lists the package's files.
#   deb.sh test    build, then installs the package with apt on a clean
#                  Debian 12 root file system that has only postgresql-15
#                  and the package's declared Depends (the test is offline)
#                  (made once with mmdebstrap, cached like those of
#                  make test-all-versions), adds the two lines to
#                  postgresql.conf, restarts, and uses the extension.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
action=${1:-build}

scripts/install-deps.sh deb

version=$(dpkg-parsechangelog -l debian/changelog -S Version)
upstream=${version%-*}
out=$repo/build/deb
rm -rf "$out"
mkdir -p "$out"

# A copy of the tree, so the build's files never land in the checkout
# (without node-pg's packages, which make test installs for examples/node).
src=$out/snowflake-$upstream
mkdir -p "$src"
tar --exclude=./.git --exclude=./build --exclude=./examples/node/node_modules -cf - . | tar -xf - -C "$src"
echo "=== dpkg-buildpackage (snowflake $version)"
(
  cd "$src"
  # debian/control lists one package per PostgreSQL major this system
  # supports; regenerate it here rather than fail on another release.
  pg_buildext updatecontrol
  dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1
) || {
  tail -n 40 "$out/build.log"
  echo "dpkg-buildpackage failed; log: $out/build.log" >&2
  exit 1
}
changes=$(ls "$out"/snowflake_*.changes)
debs=("$out"/postgresql-*-snowflake_*.deb)

echo "=== lintian"
set +e
lintian --info --display-info --fail-on error,warning "$changes" >"$out/lintian.txt" 2>&1
lintian_rc=$?
set -e
if [[ -s $out/lintian.txt ]]; then cat "$out/lintian.txt"; else echo "(no tags)"; fi
for deb in "${debs[@]}"; do
  echo "=== $(basename "$deb")"
  dpkg-deb --field "$deb" Package Version Depends
  dpkg-deb --contents "$deb" | awk '{print $1, $3, $6}'
done
if [[ $lintian_rc -ne 0 ]]; then
  echo "lintian reported errors or warnings (see above)" >&2
  exit 1
fi
[[ $action == build ]] && exit 0

[[ $action == test ]] || { echo "usage: $0 build|test" >&2; exit 2; }
echo "=== install on a clean Debian 12 with PostgreSQL 15"
source scripts/rootfs.sh
scripts/install-deps.sh versions
deb15=$(ls "$out"/postgresql-15-snowflake_*.deb)
# The test runs offline (its own network namespace), so what apt would fetch
# from Debian for the package, its declared Depends (libcurl4, ...), is part
# of the clean root file system from the start; nothing else is.
read -r -a deb_depends <<<"$(dpkg-deb -f "$deb15" Depends | tr ',' '\n' |
  sed 's/|.*//; s/(.*)//; s/^ *//; s/ *$//' | grep -v '^$' | sort -u | xargs)"
rootfs_ensure bookworm-clean-pg15 bookworm postgresql-15 "${deb_depends[@]}"
echo "root file system: $ROOTFS ($([[ $ROOTFS_SECONDS -eq 0 ]] && echo cached || echo "built in ${ROOTFS_SECONDS}s")); the package's Depends: ${deb_depends[*]}"
rootfs_run "$ROOTFS" --ro "$out" /snowflake-deb --ro "$repo/scripts" /snowflake-scripts -- \
  /snowflake-scripts/deb-smoke-test.sh "/snowflake-deb/$(basename "$deb15")" \
  "$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" snowflake.control)"
