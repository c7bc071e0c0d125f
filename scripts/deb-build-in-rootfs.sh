#!/usr/bin/env bash
# Runs inside a build root of make deb (scripts/deb.sh, through rootfs.sh's
# rootfs_run): a Debian root file system with build-essential and exactly
# the Build-Depends of debian/control.in, no network. Builds the binary
# package for the one PostgreSQL major that release supports, with
# dpkg-buildpackage and pg_buildext, from a clean copy of the source tree.
#
#   deb-build-in-rootfs.sh MAJOR SRC OUT CONTROL
#     SRC      the clean tree (the files git knows; read-only here)
#     OUT      gets the .deb (and -dbgsym .deb), .changes, .buildinfo, build.log
#     CONTROL  check: the tree's debian/control must be what
#              `pg_buildext updatecontrol` makes of debian/control.in on this
#              release (dh's clean step, pg_buildext checkcontrol, fails
#              otherwise), as on Debian's own builders for unstable;
#              update: regenerate it first, as backports and
#              apt.postgresql.org do for older releases
set -euo pipefail
major=$1 src=$2 out=$3 control=$4

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
upstream=${version%-*}
tree=/tmp/build/snowflake-$upstream
mkdir -p "$tree"
cp -a "$src/." "$tree/"
cd "$tree"

echo "supported here: PostgreSQL $(pg_buildext supported-versions)"
if [[ $control == update ]]; then
  pg_buildext updatecontrol
else
  # The same check dh runs after its clean step, but first and alone, so that
  # its failure is named.
  pg_buildext checkcontrol
fi
# dpkg-buildpackage checks the Build-Depends against what is installed
# (dpkg-checkbuilddeps) before it builds.
set +e
DEB_BUILD_OPTIONS="parallel=${SNOWFLAKE_DEB_JOBS:-2}" dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  tail -n 12 "$out/build.log"
  echo "dpkg-buildpackage failed for PostgreSQL $major; log: build.log" >&2
  exit 1
fi
cp /tmp/build/*.deb /tmp/build/*.changes /tmp/build/*.buildinfo "$out/"
# Exactly one package (and its automatic -dbgsym), for this major: another
# would mean that debian/control and the release's supported versions
# disagree with the plan (deb.sh).
packages=
for f in "$out"/*.deb; do [[ $f == *-dbgsym_* ]] || packages+="${packages:+ }$(basename "$f")"; done
if [[ $packages != "postgresql-$major-snowflake_${version}_$(dpkg --print-architecture).deb" ]]; then
  echo "expected postgresql-$major-snowflake only, built: $packages" >&2
  exit 1
fi
echo "built $packages"
