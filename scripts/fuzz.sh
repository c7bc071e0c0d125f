#!/usr/bin/env bash
# make fuzz: builds and runs every libFuzzer target for a bounded time.
#
#   scripts/fuzz.sh [TARGET...]      (default: every target)
#   FUZZ_SECONDS=30                  time per target (make test uses the default)
#
# Layout (one target per file, each with its corpus; a new target needs no
# change here):
#   tests/fuzz/<name>_fuzz.cpp       defines LLVMFuzzerTestOneInput; linked with
#                                    every src/core/*.cpp (pure C++, no PostgreSQL)
#   tests/fuzz/corpus/<name>/        seed inputs, committed (required)
#   tests/fuzz/<name>.dict           a libFuzzer dictionary (optional)
# Built with Debian's clang: -fsanitize=fuzzer,address,undefined, every UBSan
# finding fatal. The seeds are copied to a scratch corpus, so a run never
# changes the repository; a crash leaves its input in build/fuzz/<name>/ and
# fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
source scripts/ccache.sh
CXX_FUZZ=${CXX_FUZZ:-clang++}
flags=(-std=c++17 -g -O1 -fno-omit-frame-pointer -fno-exceptions
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
  -Wall -Wextra -Werror -Isrc/core)
# The core includes the etcd client: its libraries, as the Makefile finds them.
read -r -a etcd_cflags <<<"$(pkg-config --cflags libcurl nlohmann_json libcrypto)"
read -r -a etcd_libs <<<"$(pkg-config --libs libcurl nlohmann_json libcrypto)"
flags+=("${etcd_cflags[@]}")

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in tests/fuzz/*_fuzz.cpp; do
    b=$(basename "$f")
    targets+=("${b%_fuzz.cpp}")
  done
fi

# The core is compiled once for every target, its files side by side.
core_objs=build/fuzz/core
rm -rf "$core_objs"
mkdir -p "$core_objs"
echo "--- fuzz: building the core (${#targets[@]} targets link it)"
pids=()
for f in src/core/*.cpp; do
  $CCACHE_LAUNCHER "$CXX_FUZZ" "${flags[@]}" -c -o "$core_objs/$(basename "$f" .cpp).o" "$f" &
  pids+=($!)
done
for pid in "${pids[@]}"; do
  wait "$pid" || { echo "fuzz: the core did not compile" >&2; exit 1; }
done

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
failed=0
for name in "${targets[@]}"; do
  src=tests/fuzz/${name}_fuzz.cpp
  seeds=tests/fuzz/corpus/$name
  [[ -f $src ]] || { echo "fuzz: no $src" >&2; exit 2; }
  [[ -d $seeds ]] || { echo "fuzz: no seed corpus $seeds for $src" >&2; exit 2; }
  out=build/fuzz/$name
  rm -rf "$out"
  mkdir -p "$out/corpus"
  cp "$seeds"/* "$out/corpus/"
  echo "--- fuzz $name: build"
  "$CXX_FUZZ" "${flags[@]}" -o "$out/$name" "$src" "$core_objs"/*.o "${etcd_libs[@]}"
  dict=()
  [[ -f tests/fuzz/$name.dict ]] && dict=(-dict="$(pwd)/tests/fuzz/$name.dict")
  echo "--- fuzz $name: ${seconds}s from $(ls "$seeds" | wc -l) seeds"
  if (cd "$out" && "./$name" "${dict[@]}" -max_total_time="$seconds" \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 corpus >"$name.log" 2>&1); then
    grep -E '^(stat::number_of_executed_units|stat::new_units_added)|^Done' "$out/$name.log" || true
    echo "--- fuzz $name: no crash, no undefined behaviour"
  else
    tail -60 "$out/$name.log"
    echo "--- fuzz $name: FAILED; the input is in $out/ (crash-*, leak-*, timeout-*)" >&2
    failed=1
  fi
done
exit $failed
