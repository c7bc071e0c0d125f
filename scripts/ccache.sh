# Sourced by the scripts that compile (make test, make check, make fuzz, the
# GoogleTest variants, the benchmark's core build): ccache, a compiler cache
# shared by every clone on this machine, kept beside the root file systems of
# make test-all-versions (/var/cache/snowflake). A run compiles only the files
# that changed since any clone's last run; an object taken from the cache is
# the one the same compiler made from the same preprocessed source and flags,
# warnings (and -Werror) included, so nothing is tested less. Most of make
# test's computing was compiling: the GoogleTest suite three times, the fuzz
# targets, clang-tidy aside.
#
#   SNOWFLAKE_CCACHE=0         compile everything (the time from nothing)
#   SNOWFLAKE_CCACHE_DIR=DIR   another cache (default below)
#
# Sets CCACHE_LAUNCHER to "ccache" (or to nothing when it is off or missing),
# for CMake's CMAKE_CXX_COMPILER_LAUNCHER, the Makefile's CCACHE and the fuzz
# build.
CCACHE_LAUNCHER=""
if [[ ${SNOWFLAKE_CCACHE:-1} != 0 ]] && command -v ccache >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]]; then
    export CCACHE_DIR=${SNOWFLAKE_CCACHE_DIR:-/var/cache/snowflake/ccache}
  else
    export CCACHE_DIR=${SNOWFLAKE_CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/snowflake/ccache}
  fi
  # Paths under the clone are hashed relative to it, and the working directory
  # is left out of the hash (-g would put it in), so a fresh clone elsewhere
  # finds the objects of the last one.
  export CCACHE_BASEDIR
  CCACHE_BASEDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  export CCACHE_NOHASHDIR=1
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-2G}
  mkdir -p "$CCACHE_DIR"
  CCACHE_LAUNCHER=ccache
fi
