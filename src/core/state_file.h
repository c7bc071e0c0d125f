// state_file.h: the on-disk format of the reservation state file.
//
// Owns: PersistedState and its 32-byte encoding. Threading: pure functions.
//
// Layout (little-endian):
//   0  uint32 magic  0x574F4E53 (the bytes "SNOW")
//   4  uint32 format version (1)
//   8  int32  node id that wrote the file
//  12  uint32 zero
//  16  int64  reserved_until, layout milliseconds
//  24  uint32 CRC-32C of bytes 0..23
//  28  uint32 zero
// Anything else (a different size, magic, version, checksum, or a value out
// of range) is kCorrupt: the file is never trusted in part.
#ifndef SNOWFLAKE_CORE_STATE_FILE_H
#define SNOWFLAKE_CORE_STATE_FILE_H

#include <cstddef>
#include <cstdint>

#include "status.h"

namespace snowflake {

inline constexpr uint32_t kStateFileMagic = 0x574F4E53u;
inline constexpr uint32_t kStateFileFormatVersion = 1;
inline constexpr size_t kStateFileSize = 32;

struct PersistedState {
  int32_t node_id;
  int64_t reserved_until_ms;
};

void EncodeStateFile(const PersistedState& state, uint8_t (&out)[kStateFileSize]);

Status DecodeStateFile(const uint8_t* data, size_t length, PersistedState* state);

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_STATE_FILE_H
