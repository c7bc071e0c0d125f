// layout_test.cpp: the 64-bit ID layout of DESIGN.md section 1.
#include "layout.h"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "printers.h"

namespace snowflake {
namespace {

// Unix milliseconds of a UTC calendar time, computed independently of the
// layout constants.
int64_t UnixMs(int year, int month, int day, int hour, int minute, int second, int millis) {
  struct tm t = {};
  t.tm_year = year - 1900;
  t.tm_mon = month - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = minute;
  t.tm_sec = second;
  return int64_t{timegm(&t)} * 1000 + millis;
}

const int64_t kEdgeTimestamps[] = {0, 1, kMaxTimestampMs - 1, kMaxTimestampMs};
const int32_t kEdgeNodes[] = {0, 1, 512, kMaxNodeId - 1, kMaxNodeId};
const int32_t kEdgeSequences[] = {0, 1, 2048, kMaxSequence - 1, kMaxSequence};

TEST(LayoutTest, ConstantsMatchTheSpec) {
  EXPECT_EQ(kTimestampBits + kNodeIdBits + kSequenceBits, 63);
  EXPECT_EQ(kMaxTimestampMs, (int64_t{1} << 41) - 1);
  EXPECT_EQ(kMaxNodeId, 1023);
  EXPECT_EQ(kMaxSequence, 4095);
  EXPECT_EQ(kIdsPerMs, 4096);
  EXPECT_EQ(kNodeIdShift, 12);
  EXPECT_EQ(kTimestampShift, 22);
}

TEST(LayoutTest, EpochIs2024InUnixMs) {
  EXPECT_EQ(kEpochUnixMs, 1704067200000LL);
  EXPECT_EQ(kEpochUnixMs, UnixMs(2024, 1, 1, 0, 0, 0, 0));
}

TEST(LayoutTest, LastMillisecondIs2093_09_06T15_47_35_551Z) {
  const int64_t last_unix_ms = UnixMs(2093, 9, 6, 15, 47, 35, 551);
  EXPECT_EQ(kEpochUnixMs + kMaxTimestampMs, last_unix_ms);
  // (2^41 - 1) + 1704067200000, written out.
  EXPECT_EQ(kEpochUnixMs + kMaxTimestampMs, 3903090455551LL);
}

TEST(LayoutTest, RoundTripAtEveryEdge) {
  for (int64_t ms : kEdgeTimestamps) {
    for (int32_t node : kEdgeNodes) {
      for (int32_t seq : kEdgeSequences) {
        SCOPED_TRACE(::testing::Message() << "ms=" << ms << " node=" << node << " seq=" << seq);
        int64_t id = -1;
        ASSERT_TRUE(EncodeId(ms, node, seq, &id).ok());
        EXPECT_GE(id, 0);
        EXPECT_EQ(id, ComposeId(ms, node, seq));
        // The bit positions, independently of the shift constants.
        EXPECT_EQ(static_cast<uint64_t>(id) >> 63, 0u);
        EXPECT_EQ((static_cast<uint64_t>(id) >> 22) & ((uint64_t{1} << 41) - 1),
                  static_cast<uint64_t>(ms));
        EXPECT_EQ((static_cast<uint64_t>(id) >> 12) & 0x3FFu, static_cast<uint64_t>(node));
        EXPECT_EQ(static_cast<uint64_t>(id) & 0xFFFu, static_cast<uint64_t>(seq));
        DecodedId decoded{-1, -1, -1};
        ASSERT_TRUE(DecodeId(id, &decoded).ok());
        EXPECT_EQ(decoded.timestamp_ms, ms);
        EXPECT_EQ(decoded.node_id, node);
        EXPECT_EQ(decoded.sequence, seq);
      }
    }
  }
}

TEST(LayoutTest, ExtremeIdsAreTheExpectedValues) {
  int64_t id = -1;
  ASSERT_TRUE(EncodeId(0, 0, 0, &id).ok());
  EXPECT_EQ(id, 0);
  ASSERT_TRUE(EncodeId(kMaxTimestampMs, kMaxNodeId, kMaxSequence, &id).ok());
  EXPECT_EQ(id, INT64_MAX);
  ASSERT_TRUE(EncodeId(1, 0, 0, &id).ok());
  EXPECT_EQ(id, int64_t{1} << 22);
  ASSERT_TRUE(EncodeId(0, 1, 0, &id).ok());
  EXPECT_EQ(id, int64_t{1} << 12);
  ASSERT_TRUE(EncodeId(0, 0, 1, &id).ok());
  EXPECT_EQ(id, 1);
}

TEST(LayoutTest, DecodeEveryNonNegativeIdPattern) {
  // Any non-negative int64 decodes, and re-encoding the parts gives it back.
  const int64_t ids[] = {0,
                         1,
                         4095,
                         4096,
                         (int64_t{1} << 22) - 1,
                         int64_t{1} << 22,
                         INT64_MAX,
                         INT64_MAX - 1,
                         0x123456789ABCDEFLL};
  for (int64_t id : ids) {
    SCOPED_TRACE(id);
    DecodedId d{};
    ASSERT_TRUE(DecodeId(id, &d).ok());
    EXPECT_GE(d.timestamp_ms, 0);
    EXPECT_LE(d.timestamp_ms, kMaxTimestampMs);
    EXPECT_TRUE(IsValidNodeId(d.node_id));
    EXPECT_GE(d.sequence, 0);
    EXPECT_LE(d.sequence, kMaxSequence);
    int64_t again = -1;
    ASSERT_TRUE(EncodeId(d.timestamp_ms, d.node_id, d.sequence, &again).ok());
    EXPECT_EQ(again, id);
  }
}

TEST(LayoutTest, OutOfRangePartsAreRejected) {
  struct Case {
    int64_t ms;
    int32_t node;
    int32_t seq;
  };
  const Case cases[] = {
      {-1, 0, 0},
      {INT64_MIN, 0, 0},
      {kMaxTimestampMs + 1, 0, 0},
      {INT64_MAX, 0, 0},
      {0, -1, 0},
      {0, kMaxNodeId + 1, 0},
      {0, INT32_MIN, 0},
      {0, INT32_MAX, 0},
      {0, 0, -1},
      {0, 0, kMaxSequence + 1},
      {0, 0, INT32_MIN},
      {0, 0, INT32_MAX},
      {kMaxTimestampMs + 1, kMaxNodeId + 1, kMaxSequence + 1},
      {kMaxTimestampMs, kMaxNodeId, kMaxSequence + 1},
      {kMaxTimestampMs, kMaxNodeId + 1, kMaxSequence},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "ms=" << c.ms << " node=" << c.node << " seq=" << c.seq);
    const int64_t sentinel = 0x5EED;
    int64_t id = sentinel;
    const Status s = EncodeId(c.ms, c.node, c.seq, &id);
    EXPECT_EQ(s.code, StatusCode::kOutOfRange);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(id, sentinel) << "the output must not be written on error";
  }
}

TEST(LayoutTest, DecodeOfNegativeIsOutOfRange) {
  const int64_t ids[] = {-1, INT64_MIN, INT64_MIN + 1, -(int64_t{1} << 22)};
  for (int64_t id : ids) {
    SCOPED_TRACE(id);
    DecodedId d{7, 7, 7};
    const Status s = DecodeId(id, &d);
    EXPECT_EQ(s.code, StatusCode::kOutOfRange);
    EXPECT_EQ(d.timestamp_ms, 7);
    EXPECT_EQ(d.node_id, 7);
    EXPECT_EQ(d.sequence, 7);
  }
}

TEST(LayoutTest, FirstIdOfMillisecond) {
  for (int64_t ms : kEdgeTimestamps) {
    SCOPED_TRACE(ms);
    int64_t first = -1;
    ASSERT_TRUE(FirstIdOfMillisecond(ms, &first).ok());
    DecodedId d{};
    ASSERT_TRUE(DecodeId(first, &d).ok());
    EXPECT_EQ(d.timestamp_ms, ms);
    EXPECT_EQ(d.node_id, 0);
    EXPECT_EQ(d.sequence, 0);
    // It is the smallest ID of its millisecond and greater than every ID of
    // the millisecond before.
    for (int32_t node : kEdgeNodes) {
      for (int32_t seq : kEdgeSequences) {
        int64_t id = -1;
        ASSERT_TRUE(EncodeId(ms, node, seq, &id).ok());
        EXPECT_LE(first, id);
        if (ms > 0) {
          ASSERT_TRUE(EncodeId(ms - 1, node, seq, &id).ok());
          EXPECT_LT(id, first);
        }
      }
    }
  }
  int64_t id = 42;
  EXPECT_EQ(FirstIdOfMillisecond(-1, &id).code, StatusCode::kOutOfRange);
  EXPECT_EQ(FirstIdOfMillisecond(kMaxTimestampMs + 1, &id).code, StatusCode::kOutOfRange);
  EXPECT_EQ(id, 42);
}

TEST(LayoutTest, NumericOrderIsTimeThenNodeThenSequence) {
  std::vector<std::tuple<int64_t, int32_t, int32_t>> parts;
  for (int64_t ms : kEdgeTimestamps)
    for (int32_t node : kEdgeNodes)
      for (int32_t seq : kEdgeSequences) parts.emplace_back(ms, node, seq);
  // Extra interior points, so neighbours differ in one field only.
  for (int64_t ms : {int64_t{1000}, int64_t{1001}})
    for (int32_t node : {0, 1, 2})
      for (int32_t seq : {0, 1, kMaxSequence}) parts.emplace_back(ms, node, seq);

  for (size_t i = 0; i < parts.size(); ++i) {
    for (size_t j = 0; j < parts.size(); ++j) {
      int64_t a = -1, b = -1;
      ASSERT_TRUE(
          EncodeId(std::get<0>(parts[i]), std::get<1>(parts[i]), std::get<2>(parts[i]), &a).ok());
      ASSERT_TRUE(
          EncodeId(std::get<0>(parts[j]), std::get<1>(parts[j]), std::get<2>(parts[j]), &b).ok());
      ASSERT_EQ(a < b, parts[i] < parts[j]) << "i=" << i << " j=" << j;
      ASSERT_EQ(a == b, parts[i] == parts[j]) << "i=" << i << " j=" << j;
    }
  }
}

TEST(LayoutTest, IsValidNodeId) {
  EXPECT_TRUE(IsValidNodeId(0));
  EXPECT_TRUE(IsValidNodeId(1023));
  EXPECT_FALSE(IsValidNodeId(-1));
  EXPECT_FALSE(IsValidNodeId(1024));
  EXPECT_FALSE(IsValidNodeId(INT64_MIN));
  EXPECT_FALSE(IsValidNodeId(INT64_MAX));
  EXPECT_FALSE(IsValidNodeId(int64_t{1} << 32));  // would be 0 if truncated to int32
}

}  // namespace
}  // namespace snowflake
