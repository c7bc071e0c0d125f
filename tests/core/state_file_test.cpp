// state_file_test.cpp: the state file format (version 2, and version 1 read) and its checksum.
#include "state_file.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "printers.h"

#include "crc32c.h"
#include "layout.h"

namespace snowflake {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Encode(const PersistedState& s) {
  uint8_t out[kStateFileSize];
  std::memset(out, 0xAB, sizeof out);  // Encode must write every byte
  EncodeStateFile(s, out);
  return Bytes(out, out + kStateFileSize);
}

uint32_t U32At(const Bytes& b, size_t offset) {
  return uint32_t{b[offset]} | uint32_t{b[offset + 1]} << 8 | uint32_t{b[offset + 2]} << 16 |
         uint32_t{b[offset + 3]} << 24;
}
void PutU32At(Bytes* b, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*b)[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}
uint64_t U64At(const Bytes& b, size_t offset) {
  return uint64_t{U32At(b, offset)} | uint64_t{U32At(b, offset + 4)} << 32;
}
void PutU64At(Bytes* b, size_t offset, uint64_t v) {
  PutU32At(b, offset, static_cast<uint32_t>(v));
  PutU32At(b, offset + 4, static_cast<uint32_t>(v >> 32));
}
// Makes the checksum right again after a field was changed on purpose, so
// that the field check itself is what is tested.
void Reseal(Bytes* b) { PutU32At(b, 32, Crc32c(b->data(), 32)); }

// A version 1 file (snowflake 1.0), built by hand from its documented layout.
Bytes EncodeVersion1(int32_t node_id, int64_t reserved) {
  Bytes b(kStateFileSizeVersion1, 0);
  PutU32At(&b, 0, kStateFileMagic);
  PutU32At(&b, 4, 1);
  PutU32At(&b, 8, static_cast<uint32_t>(node_id));
  PutU64At(&b, 16, static_cast<uint64_t>(reserved));
  PutU32At(&b, 24, Crc32c(b.data(), 24));
  return b;
}

Status Decode(const Bytes& b, PersistedState* out) {
  return DecodeStateFile(b.data(), b.size(), out);
}

void ExpectCorrupt(const Bytes& b, const char* why) {
  SCOPED_TRACE(why);
  PersistedState out{-5, -5};
  const Status s = Decode(b, &out);
  EXPECT_EQ(s.code, StatusCode::kCorrupt);
  EXPECT_NE(std::strlen(s.what), 0u) << "a corrupt file must say why";
  EXPECT_EQ(out.node_id, -5) << "nothing is taken from a corrupt file";
  EXPECT_EQ(out.reserved_until_ms, -5);
}

const PersistedState kValidStates[] = {
    {0, 0},
    {0, kMaxTimestampMs},
    {kMaxNodeId, 0},
    {kMaxNodeId, kMaxTimestampMs},
    {1, 1},
    {617, 31'536'000'000, 7'300'000'000'000'000'001ULL, kStateReplayed},
    {512, 0x0123456789ALL, UINT64_MAX, kStateReplayed | kStatePromotionPending},
    {3, 77, 1, kStatePromotionPending},
};

TEST(Crc32cTest, KnownVectors) {
  const char* check = "123456789";
  EXPECT_EQ(Crc32c(reinterpret_cast<const uint8_t*>(check), 9), 0xE3069283u);
  EXPECT_EQ(Crc32c(nullptr, 0), 0u);
  // RFC 3720 (iSCSI) appendix B.4.
  uint8_t buf[32];
  std::memset(buf, 0, sizeof buf);
  EXPECT_EQ(Crc32c(buf, sizeof buf), 0x8A9136AAu);
  std::memset(buf, 0xFF, sizeof buf);
  EXPECT_EQ(Crc32c(buf, sizeof buf), 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32c(buf, sizeof buf), 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Crc32c(buf, sizeof buf), 0x113FDB5Cu);
}

TEST(StateFileTest, RoundTrip) {
  for (const PersistedState& s : kValidStates) {
    SCOPED_TRACE(::testing::Message() << s.node_id << "/" << s.reserved_until_ms);
    const Bytes b = Encode(s);
    PersistedState out{-1, -1};
    ASSERT_TRUE(Decode(b, &out).ok());
    EXPECT_EQ(out.node_id, s.node_id);
    EXPECT_EQ(out.reserved_until_ms, s.reserved_until_ms);
    EXPECT_EQ(out.system_identifier, s.system_identifier);
    EXPECT_EQ(out.flags, s.flags);
    EXPECT_EQ(Encode(s), b) << "encoding is deterministic";
  }
}

TEST(StateFileTest, EncodingFollowsTheDocumentedLayout) {
  const PersistedState s{617, 0x0123456789ALL, 0x1122334455667788ULL, kStatePromotionPending};
  const Bytes b = Encode(s);
  ASSERT_EQ(b.size(), 40u);
  EXPECT_EQ(kStateFileSize, 40u);
  EXPECT_EQ(std::memcmp(b.data(), "SNOW", 4), 0) << "the file starts with the bytes SNOW";
  EXPECT_EQ(U32At(b, 0), kStateFileMagic);
  EXPECT_EQ(U32At(b, 4), 2u);
  EXPECT_EQ(U32At(b, 8), 617u);
  EXPECT_EQ(U32At(b, 12), 2u);
  EXPECT_EQ(U64At(b, 16), 0x0123456789AULL);
  EXPECT_EQ(U64At(b, 24), 0x1122334455667788ULL);
  EXPECT_EQ(U32At(b, 32), Crc32c(b.data(), 32));
  EXPECT_EQ(U32At(b, 36), 0u);
}

TEST(StateFileTest, Version1IsStillRead) {
  PersistedState out{-5, -5, 99, 99};
  ASSERT_TRUE(Decode(EncodeVersion1(617, 31'536'000'000), &out).ok());
  EXPECT_EQ(out.node_id, 617);
  EXPECT_EQ(out.reserved_until_ms, 31'536'000'000);
  EXPECT_EQ(out.system_identifier, 0u) << "version 1 has no system identifier";
  EXPECT_EQ(out.flags, 0u);

  Bytes b = EncodeVersion1(617, 1000);
  PutU32At(&b, 12, kStateReplayed);  // version 1 has no flags
  PutU32At(&b, 24, Crc32c(b.data(), 24));
  ExpectCorrupt(b, "version 1 with flags");
  b = EncodeVersion1(617, 1000);
  PutU32At(&b, 4, 2);  // a version 2 header on a 32-byte file
  PutU32At(&b, 24, Crc32c(b.data(), 24));
  ExpectCorrupt(b, "version 2 in 32 bytes");
  b = EncodeVersion1(617, 1000);
  b[20] ^= 1;
  ExpectCorrupt(b, "version 1 checksum");
}

TEST(StateFileTest, WrongSizeIsCorrupt) {
  Bytes valid = Encode(kValidStates[5]);
  ExpectCorrupt(Bytes(), "empty");
  for (size_t n : {size_t{1}, size_t{24}, size_t{32}, size_t{39}}) {
    ExpectCorrupt(Bytes(valid.begin(), valid.begin() + static_cast<long>(n)), "short");
  }
  for (size_t extra : {size_t{1}, size_t{32}, size_t{4096}}) {
    Bytes longer = valid;
    longer.resize(valid.size() + extra, 0);
    ExpectCorrupt(longer, "long, zero padded");
  }
  Bytes twice = valid;
  twice.insert(twice.end(), valid.begin(), valid.end());
  ExpectCorrupt(twice, "two copies");
}

TEST(StateFileTest, BadMagicIsCorrupt) {
  for (uint32_t magic : {0u, 0xFFFFFFFFu, 0x534E4F57u /* byte-swapped */, kStateFileMagic ^ 1u}) {
    Bytes b = Encode(kValidStates[5]);
    PutU32At(&b, 0, magic);
    Reseal(&b);
    ExpectCorrupt(b, "magic");
  }
}

TEST(StateFileTest, WrongVersionIsCorrupt) {
  for (uint32_t version : {0u, 1u, 3u, 0x02000000u, 0xFFFFFFFFu}) {
    Bytes b = Encode(kValidStates[5]);
    PutU32At(&b, 4, version);
    Reseal(&b);
    ExpectCorrupt(b, "version");
  }
}

TEST(StateFileTest, BadChecksumIsCorrupt) {
  Bytes b = Encode(kValidStates[5]);
  PutU32At(&b, 32, U32At(b, 32) + 1);
  ExpectCorrupt(b, "checksum");
  PutU32At(&b, 32, 0);
  ExpectCorrupt(b, "zero checksum");
}

TEST(StateFileTest, EveryFlippedBitIsCorrupt) {
  for (const PersistedState& s : kValidStates) {
    const Bytes valid = Encode(s);
    for (size_t byte = 0; byte < kStateFileSize; ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        Bytes b = valid;
        b[byte] ^= static_cast<uint8_t>(1u << bit);
        PersistedState out{-5, -5};
        const Status st = Decode(b, &out);
        ASSERT_EQ(st.code, StatusCode::kCorrupt)
            << "state " << s.node_id << "/" << s.reserved_until_ms << " byte " << byte << " bit "
            << bit << " decoded as " << out.node_id << "/" << out.reserved_until_ms;
        ASSERT_EQ(out.node_id, -5);
      }
    }
  }
}

TEST(StateFileTest, AllZeroAndAllOnesAreCorrupt) {
  ExpectCorrupt(Bytes(kStateFileSize, 0), "zeros");
  ExpectCorrupt(Bytes(kStateFileSize, 0xFF), "ones");
}

TEST(StateFileTest, OutOfRangeNodeIsCorrupt) {
  for (int32_t node : {-1, kMaxNodeId + 1, 4096, INT32_MAX, INT32_MIN}) {
    SCOPED_TRACE(node);
    // Through the encoder (which does not check), and by hand.
    ExpectCorrupt(Encode(PersistedState{node, 1000}), "encoded");
    Bytes b = Encode(kValidStates[5]);
    PutU32At(&b, 8, static_cast<uint32_t>(node));
    Reseal(&b);
    ExpectCorrupt(b, "patched");
  }
}

TEST(StateFileTest, OutOfRangeReservedIsCorrupt) {
  for (int64_t reserved : {int64_t{-1}, kMaxTimestampMs + 1, INT64_MAX, INT64_MIN}) {
    SCOPED_TRACE(reserved);
    ExpectCorrupt(Encode(PersistedState{3, reserved}), "encoded");
    Bytes b = Encode(kValidStates[5]);
    PutU64At(&b, 16, static_cast<uint64_t>(reserved));
    Reseal(&b);
    ExpectCorrupt(b, "patched");
  }
}

TEST(StateFileTest, NonZeroReservedWordsAreCorrupt) {
  for (uint32_t v : {4u, 0x80000000u, 0xFFFFFFFFu}) {
    Bytes b = Encode(kValidStates[5]);
    PutU32At(&b, 12, v);
    Reseal(&b);
    ExpectCorrupt(b, "unknown flags in bytes 12..15");
    b = Encode(kValidStates[5]);
    PutU32At(&b, 36, v);  // outside the checksum
    ExpectCorrupt(b, "bytes 36..39");
  }
}

}  // namespace
}  // namespace snowflake
