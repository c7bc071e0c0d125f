#!/usr/bin/env bash
# upgrade-source.sh OUTDIR: the source of the release that
# tests/t/033_upgrade_in_place.pl upgrades from, as OUTDIR/snowflake-<v>.tar
# (git archive); prints the file's path.
#
# The release is the newest commit whose snowflake.control says
# default_version = '<v>' (the commit before the one that moved it on), so
# nothing here names a commit. The TAP test runs where git and .git are not
# (the staged copy, the root file systems of make test-all-versions), so the
# scripts that stage the tree make the archive beforehand (pg_user.sh's
# stage_tree, test-all-versions.sh); run from a checkout, the test calls this
# script itself.
#
#   SNOWFLAKE_UPGRADE_FROM=1.1   the version (default 1.1, the first release)
set -euo pipefail
out=${1:?usage: upgrade-source.sh OUTDIR}
from=${SNOWFLAKE_UPGRADE_FROM:-1.1}
cd "$(dirname "$0")/.."

version_at() { git show "$1:snowflake.control" 2>/dev/null | sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p"; }

commit="" newer=""
while read -r c; do
  if [[ $(version_at "$c") == "$from" ]]; then
    # c set it (or kept it); the newest commit with it is the parent of the
    # next change, or HEAD when nothing changed it since.
    commit=${newer:+$(git rev-parse "$newer^")}
    commit=${commit:-$(git rev-parse HEAD)}
    break
  fi
  newer=$c
done < <(git log --format=%H -- snowflake.control)
if [[ -z $commit ]]; then
  echo "upgrade-source.sh: no commit has default_version = '$from' in snowflake.control" >&2
  exit 1
fi

mkdir -p "$out"
git archive --format=tar --output="$out/snowflake-$from.tar" "$commit"
echo "$out/snowflake-$from.tar"
