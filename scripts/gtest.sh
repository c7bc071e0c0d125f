#!/usr/bin/env bash
# The core's GoogleTest suite (tests/CMakeLists.txt), in one or more variants:
#
#   scripts/gtest.sh [plain] [address] [thread]     (default: all three)
#
#   plain    no sanitizer
#   address  AddressSanitizer + UndefinedBehaviorSanitizer
#   thread   ThreadSanitizer
#
# Each variant is configured and built once, in build/gtest-VARIANT/; the
# variants build side by side (each with -j$(nproc): linking and configuring
# leave cores idle that another variant's compiles fill), then each runs its
# tests with ctest -j$(nproc). The test executables are independent (no
# fixed port, no shared file: etcd members take free ports and temporary
# directories), so ctest may run them at once. The exit status is non-zero
# if any variant failed to build or to pass.
#
# The builds run at a lower priority (nice): make test runs this beside the
# TAP tests, whose servers should get the CPU first. The tests do not: some
# time a real etcd member, which would inherit the low priority and starve.
set -euo pipefail
cd "$(dirname "$0")/.."

variants=("$@")
[[ ${#variants[@]} -gt 0 ]] || variants=(plain address thread)
jobs=$(nproc)
source scripts/ccache.sh

build_variant() {
  local variant=$1 dir=build/gtest-$1 sanitize=""
  [[ $variant != plain ]] && sanitize=$variant
  cmake -S tests -B "$dir" -DSNOWFLAKE_SANITIZE="$sanitize" \
    -DCMAKE_CXX_COMPILER_LAUNCHER="$CCACHE_LAUNCHER" >/dev/null &&
    nice -n 10 cmake --build "$dir" -j "$jobs" >/dev/null
}

mkdir -p build
declare -A pids=()
for variant in "${variants[@]}"; do
  case $variant in
    plain | address | thread) ;;
    *) echo "gtest.sh: unknown variant $variant (plain, address, thread)" >&2; exit 2 ;;
  esac
  build_variant "$variant" >"build/gtest-$variant-build.log" 2>&1 &
  pids[$variant]=$!
done

failed=()
for variant in "${variants[@]}"; do
  if ! wait "${pids[$variant]}"; then
    cat "build/gtest-$variant-build.log"
    echo "--- GoogleTest ($variant): the build FAILED" >&2
    failed+=("$variant")
  fi
done
# One variant after the other: the stress tests start threads of their own,
# and three variants' at once only make each slower.
for variant in "${variants[@]}"; do
  [[ " ${failed[*]} " == *" $variant "* ]] && continue
  echo "--- ctest ($variant)"
  ctest --test-dir "build/gtest-$variant" --output-on-failure -j "$jobs" || failed+=("$variant")
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "GoogleTest FAILED in: ${failed[*]} (build or tests; the output is above)" >&2
  exit 1
fi
echo "GoogleTest: ${variants[*]}: every test passed"
