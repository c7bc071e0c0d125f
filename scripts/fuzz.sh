#!/usr/bin/env bash
# make fuzz: builds the libFuzzer target tests/fuzz/id_text_fuzz.cpp (the
# snowflake type's text input and the decoders, with ASan and UBSan) and runs
# it for a bounded time on the corpus kept in tests/fuzz/corpus/id_text/.
#   FUZZ_SECONDS=60 (default) scripts/fuzz.sh
# New inputs that libFuzzer finds go to build/fuzz/new-corpus/, never into the
# repository's corpus; copy interesting ones there by hand. A crash leaves its
# input in build/fuzz/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
out=build/fuzz
mkdir -p "$out/new-corpus"
clang++ -std=c++17 -O1 -g -fno-exceptions -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=all -Wall -Wextra -Werror -Isrc/core \
  tests/fuzz/id_text_fuzz.cpp src/core/id_text.cpp src/core/layout.cpp \
  -o "$out/id_text_fuzz"
# -max_total_time bounds the run; the two corpus directories are read, and
# only the first is written to. The full log is kept; the summary is printed.
set +e
"$out/id_text_fuzz" -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$out/" "$out/new-corpus" tests/fuzz/corpus/id_text >"$out/last-run.log" 2>&1
status=$?
set -e
grep -E '^(INFO: seed corpus|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss)' \
  "$out/last-run.log" || true
if [[ $status -ne 0 ]]; then
  tail -40 "$out/last-run.log" >&2
  echo "fuzz: failure (exit $status); the input is saved under $out/" >&2
  exit "$status"
fi
echo "fuzz: no crash, no wrong value in $seconds s"
