// state_file_fuzz.cpp: libFuzzer target for the state-file decoder
// (src/core/state_file.h), the bytes a server trusts at every start.
//
// Properties checked on every input, beyond "no crash, no undefined
// behaviour" (ASan + UBSan):
//   - a decoded file is the size of format 2 or format 1, its fields are in
//     range and its flags known; a format 2 file encodes back to the same
//     bytes (no byte is ignored); a format 1 file has no system identifier
//     and no flags, and its state survives a re-encoding in format 2;
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
    if (size != kStateFileSize && size != kStateFileSizeVersion1) __builtin_trap();
    if (!IsValidNodeId(state.node_id)) __builtin_trap();
    if (state.reserved_until_ms < 0 || state.reserved_until_ms > kMaxTimestampMs) __builtin_trap();
    if ((state.flags & ~kStateKnownFlags) != 0) __builtin_trap();
    uint8_t encoded[kStateFileSize];
    EncodeStateFile(state, encoded);
    if (size == kStateFileSize) {
      if (std::memcmp(encoded, data, kStateFileSize) != 0) __builtin_trap();
    } else {
      if (state.system_identifier != 0 || state.flags != 0) __builtin_trap();
      PersistedState again{};
      if (!DecodeStateFile(encoded, kStateFileSize, &again).ok()) __builtin_trap();
      if (again.node_id != state.node_id || again.reserved_until_ms != state.reserved_until_ms ||
          again.system_identifier != 0 || again.flags != 0) {
        __builtin_trap();
      }
    }
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
