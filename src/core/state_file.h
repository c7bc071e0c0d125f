// state_file.h: the on-disk format of the reservation state file.
//
// Owns: PersistedState and its encoding. Threading: pure functions.
//
// Format version 2, 40 bytes (little-endian), the one written:
//   0  uint32 magic  0x574F4E53 (the bytes "SNOW")
//   4  uint32 format version (2)
//   8  int32  node id of the IDs this floor covers
//  12  uint32 flags (kStateReplayed, kStatePromotionPending)
//  16  int64  reserved_until, layout milliseconds
//  24  uint64 system identifier of the cluster that wrote it (0: unknown)
//  32  uint32 CRC-32C of bytes 0..31
//  36  uint32 zero
// Format version 1, 32 bytes (snowflake 1.0), is still read: bytes 0..23 as
// above with version 1 and zero flags, then the CRC-32C of bytes 0..23 at 24
// and zero at 28; it has no system identifier (0).
// Anything else (a different size, magic, version, checksum, an unknown
// flag, or a value out of range) is kCorrupt: never trusted in part.
#ifndef SNOWFLAKE_CORE_STATE_FILE_H
#define SNOWFLAKE_CORE_STATE_FILE_H

#include <cstddef>
#include <cstdint>

#include "status.h"

namespace snowflake {

inline constexpr uint32_t kStateFileMagic = 0x574F4E53u;
inline constexpr uint32_t kStateFileFormatVersion = 2;
inline constexpr size_t kStateFileSize = 40;
inline constexpr uint32_t kStateFileFormatVersion1 = 1;
inline constexpr size_t kStateFileSizeVersion1 = 32;

// The floor was written by WAL replay: it came from the server this one
// replicates (whose node id is node_id), not from this server's own IDs.
inline constexpr uint32_t kStateReplayed = 1u << 0;
// The server was in archive recovery (a standby, or a point-in-time
// restore) and has not yet reserved past the promotion margin: at its next
// start it still adds the margin (snowflake.promotion_margin).
inline constexpr uint32_t kStatePromotionPending = 1u << 1;
inline constexpr uint32_t kStateKnownFlags = kStateReplayed | kStatePromotionPending;

struct PersistedState {
  int32_t node_id;
  int64_t reserved_until_ms;
  uint64_t system_identifier = 0;
  uint32_t flags = 0;
};

// Always writes the current format (version 2).
void EncodeStateFile(const PersistedState& state, uint8_t (&out)[kStateFileSize]);

Status DecodeStateFile(const uint8_t* data, size_t length, PersistedState* state);

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_STATE_FILE_H
