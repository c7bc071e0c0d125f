#!/usr/bin/env bash
# Installs the Debian packages a step needs, if any are missing.
#   scripts/install-deps.sh build|test|clients|bench|versions|deb
#   scripts/install-deps.sh --list GROUP...   prints the packages, installs nothing
# As root it runs apt-get; otherwise it prints the command to run.
#
# SNOWFLAKE_PG_MAJOR (default 15, Debian 12's) names the PostgreSQL major of
# the build and suite groups: make test-all-versions builds each root file
# system from `--list build suite` with the major of that file system.
set -euo pipefail

major=${SNOWFLAKE_PG_MAJOR:-15}

# The etcd client of the core (node-id leases) links libcurl, nlohmann/json and
# OpenSSL's libcrypto, found with pkg-config.
etcd_dev=(pkg-config libcurl4-openssl-dev nlohmann-json3-dev libssl-dev)
build=(make g++ postgresql-"$major" postgresql-server-dev-"$major" "${etcd_dev[@]}")
# What pg_regress and the TAP suite (tests/t/) need besides the server and
# the build: IPC::Run, libfaketime (clock shifts), mount and ps (fault
# tests), etcd and etcdctl (node-id leases), Patroni (failover tests).
# Patroni talks to etcd through python3-etcd, which its package stopped
# pulling in with Debian 13. prometheus-postgres-exporter: scraped with the
# query file of monitoring/ (tests/t/038_postgres_exporter.pl).
suite=(libipc-run-perl libfaketime util-linux mount procps etcd-server etcd-client patroni python3-etcd
  python3-psycopg2 prometheus-postgres-exporter)
# python3-jsonschema validates META.json against the PGXN spec (tests/pgxn/).
# The etcd client's GoogleTest makes certificates with openssl and asks etcd
# for a token with curl.
# ccache: the compiler cache of make test and make check (scripts/ccache.sh).
# prometheus ships promtool, which checks and unit-tests the alert rules of
# monitoring/prometheus/ (make monitoring-check).
# The client examples (examples/, tests/t/037_clients.pl): psycopg 3, and
# psycopg2 under SQLAlchemy 1.4 and Django 3.2 (Debian 12's), libpqxx with
# g++ and pkg-config. node-pg comes from the npm registry (examples/node,
# npm ci); Debian's nodejs and npm only where no node is installed, as a
# node from elsewhere (e.g. NodeSource's, which brings its own npm) would
# conflict with Debian's npm.
clients=(python3-psycopg python3-psycopg2 python3-sqlalchemy python3-django libpqxx-dev g++ pkg-config)
command -v node >/dev/null && command -v npm >/dev/null || clients+=(nodejs npm)
test=("${build[@]}" "${suite[@]}" "${clients[@]}" cmake googletest libgtest-dev clang-format clang-tidy
  python3-jsonschema clang libclang-rt-14-dev openssl curl ccache prometheus)
bench=("${build[@]}" cmake libbenchmark-dev gnuplot-nox etcd-server etcd-client)
# make test-all-versions: mmdebstrap builds the root file systems; unshare
# (util-linux) runs them in their own mount, PID and network namespaces.
versions=(mmdebstrap debian-archive-keyring util-linux)
# make deb and its test build, check and install in root file systems of
# their own (the versions group); the host lists the tree with git and reads
# debian/control.in and the changelog with dpkg-dev's tools.
deb=(dpkg-dev git "${versions[@]}")

group_packages() {
  case "$1" in
    build) echo "${build[@]}" ;;
    suite) echo "${suite[@]}" ;;
    test) echo "${test[@]}" ;;
    clients) echo "${clients[@]}" ;;
    bench) echo "${bench[@]}" ;;
    versions) echo "${versions[@]}" ;;
    deb) echo "${deb[@]}" ;;
    *) echo "usage: $0 [--list] build|suite|test|clients|bench|versions|deb..." >&2; exit 2 ;;
  esac
}

if [[ ${1:-} == --list ]]; then
  shift
  for group in "$@"; do group_packages "$group"; done | tr ' ' '\n' | awk 'NF && !seen[$0]++'
  exit 0
fi

read -r -a wanted <<<"$(group_packages "${1:-build}")"

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "snowflake: installing missing Debian packages: ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Scripts that run side by side may both install: wait for the other's lock.
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
