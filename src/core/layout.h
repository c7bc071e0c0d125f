// layout.h: the 64-bit ID layout, its constants, and encode/decode.
//
// Owns: the bit layout of DESIGN.md section 1.
//   bit 63      always 0 (IDs are positive bigints)
//   bits 62-22  milliseconds since 2024-01-01T00:00:00Z (41 bits)
//   bits 21-12  node id (10 bits)
//   bits 11-0   sequence within the millisecond (12 bits)
// Threading: pure functions, no state.
#ifndef SNOWFLAKE_CORE_LAYOUT_H
#define SNOWFLAKE_CORE_LAYOUT_H

#include <cstdint>

#include "status.h"

namespace snowflake {

inline constexpr int kTimestampBits = 41;
inline constexpr int kNodeIdBits = 10;
inline constexpr int kSequenceBits = 12;

inline constexpr int kNodeIdShift = kSequenceBits;
inline constexpr int kTimestampShift = kSequenceBits + kNodeIdBits;

// 2024-01-01T00:00:00Z in milliseconds since the Unix epoch.
inline constexpr int64_t kEpochUnixMs = 1704067200000LL;
// The last millisecond the layout can hold: 2093-09-06T15:47:35.551Z.
inline constexpr int64_t kMaxTimestampMs = (int64_t{1} << kTimestampBits) - 1;
inline constexpr int32_t kMaxNodeId = (1 << kNodeIdBits) - 1;
inline constexpr int32_t kMaxSequence = (1 << kSequenceBits) - 1;
// IDs per millisecond per node.
inline constexpr int32_t kIdsPerMs = kMaxSequence + 1;

struct DecodedId {
  int64_t timestamp_ms;  // milliseconds since kEpochUnixMs
  int32_t node_id;
  int32_t sequence;
};

// Builds an ID without checks; callers guarantee every part is in range.
constexpr int64_t ComposeId(int64_t timestamp_ms, int32_t node_id, int32_t sequence) {
  return (timestamp_ms << kTimestampShift) | (int64_t{node_id} << kNodeIdShift) | sequence;
}

// Builds an ID; kOutOfRange if any part lies outside the layout.
Status EncodeId(int64_t timestamp_ms, int32_t node_id, int32_t sequence, int64_t* id);

// Splits an ID; kOutOfRange for a negative value (bit 63 set).
Status DecodeId(int64_t id, DecodedId* decoded);

// The smallest ID of a millisecond (node 0, sequence 0); kOutOfRange outside
// [0, kMaxTimestampMs].
Status FirstIdOfMillisecond(int64_t timestamp_ms, int64_t* id);

constexpr bool IsValidNodeId(int64_t node_id) { return node_id >= 0 && node_id <= kMaxNodeId; }

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_LAYOUT_H
