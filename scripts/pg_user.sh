# Sourced by the scripts: PostgreSQL refuses to run as root, so servers and
# the tests that start them run as an unprivileged user.
#   as_pg_user CMD...   runs CMD as that user (as ourselves when not root)
#   pg_user_dir PREFIX  makes a fresh directory that user owns, prints it
PG_BINDIR=$(pg_config --bindir)
export PATH="$PG_BINDIR:$PATH"

if [[ $(id -u) -eq 0 ]]; then
  PG_RUN_USER=${SNOWFLAKE_TEST_USER:-postgres}
  id "$PG_RUN_USER" >/dev/null 2>&1 || useradd --system --create-home "$PG_RUN_USER"
  as_pg_user() { runuser -u "$PG_RUN_USER" -- env PATH="$PATH" "$@"; }
else
  PG_RUN_USER=$(id -un)
  as_pg_user() { "$@"; }
fi

pg_user_dir() {
  local dir
  dir=$(mktemp -d "/tmp/$1.XXXXXX")
  chmod 755 "$dir"
  [[ $(id -u) -eq 0 ]] && chown "$PG_RUN_USER" "$dir"
  echo "$dir"
}
