#!/usr/bin/env bash
# make examples: the client examples in examples/ (node-pg, psycopg 3,
# SQLAlchemy, Django, libpqxx) against one throwaway preloaded server, which
# tests/t/037_clients.pl starts, as the unprivileged user, and stops. Fails
# if a client is missing or an ID changed on its way through one.
#
#   scripts/examples.sh            installs what is missing, builds, installs,
#                                  runs the examples
#   scripts/examples.sh prepare    only node-pg: npm ci into
#                                  examples/node/node_modules, from the lock
#                                  file (make test runs this before it
#                                  stages the tree, so the staged copy has it)
#
# npm's cache is build/npm-cache: a second run installs nothing, and after
# package-lock.json changed (or node_modules went) it asks the registry only
# for what the cache lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

prepare_node() {
  local dir=examples/node
  if ! command -v npm >/dev/null; then
    echo "examples: no npm (scripts/install-deps.sh clients)" >&2
    return 1
  fi
  # npm ci leaves node_modules/.package-lock.json: newer than the lock file
  # means node_modules is what the lock file names.
  if [[ $dir/node_modules/.package-lock.json -nt $dir/package-lock.json ]]; then
    return 0
  fi
  mkdir -p build/npm-cache
  # From the cache alone if it has every package; from the registry otherwise.
  local npm_ci=(env npm_config_cache="$repo/build/npm-cache" npm ci --no-audit --no-fund --prefix "$dir")
  "${npm_ci[@]}" --offline >/dev/null 2>&1 || "${npm_ci[@]}" --prefer-offline >/dev/null
}

if [[ ${1:-} == prepare ]]; then
  prepare_node
  exit
fi

scripts/install-deps.sh clients
scripts/install-deps.sh build
prepare_node
make -s
make -s install
source scripts/pg_user.sh
stage=$(stage_tree snowflake-examples)
rc=0
as_pg_user env SNOWFLAKE_CLIENTS_REQUIRED=1 make -C "$stage" -s installcheck-tap \
  PROVE_TESTS=tests/t/037_clients.pl PROVE_FLAGS="--verbose" || rc=$?
if [[ $rc -eq 0 ]]; then
  rm -rf "$stage"
else
  echo "examples FAILED; the server's log is under $stage/tmp_check/log/" >&2
fi
exit $rc
