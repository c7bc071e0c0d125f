#!/usr/bin/env bash
# make soak DURATION=seconds: the soak test (tests/soak/soak.pl), not part of
# make test. Builds and installs like make test, mounts a tiny tmpfs for the
# state directories (root only; without it the disk-full part is left out),
# and runs the soak as the unprivileged PostgreSQL user. Prints the figures
# and exits non-zero if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${SOAK_DURATION:-600}

scripts/install-deps.sh test
make -s
make -s install

source scripts/pg_user.sh
stage=$(pg_user_dir snowflake-soak)
tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$stage"
[[ $(id -u) -eq 0 ]] && chown -R "$PG_RUN_USER" "$stage"
tmpfs=""
if [[ $(id -u) -eq 0 ]]; then
  tmpfs=$(pg_user_dir snowflake-soak-tmpfs)
  if mount -t tmpfs -o size=512k,mode=0700 snowflake-soak-tmpfs "$tmpfs"; then
    chown "$PG_RUN_USER" "$tmpfs"
    trap 'umount "$tmpfs" || umount -l "$tmpfs"; rmdir "$tmpfs"' EXIT
  else
    rmdir "$tmpfs"
    tmpfs=""
  fi
fi
pgxs=$(dirname "$(dirname "$(dirname "$(pg_config --pgxs)")")")
echo "soak: ${duration} s; logs and client output under $stage/tmp_check/"
cd "$stage"
as_pg_user env SOAK_DURATION="$duration" SNOWFLAKE_TEST_TMPFS="$tmpfs" TESTDIR="$stage" \
  PG_REGRESS="$pgxs/src/test/regress/pg_regress" \
  perl -I "$pgxs/src/test/perl" tests/soak/soak.pl
