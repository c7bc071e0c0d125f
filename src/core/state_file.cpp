// state_file.cpp: encode and validate the reservation state file.
#include "state_file.h"

#include <cstring>

#include "crc32c.h"
#include "layout.h"

namespace snowflake {

namespace {

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t GetU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{p[i]} << (8 * i);
  return v;
}
uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

constexpr size_t kChecksummedBytes = 32;
constexpr size_t kChecksummedBytesVersion1 = 24;

}  // namespace

void EncodeStateFile(const PersistedState& state, uint8_t (&out)[kStateFileSize]) {
  std::memset(out, 0, kStateFileSize);
  PutU32(out + 0, kStateFileMagic);
  PutU32(out + 4, kStateFileFormatVersion);
  PutU32(out + 8, static_cast<uint32_t>(state.node_id));
  PutU32(out + 12, state.flags);
  PutU64(out + 16, static_cast<uint64_t>(state.reserved_until_ms));
  PutU64(out + 24, state.system_identifier);
  PutU32(out + 32, Crc32c(out, kChecksummedBytes));
}

Status DecodeStateFile(const uint8_t* data, size_t length, PersistedState* state) {
  if (length != kStateFileSize && length != kStateFileSizeVersion1) {
    return Status::Error(StatusCode::kCorrupt, "the file does not have the expected size");
  }
  if (GetU32(data + 0) != kStateFileMagic) {
    return Status::Error(StatusCode::kCorrupt, "the file does not start with the snowflake magic");
  }
  const uint32_t version = GetU32(data + 4);
  const bool version1 = length == kStateFileSizeVersion1;
  if (version != (version1 ? kStateFileFormatVersion1 : kStateFileFormatVersion)) {
    return Status::Error(StatusCode::kCorrupt, "the file has an unknown format version");
  }
  const size_t checksummed = version1 ? kChecksummedBytesVersion1 : kChecksummedBytes;
  if (GetU32(data + checksummed) != Crc32c(data, checksummed)) {
    return Status::Error(StatusCode::kCorrupt, "the checksum does not match");
  }
  const int32_t node_id = static_cast<int32_t>(GetU32(data + 8));
  const uint32_t flags = GetU32(data + 12);
  const int64_t reserved = static_cast<int64_t>(GetU64(data + 16));
  const uint64_t system_identifier = version1 ? 0 : GetU64(data + 24);
  if (!IsValidNodeId(node_id) || reserved < 0 || reserved > kMaxTimestampMs ||
      (flags & ~kStateKnownFlags) != 0 || (version1 && flags != 0) ||
      GetU32(data + checksummed + 4) != 0) {
    return Status::Error(StatusCode::kCorrupt, "a field is out of range");
  }
  state->node_id = node_id;
  state->reserved_until_ms = reserved;
  state->system_identifier = system_identifier;
  state->flags = flags;
  return Status::Ok();
}

}  // namespace snowflake
