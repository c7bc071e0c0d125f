#!/usr/bin/env bash
# make demo: install what is missing, build, install, then show the extension
# on a throwaway server (unix socket only) and stop it again.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh build
make -s
make -s install
source scripts/pg_user.sh

dir=$(pg_user_dir snowflake-demo)
stop() {
  as_pg_user pg_ctl -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

as_pg_user initdb -D "$dir/data" --auth=trust --no-sync >/dev/null
cat >>"$dir/data/postgresql.conf" <<CONF
shared_preload_libraries = 'snowflake'
snowflake.node_id = 7
listen_addresses = ''
unix_socket_directories = '$dir'
CONF
as_pg_user pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null

psql_demo() { as_pg_user psql -h "$dir" -d postgres -X -v ON_ERROR_STOP=1 "$@"; }
psql_demo -q -c "CREATE EXTENSION snowflake"
echo "== five IDs from node 7"
psql_demo -c "SELECT snowflake_next_id() AS id FROM generate_series(1, 5)"
echo "== one ID, decoded"
psql_demo -c "SELECT id, snowflake_timestamp(id) AS issued_at, snowflake_node_id(id) AS node,
                     snowflake_sequence(id) AS seq
              FROM (SELECT snowflake_next_id() AS id) AS s"
echo "== a table keyed by snowflake IDs"
psql_demo -c "CREATE TABLE orders (id bigint PRIMARY KEY DEFAULT snowflake_next_id(), item text)" \
  -c "INSERT INTO orders (item) VALUES ('tea'), ('scones')" \
  -c "SELECT * FROM orders ORDER BY id"
echo "== snowflake_status()"
psql_demo -x -c "SELECT * FROM snowflake_status()"
echo "demo done: the server is stopped and its directory removed."
