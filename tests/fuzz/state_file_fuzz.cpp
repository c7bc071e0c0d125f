// state_file_fuzz.cpp: libFuzzer target for the state-file decoder
// (src/core/state_file.h), the bytes a server trusts at every start.
//
// Properties checked on every input, beyond "no crash, no undefined
// behaviour" (ASan + UBSan):
//   - a decoded file is exactly kStateFileSize bytes, its fields are in range,
//     and it encodes back to the same bytes (no byte is ignored);
//   - anything else is kCorrupt with a reason, and the output is untouched
//     (a file is never trusted in part).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "layout.h"
#include "state_file.h"
#include "status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snowflake;
  constexpr PersistedState kUntouched{-7, -7};
  PersistedState state = kUntouched;
  const Status status = DecodeStateFile(data, size, &state);
  if (status.ok()) {
    if (size != kStateFileSize) __builtin_trap();
    if (!IsValidNodeId(state.node_id)) __builtin_trap();
    if (state.reserved_until_ms < 0 || state.reserved_until_ms > kMaxTimestampMs) __builtin_trap();
    uint8_t encoded[kStateFileSize];
    EncodeStateFile(state, encoded);
    if (std::memcmp(encoded, data, kStateFileSize) != 0) __builtin_trap();
  } else {
    if (status.code != StatusCode::kCorrupt) __builtin_trap();
    if (status.what == nullptr || status.what[0] == '\0') __builtin_trap();
    if (state.node_id != kUntouched.node_id ||
        state.reserved_until_ms != kUntouched.reserved_until_ms) {
      __builtin_trap();
    }
  }
  return 0;
}
