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

# stage_tree PREFIX: a copy of the checkout (without build/ and .git) in a
# fresh directory that user owns, printed. The checkout may sit where that
# user cannot read or write (e.g. /root), so the SQL and TAP tests run there.
# The copy has no git history, so the release that the in-place upgrade test
# starts from is exported into it, as upgrade-from/ (scripts/upgrade-source.sh).
stage_tree() {
  local dir
  dir=$(pg_user_dir "$1")
  tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$dir"
  # (A failure is left for that test to report, not for the staging to stop on.)
  if git rev-parse --git-dir >/dev/null 2>&1 &&
    ! scripts/upgrade-source.sh "$dir/upgrade-from" >/dev/null 2>"$dir/upgrade-from.err"; then
    mkdir -p "$dir/upgrade-from" && mv "$dir/upgrade-from.err" "$dir/upgrade-from/FAILED"
  fi
  rm -f "$dir/upgrade-from.err"
  [[ $(id -u) -eq 0 ]] && chown -R "$PG_RUN_USER" "$dir"
  echo "$dir"
}

# show_sql_test_failures STAGE: after pg_regress or TAP failed in STAGE,
# prints every regression.diffs and where the servers' logs are.
show_sql_test_failures() {
  local diffs
  for diffs in "$1"/regression.diffs "$1"/output_*/regression.diffs; do
    [[ -f $diffs ]] && { echo "--- $diffs"; cat "$diffs"; }
  done
  echo "test servers' logs are under $1/tmp_check*/ and $1/tmp_check/log/" >&2
}
