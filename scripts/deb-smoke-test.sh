#!/usr/bin/env bash
# Runs inside a clean Debian root file system with postgresql-<major> and
# nothing else of ours (make deb-test, via scripts/deb.sh): installs the
# package as a user would, adds the two lines to postgresql.conf, restarts,
# and checks that the extension works and keeps its promise across a
# restart; then removes the package and checks that it is gone.
#   deb-smoke-test.sh PATH/postgresql-<major>-snowflake_VERSION_ARCH.deb EXTVERSION
set -euo pipefail
deb=$1 extversion=$2
major=$(basename "$deb" | sed -n 's/^postgresql-\([0-9]*\)-snowflake_.*/\1/p')
[[ -n $major ]] || { echo "not a postgresql-<major>-snowflake package: $deb" >&2; exit 2; }
cluster=main
conf=/etc/postgresql/$major/$cluster/postgresql.conf
passed=0 failed=0
check() { # check WHAT EXPECTED ACTUAL
  if [[ $2 == "$3" ]]; then
    echo "ok      $1"; passed=$((passed + 1))
  else
    echo "FAILED  $1: expected '$2', got '$3'"; failed=$((failed + 1))
  fi
}
sql() { runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d postgres -c "$1"; }

# A user's server, not a build machine: no compiler, none of the build's headers.
check "clean system: no compiler, no libcurl or OpenSSL headers" "none" \
  "$(found=(); for f in /usr/bin/cc /usr/bin/g++ /usr/include/curl /usr/include/*/curl /usr/include/openssl; do
      [[ -e $f ]] && found+=("$f"); done; echo "${found[*]:-none}")"

export DEBIAN_FRONTEND=noninteractive
# apt checks the package's Depends against what is installed; there is no
# network in here, so a dependency that is not already satisfied fails.
cp "$deb" /tmp/
apt-get install -y "/tmp/$(basename "$deb")" >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
check "package installed" "install ok installed" \
  "$(dpkg-query -W -f='${Status}' postgresql-"$major"-snowflake)"
check "snowflake.so in the server's library directory" yes \
  "$([[ -f /usr/lib/postgresql/$major/lib/snowflake.so ]] && echo yes || echo no)"

# postgresql-<major> made the cluster main when it was installed; the README's two lines:
pg_lsclusters "$major" "$cluster" >/dev/null || pg_createcluster "$major" "$cluster" >/dev/null
cat >>"$conf" <<'CONF'
shared_preload_libraries = 'snowflake'
snowflake.node_id = 7
CONF
pg_ctlcluster "$major" "$cluster" restart 2>/dev/null || pg_ctlcluster "$major" "$cluster" start

sql "CREATE EXTENSION snowflake"
check "extension version" "$extversion" "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'snowflake'")"
# The postmaster starts the worker once the server accepts connections. It
# has no database connection, so it is not in pg_stat_activity: look for its
# process title.
writers=0
for _ in $(seq 50); do
  writers=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n' | grep -c '^postgres: .*snowflake reservation writer' || true)
  [[ $writers == 1 ]] && break
  sleep 0.2
done
check "the reservation writer runs" 1 "$writers"
check "1000 IDs, all distinct, all from node 7" "1000|1000|7" \
  "$(sql "SELECT count(*), count(DISTINCT id), min(snowflake_node_id(id)) FROM
            (SELECT snowflake_next_id() AS id FROM generate_series(1, 1000)) AS s")"
check "the server is PostgreSQL $major" "$major" "$(sql "SELECT current_setting('server_version_num')::int / 10000")"
id=$(sql "SELECT snowflake_next_id()")
check "an ID decodes to now, node 7, a sequence in 0..4095" "t|7|t" \
  "$(sql "SELECT abs(extract(epoch FROM snowflake_timestamp($id) - now())) < 60,
                 snowflake_node_id($id), snowflake_sequence($id) BETWEEN 0 AND 4095")"
check "status ready" ready "$(sql "SELECT state FROM snowflake_status()")"
before=$(sql "SELECT snowflake_next_id()")
check "state file written" yes \
  "$([[ -f /var/lib/postgresql/$major/$cluster/pg_snowflake/state ]] && echo yes || echo no)"

pg_ctlcluster "$major" "$cluster" restart
after=$(sql "SELECT snowflake_next_id()")
check "after a restart the next ID is greater" t "$(sql "SELECT $after > $before")"
pg_ctlcluster "$major" "$cluster" stop

apt-get purge -y "postgresql-$major-snowflake" >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }
check "purged: snowflake.so is gone" no \
  "$([[ -e /usr/lib/postgresql/$major/lib/snowflake.so ]] && echo yes || echo no)"
check "purged: snowflake.control is gone" no \
  "$([[ -e /usr/share/postgresql/$major/extension/snowflake.control ]] && echo yes || echo no)"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
