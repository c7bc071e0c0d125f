// layout.cpp: range-checked encode and decode of the ID layout.
#include "layout.h"

namespace snowflake {

Status EncodeId(int64_t timestamp_ms, int32_t node_id, int32_t sequence, int64_t* id) {
  if (timestamp_ms < 0 || timestamp_ms > kMaxTimestampMs || !IsValidNodeId(node_id) ||
      sequence < 0 || sequence > kMaxSequence) {
    return Status::Error(StatusCode::kOutOfRange, "ID part outside the layout");
  }
  *id = ComposeId(timestamp_ms, node_id, sequence);
  return Status::Ok();
}

Status DecodeId(int64_t id, DecodedId* decoded) {
  if (id < 0) return Status::Error(StatusCode::kOutOfRange, "negative ID");
  decoded->timestamp_ms = id >> kTimestampShift;
  decoded->node_id = static_cast<int32_t>((id >> kNodeIdShift) & kMaxNodeId);
  decoded->sequence = static_cast<int32_t>(id & kMaxSequence);
  return Status::Ok();
}

Status FirstIdOfMillisecond(int64_t timestamp_ms, int64_t* id) {
  return EncodeId(timestamp_ms, 0, 0, id);
}

}  // namespace snowflake
